"""What the monitor writes: dashboards, the Prometheus text, candidates, MLflow time series."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import jinja2

from ragwacht import __version__
from ragwacht.datasets.io import save_golden_set
from ragwacht.datasets.models import CaseStatus, DatasetManifest, GoldenCase, GoldenSet, Provenance
from ragwacht.monitor.analyze import RATE_TESTS, MonitorResult, Window
from ragwacht.monitor.models import IngestResult, Interaction
from ragwacht.tracking.mlflow_store import _client, _experiment_id, sanitize_key

TEXTS = {
    "en": {
        "title": "Live monitoring",
        "window": "Window",
        "interactions": "interactions",
        "judged": "judged",
        "windows": "Windows",
        "alerts": "Alerts",
        "no_alerts": "No alerts",
        "metric": "Metric",
        "value": "Value",
        "threshold": "Threshold",
        "rule": "Rule",
        "metrics": "Metrics",
        "trend": "Trend (days)",
        "drift": "Drift tests",
        "test": "Test",
        "topics": "Topics and languages",
        "topic": "Topic",
        "share": "Share",
        "language": "Language",
        "weak": "Refused or weak answers (candidate golden cases)",
        "question": "Question (personal data removed)",
        "why": "Why",
        "unsupported": "Unsupported claims",
        "bad_lines": "Unreadable log lines",
        "bad_lines_note": "lines could not be read (first 50 shown).",
        "rule_note": "alerts use a Bonferroni rule over the horizon: at most alpha false "
        "alerts per horizon.",
    },
    "nl": {
        "title": "Monitoring live verkeer",
        "window": "Venster",
        "interactions": "interacties",
        "judged": "beoordeeld",
        "windows": "Vensters",
        "alerts": "Alarmen",
        "no_alerts": "Geen alarmen",
        "metric": "Metriek",
        "value": "Waarde",
        "threshold": "Drempel",
        "rule": "Regel",
        "metrics": "Metrieken",
        "trend": "Verloop (dagen)",
        "drift": "Drifttoetsen",
        "test": "Toets",
        "topics": "Onderwerpen en talen",
        "topic": "Onderwerp",
        "share": "Aandeel",
        "language": "Taal",
        "weak": "Geweigerde of zwakke antwoorden (kandidaat-testgevallen)",
        "question": "Vraag (persoonsgegevens verwijderd)",
        "why": "Waarom",
        "unsupported": "Niet-onderbouwde beweringen",
        "bad_lines": "Onleesbare logregels",
        "bad_lines_note": "regels konden niet worden gelezen (eerste 50 getoond).",
        "rule_note": "alarmen volgen een Bonferroni-regel over de horizon: hoogstens alfa "
        "valse alarmen per horizon.",
    },
}


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _spark(values: list[float | None]) -> str:
    # Inline SVG polyline; only numbers go into it, never log text.
    pts = [v for v in values if v is not None]
    if len(pts) < 2:
        return ""
    lo, hi = min(pts), max(pts)
    span = (hi - lo) or 1.0
    coords = " ".join(
        f"{4 + 12 * i:.0f},{20 - 16 * (v - lo) / span:.1f}"
        for i, v in enumerate(values)
        if v is not None
    )
    w = 8 + 12 * (len(values) - 1)
    return (
        f'<svg width="{w}" height="24" role="img" aria-label="trend">'
        f'<polyline fill="none" stroke="#1f4e9c" stroke-width="2" points="{coords}"/></svg>'
    )


def _examples(
    result: MonitorResult, interactions: list[Interaction], w: Window
) -> list[dict[str, Any]]:
    cfg = result.config
    out = []
    for s in result.scored:
        in_window = s.day == w.key if w.kind == "day" else _week_key(s.day) == w.key
        if not in_window:
            continue
        weak = s.faithfulness is not None and s.faithfulness < cfg.weak_faithfulness
        if s.refused or weak:
            why = "refused" if s.refused else f"faithfulness {s.faithfulness:.2f}"
            out.append(
                {
                    "question": interactions[s.index].question,
                    "why": why,
                    "claims": s.unsupported_claims,
                }
            )
    return out[:100]


def _week_key(day: str) -> str:

    iso = date.fromisoformat(day).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def write_dashboards(
    result: MonitorResult,
    ingest: IngestResult,
    out: Path,
    *,
    suite: str,
    lang: str = "nl",
) -> list[Path]:
    """One self-contained HTML page per day and week window (jinja2 with autoescape)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ragwacht.monitor", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    tpl = env.get_template("dashboard.html.j2")
    windows = [*result.days, *result.weeks]
    nav = [{"key": w.key, "href": f"dashboard-{w.key}.html"} for w in windows]
    names = list(result.days[0].metrics) if result.days else []
    paths = []
    for w in windows:
        series = result.days if w.kind == "day" else result.weeks
        upto = [x for x in series if x.start <= w.start]
        metrics = [
            {
                "name": m,
                "value": _fmt(w.metrics[m]),
                "threshold": _fmt(result.config.thresholds.get(m)),
                "p": _fmt(w.p_values.get(m)),
                "spark": _spark([x.metrics.get(m) for x in upto]),
            }
            for m in names
        ]
        html = tpl.render(
            lang=lang,
            t=TEXTS.get(lang, TEXTS["en"]),
            suite=suite,
            window=w,
            nav=nav,
            metrics=metrics,
            thresholds=set(RATE_TESTS),
            examples=_examples(result, ingest.interactions, w),
            bad_lines=[str(b) for b in ingest.bad_lines],
            version=__version__,
        )
        p = out / f"dashboard-{w.key}.html"
        p.write_text(html, encoding="utf-8")
        paths.append(p)
    return paths


_BAD = re.compile(r"[^a-zA-Z0-9_]")


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(result: MonitorResult, suite: str) -> str:
    """OpenMetrics text for the newest day: gauges per metric, topic share and alert."""
    if not result.days:
        return "# EOF\n"
    w = result.days[-1]
    s = _label(suite)
    lines: list[str] = []
    for m, v in w.metrics.items():
        if v is None:
            continue  # not measured is not 0
        name = "ragwacht_monitor_" + _BAD.sub("_", m)
        lines += [f"# TYPE {name} gauge", f'{name}{{suite="{s}",window="{w.key}"}} {v:.6g}']
    lines.append("# TYPE ragwacht_monitor_topic_share gauge")
    for t, v in w.topic_shares.items():
        lines.append(f'ragwacht_monitor_topic_share{{suite="{s}",topic="{_label(t)}"}} {v:.6g}')
    lines.append("# TYPE ragwacht_monitor_alert gauge")
    alerting = {a.metric for a in w.alerts}
    for m in (*RATE_TESTS, "retrieval_score_drop", "question_drift"):
        lines.append(f'ragwacht_monitor_alert{{suite="{s}",metric="{m}"}} {int(m in alerting)}')
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def candidate_cases(result: MonitorResult, interactions: list[Interaction]) -> list[GoldenCase]:
    """Refused or weakly answered live questions as ``status: candidate`` golden cases."""
    cfg = result.config
    seen: set[str] = set()
    cases = []
    for s in result.scored:
        weak = s.faithfulness is not None and s.faithfulness < cfg.weak_faithfulness
        if not (s.refused or weak):
            continue
        it = interactions[s.index]
        key = hashlib.sha256(it.question.strip().lower().encode()).hexdigest()[:12]
        if key in seen:
            continue
        seen.add(key)
        why = "refused" if s.refused else "weak"
        cases.append(
            GoldenCase(
                id=f"live-{key}",
                question=it.question,
                tags=[f"topic:{s.topic}", f"lang:{s.language}", "source:live", f"live:{why}"],
                status=CaseStatus.CANDIDATE,
                provenance=Provenance(
                    kind="live",
                    passage_ids=[c.doc_id for c in it.contexts if c.doc_id][:5],
                    generator=f"ragwacht monitor {__version__}",
                    review_note=f"{why} on {s.day}; set expected_behavior and a reference answer",
                ),
            )
        )
    return cases


def write_candidates(cases: list[GoldenCase], out: Path, suite: str) -> Path:
    """A golden-set folder of candidates, for ``ragwacht datasets`` and people to review."""
    manifest = DatasetManifest(
        name=f"{suite}-live-candidates",
        description="Questions from live traffic the bot refused or answered weakly; review "
        "each before accepting it into the golden set.",
        owner="",
    )
    return save_golden_set(GoldenSet(manifest=manifest, cases=cases), out)


def summary(result: MonitorResult, ingest: IngestResult) -> dict[str, Any]:
    """The machine-readable outcome (``monitor.json``)."""
    return {
        "schema_version": 1,
        "lines_read": ingest.lines_read,
        "interactions": len(ingest.interactions),
        "bad_lines": [b.model_dump() for b in ingest.bad_lines],
        "skipped_spans": ingest.skipped_spans,
        "scrubbed": ingest.scrubbed,
        "config": result.config.model_dump(),
        "alerts": [a.model_dump() for a in result.alerts],
        "days": [w.model_dump(mode="json") for w in result.days],
        "weeks": [w.model_dump(mode="json") for w in result.weeks],
    }


def log_mlflow(
    result: MonitorResult,
    ingest: IngestResult,
    out: Path,
    *,
    suite: str,
    dataset_digest: str,
    project_root: Path,
    tracking_uri: str | None = None,
) -> str:
    """Log the windows as a time series (step = days since 1970-01-01) and the outputs.

    Day metrics are ``day.<metric>``, week metrics ``week.<metric>`` (step: the week's
    Monday), timestamps the window starts; alerts are ``day.alerts`` and tags.

    Returns:
        The MLflow run id.

    """
    from mlflow.entities import Metric, Param, RunTag  # lazy: heavy (MLflow)

    client, uri = _client(tracking_uri, project_root)
    exp = _experiment_id(client, f"{suite}/monitor", uri, project_root)
    first = result.days[0].key if result.days else "-"
    last = result.days[-1].key if result.days else "-"
    run = client.create_run(
        exp,
        run_name=f"monitor {first}..{last}",
        tags={"ragwacht.kind": "monitor", "ragwacht.suite": suite},
    )
    rid = run.info.run_id
    metrics: list[Metric] = []
    for kind, windows in (("day", result.days), ("week", result.weeks)):
        for w in windows:
            ts = int(w.start.timestamp() * 1000)
            values: dict[str, float | None] = dict(w.metrics)
            values |= {f"p.{k}": v for k, v in w.p_values.items()}
            values |= {f"topic_share.{k}": v for k, v in w.topic_shares.items()}
            values |= {f"language_share.{k}": v for k, v in w.language_shares.items()}
            if kind == "day":
                values["alerts"] = float(len(w.alerts))
            for k, v in values.items():
                if v is not None:
                    metrics.append(Metric(sanitize_key(f"{kind}.{k}"), float(v), ts, w.step))
    cfg = result.config
    params = [
        Param("suite", suite),
        Param("dataset_digest", dataset_digest),
        Param("harness_version", __version__),
        Param("alert_rule", f"bonferroni alpha={cfg.alpha} horizon={cfg.horizon}"),
        Param("judge_budget_per_day", str(cfg.judge_budget_per_day)),
        Param("golden_similarity", str(cfg.golden_similarity)),
        *(Param(sanitize_key(f"threshold.{k}"), str(v)) for k, v in cfg.thresholds.items()),
    ]
    tags = [
        RunTag("ragwacht.alerts", str(len(result.alerts))),
        RunTag("ragwacht.bad_lines", str(len(ingest.bad_lines))),
        RunTag("ragwacht.alert_windows", ",".join(sorted({a.window for a in result.alerts}))),
    ]
    for i in range(0, len(metrics), 900):
        client.log_batch(
            rid,
            metrics=metrics[i : i + 900],
            params=params if i == 0 else [],
            tags=tags if i == 0 else [],
        )
    if not metrics:
        client.log_batch(rid, params=params, tags=tags)
    client.log_artifacts(rid, str(out), artifact_path="monitor")
    client.set_terminated(rid)
    return str(rid)


def write_all(
    result: MonitorResult, ingest: IngestResult, out: Path, *, suite: str, lang: str = "nl"
) -> dict[str, Path]:
    """Write dashboards, ``metrics.prom``, ``monitor.json`` and ``candidates/`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_dashboards(result, ingest, out, suite=suite, lang=lang)
    prom = out / "metrics.prom"
    prom.write_text(prometheus_text(result, suite), encoding="utf-8")
    js = out / "monitor.json"
    js.write_text(json.dumps(summary(result, ingest), indent=2, ensure_ascii=False), "utf-8")
    cands = write_candidates(
        candidate_cases(result, ingest.interactions), out / "candidates", suite
    )
    return {"metrics": prom, "summary": js, "candidates": cands}
