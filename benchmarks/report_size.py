"""Size and load time of the HTML run report for a synthetic 1,000-case run.

Each case has a realistic Dutch answer with three claims (some unsupported, so marked), five
retrieved sources, six metrics, latency and cost. Two corpora are measured: a fixed corpus in
which documents recur across cases (how a RAG chatbot over a document collection behaves) and
a worst case in which every retrieved text is unique. Reported: render time, file size (target
< 5 MB) and the time headless Chromium needs to load it, navigationStart -> loadEventEnd from
``performance.timing`` (target < 2 s; median of three loads).

``--evidence passage`` stores each claim's evidence as the judges do (the whole passage they
judged against, not one sentence); ``--screenshot DIR`` saves a screenshot of an opened case
of each corpus.

    python benchmarks/report_size.py [--cases 1000] [--source-chars 700] [--lang nl]
        [--evidence sentence|passage] [--screenshot DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.browser import browser_available, chromium  # noqa: E402
from tests.helpers.report_records import build_gate, build_record, build_trend  # noqa: E402

from ragwacht.reports.html import write_run_report  # noqa: E402

SIZE_TARGET = 5_000_000
LOAD_TARGET_MS = 2000.0


def _unique_sources(record) -> None:  # type: ignore[no-untyped-def]
    # Worst case: no text recurs, so nothing can be shown once and linked.
    for c in record.cases:
        for n, ctx in enumerate(c.response.contexts):
            ctx.text = f"[{c.case_id}/{n}] " + ctx.text
            ctx.doc_id = f"{c.case_id}-src-{n}"


def _passage_evidence(record) -> None:  # type: ignore[no-untyped-def]
    # What the NLI and LLM judges store as evidence: the passage, up to 1,000 characters.
    for c in record.cases:
        contexts = c.response.contexts
        for m in c.metrics.values():
            for claim in (m.details or {}).get("claims") or []:
                i = claim.get("evidence_index")
                if isinstance(i, int) and 0 <= i < len(contexts):
                    claim["evidence"] = contexts[i].text[:1000]


def _load_ms(path: Path, runs: int, screenshot: Path | None = None) -> list[float]:
    out = []
    with tempfile.TemporaryDirectory() as profile, chromium(Path(profile)) as d:
        for _ in range(runs):
            d.get("about:blank")
            d.get(path.as_uri())
            t = d.execute_script(
                "var t = performance.timing; return [t.navigationStart, t.loadEventEnd];"
            )
            out.append(float(t[1] - t[0]))
        if screenshot is not None:
            # The second case (one with claims, marks and sources), opened as a reader would.
            d.get(path.as_uri() + "#c2")
            d.execute_script("document.getElementById('c2').scrollIntoView();")
            d.save_screenshot(str(screenshot))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--source-chars", type=int, default=700)
    ap.add_argument("--lang", default="nl")
    ap.add_argument("--loads", type=int, default=3)
    ap.add_argument("--evidence", choices=("sentence", "passage"), default="sentence")
    ap.add_argument("--screenshot", type=Path, help="folder for a screenshot per corpus")
    args = ap.parse_args()
    if args.screenshot is not None:
        args.screenshot.mkdir(parents=True, exist_ok=True)

    why_not = browser_available()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in ("recurring", "unique"):
            base = build_record(args.cases, seed=1, quality=0.9, source_chars=args.source_chars)
            rec = build_record(args.cases, seed=2, quality=0.8, source_chars=args.source_chars)
            if corpus == "unique":
                _unique_sources(rec)
            if args.evidence == "passage":
                _passage_evidence(rec)
            rec.gate = build_gate(rec, base)
            path = Path(tmp) / f"report-{corpus}.html"
            t0 = time.perf_counter()
            write_run_report(rec, path, lang=args.lang, baseline=base, trend=build_trend(rec))
            render_s = time.perf_counter() - t0
            size = path.stat().st_size
            line = (
                f"{corpus:9s} cases={args.cases} sources/case=5 source_chars={args.source_chars}"
                f" evidence={args.evidence}"
                f"  render={render_s:.2f}s  size={size / 1e6:.2f} MB"
                f" ({size / args.cases / 1000:.1f} kB/case, target < {SIZE_TARGET / 1e6:.0f} MB)"
            )
            ok &= size < SIZE_TARGET
            if why_not is None:
                shot = args.screenshot / f"report-{corpus}.png" if args.screenshot else None
                loads = _load_ms(path, args.loads, shot)
                med = statistics.median(loads)
                line += f"  load={med:.0f} ms median of {loads} (target < {LOAD_TARGET_MS:.0f})"
                ok &= med < LOAD_TARGET_MS
            else:
                line += f"  load=skipped ({why_not})"
            print(line, flush=True)
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
