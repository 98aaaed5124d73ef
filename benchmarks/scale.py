"""A whole run at 1,000 / 10,000 / 100,000 cases: wall time, peak memory, record and report size.

Each size is one ``run_suite`` in a fresh process (so its peak RSS is its own), against the
loopback endpoint of ``runner_overhead.py`` (fixed latency, keep-alive, its own process), with
a bare aiohttp client on the same endpoint in the same invocation for scale. The suite scores
what costs no model (``recall@3``, ``mrr``, ``latency_ms``), so the figures show the harness:
the runner, the record, the summaries, the report. Reported per size: wall time and the bare
client's, the I/O limit (N x latency / concurrency), peak RSS, the record (``run.json``) and
``cases.csv`` on disk, the HTML report's size and, with ``--browser``, its load time in
headless Chromium.

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--latency 0.05] [--concurrency 32]
        [--browser]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runner_overhead import bare, peak_rss_mib, serve

TOPICS = ("bag", "woz", "bgt", "brk", "stelsel")


def _project(root: Path, n: int, url: str, concurrency: int) -> Path:
    (root / "ragwacht.yaml").write_text("", encoding="utf-8")
    data = root / "datasets" / "scale"
    data.mkdir(parents=True)
    (data / "dataset.yaml").write_text(
        "schema_version: 1\nname: scale\nversion: '1'\nlanguage: nl\ncases_file: cases.jsonl\n",
        encoding="utf-8",
    )
    with (data / "cases.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n):
            case = {
                "id": f"c{i:06d}",
                "question": f"Wat is de WOZ-waarde van woning {i}?",
                "gold_contexts": [{"doc_id": f"doc-{i % 3}"}],
                "tags": [f"topic:{TOPICS[i % len(TOPICS)]}"],
            }
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")
    (root / "endpoint.yaml").write_text(
        "schema_version: 1\ntype: http\nname: scale\n"
        f"url: {url}\nmethod: POST\n"
        "body: '{\"question\": {{ question | tojson }}}'\n"
        "response:\n  answer: $.answer\n  contexts: $.sources[*]\n"
        "  context: {text: text, doc_id: doc_id, score: score, rank: rank}\n",
        encoding="utf-8",
    )
    suite = root / "scale.yaml"
    suite.write_text(
        "schema_version: 1\nname: scale\nlang: nl\ndataset: datasets/scale\n"
        "endpoint: endpoint.yaml\nmetrics: [recall@3, mrr, latency_ms]\nbreakdown: [topic]\n"
        f"execution: {{concurrency: {concurrency}, max_retries: 0}}\n"
        "baseline: {mlflow: false}\n",
        encoding="utf-8",
    )
    return suite


def _one(suite: str, out: str, queue: Any) -> None:
    from ragwacht.evals.run import RunOptions, run_suite

    t0 = time.perf_counter()
    outcome = run_suite(
        suite, RunOptions(out_dir=Path(out), mlflow=False, progress=False, use_cache=False)
    )
    queue.put(
        {
            "wall_s": time.perf_counter() - t0,
            "peak_rss_mib": peak_rss_mib(),
            "errors": outcome.record.endpoint_errors,
            "files": {k: str(v) for k, v in outcome.files.items()},
        }
    )


def _browser_load_s(report: Path) -> float | None:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        t0 = time.perf_counter()
        driver.get(report.as_uri())
        driver.execute_script("return document.readyState")
        return time.perf_counter() - t0
    finally:
        driver.quit()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--browser", action="store_true", help="time the report in headless Chromium")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]

    ctx = mp.get_context("spawn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ready = ctx.Event()
    server = ctx.Process(target=serve, args=(port, args.latency, ready), daemon=True)
    server.start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port}/chat"
    rows = []
    try:
        for n in sizes:
            tmp = Path(tempfile.mkdtemp(prefix=f"ragwacht-scale-{n}-"))
            try:
                suite = _project(tmp, n, url, args.concurrency)
                queue = ctx.Queue()
                child = ctx.Process(target=_one, args=(str(suite), str(tmp / "out"), queue))
                child.start()
                got = queue.get()
                child.join()
                bare_s = bare(n, url, args.concurrency)
                files = {k: Path(v) for k, v in got["files"].items()}
                row = {
                    "cases": n,
                    "wall_s": round(got["wall_s"], 2),
                    "bare_client_s": round(bare_s, 2),
                    "io_limit_s": round(n * args.latency / args.concurrency, 2),
                    "peak_rss_mib": round(got["peak_rss_mib"], 1),
                    "record_mib": round(files["record"].stat().st_size / 2**20, 2),
                    "cases_csv_mib": round(files["cases"].stat().st_size / 2**20, 2),
                    "report_mib": round(files["report"].stat().st_size / 2**20, 2),
                    "endpoint_errors": got["errors"],
                }
                if args.browser:
                    load = _browser_load_s(files["report"])
                    row["report_load_s"] = round(load, 2) if load is not None else None
                rows.append(row)
                print(json.dumps(row), flush=True)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        server.terminate()
    base = rows[0]
    print(
        "\n| cases | wall s | bare client s | I/O limit s | peak RSS MiB | record MiB "
        "| report MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['cases']:,} | {r['wall_s']} | {r['bare_client_s']} | {r['io_limit_s']} | "
            f"{r['peak_rss_mib']} ({r['peak_rss_mib'] / base['peak_rss_mib']:.2f}×) | "
            f"{r['record_mib']} | {r['report_mib']} |"
        )


if __name__ == "__main__":
    main()
