"""OpenMetrics text for GitLab's ``metrics`` report (shown as changes in the merge request).

One gauge per metric mean, ``ragwacht_<metric>{suite="...",variant="..."} 0.9123``, rounded to
4 decimals; measures also get their p50/p95. Not-scored metrics are left out, never written as
0. The text ends with ``# EOF`` as OpenMetrics requires.
"""

from __future__ import annotations

import re

from ragwacht.records import RunRecord

_BAD_NAME = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(metric: str, suffix: str = "") -> str:
    """``ragwacht_<metric>[_suffix]`` with characters OpenMetrics does not allow replaced.

    ``recall@5`` becomes ``ragwacht_recall_at_5``; ``ragas:faithfulness`` becomes
    ``ragwacht_ragas_faithfulness``.
    """
    base = metric.replace("@", "_at_")
    base = _BAD_NAME.sub("_", base).strip("_") or "metric"
    name = f"ragwacht_{base}"
    return f"{name}_{suffix}" if suffix else name


def _label_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", " ")


def _num(v: float) -> str:
    r = round(float(v), 4)
    return str(int(r)) if r == int(r) and abs(r) < 1e15 else repr(r)


def render_openmetrics(record: RunRecord, *, extra_labels: dict[str, str] | None = None) -> str:
    """The run's metrics as OpenMetrics text (GitLab ``metrics`` report format).

    Args:
        record: the run.
        extra_labels: labels added to every sample (e.g. ``{"branch": "main"}``).

    Returns:
        Text ending with ``# EOF`` and a newline.

    """
    labels = {"suite": record.suite, "variant": record.variant, **(extra_labels or {})}
    lab = "{" + ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items()) + "}"
    families: dict[str, tuple[str, float]] = {}

    def add(name: str, help_text: str, value: float | None) -> None:
        if value is None or name in families:
            return
        families[name] = (help_text, value)

    for key, s in record.summary.items():
        unit = f" ({s.unit})" if s.unit else ""
        direction = "higher is better" if s.higher_is_better else "lower is better"
        add(
            metric_name(key),
            f"{key} mean over {s.scored}/{s.total} scored cases{unit}, {direction}",
            s.mean,
        )
        if s.kind == "measure":
            add(metric_name(key, "p50"), f"{key} median{unit}", s.p50)
            add(metric_name(key, "p95"), f"{key} 95th percentile{unit}", s.p95)
    n = len(record.cases)
    add("ragwacht_cases", "golden cases in the run", float(n))
    if n:
        failed = sum(
            1
            for c in record.cases
            if c.response.error is not None or any(m.error for m in c.metrics.values())
        )
        add("ragwacht_error_rate", "share of cases with an endpoint or judge failure", failed / n)
    if record.gate is not None:
        add(
            "ragwacht_gate_passed",
            "1 when the quality gate passed",
            float(record.gate.verdict == "pass"),
        )
    lines: list[str] = []
    for name, (help_text, value) in families.items():
        lines.append(f"# TYPE {name} gauge")
        lines.append(f"# HELP {name} {_help_text(help_text)}")
        lines.append(f"{name}{lab} {_num(value)}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"
