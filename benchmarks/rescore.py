"""What a cached re-score of the demo suite costs, with and without the embedding cache.

``ragwacht compare`` of four variants of the demo suite against the demo bot on loopback, in a
fresh project folder (so no earlier cache counts), three times in one process:

1. **fill**: every variant calls the bot; responses and embeddings land in the project's
   ``.ragwacht/`` caches.
2. **before** (the old behaviour): every response from the response cache, but the embedding
   cache emptied (memory and disk), so every answer and reference answer is embedded again,
   as each run did before embeddings were cached.
3. **after**: every response and every embedding from the caches; the in-memory vectors are
   dropped first, so this is what a new ``ragwacht compare`` process pays (the disk cache).

Printed per phase: CPU seconds of the process (``time.process_time``: all threads, the bot's
too), wall seconds, endpoint calls (counted in the bot) and texts sent to the embedding model
(counted in :class:`ragwacht.metrics.correctness.EmbeddingCache`). The target is at least 10x
fewer CPU seconds after than before, with 0 endpoint calls and 0 embedded texts.

    python benchmarks/rescore.py [--variants default,no-reranker,bm25,dense] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def make_project(root: Path) -> Path:
    """A project folder with the demo suite pointing at the repository's dataset and profile."""
    data = yaml.safe_load((REPO / "evals" / "registers-demo.yaml").read_text(encoding="utf-8"))
    data["dataset"] = str(REPO / "datasets" / "registers-demo")
    data["endpoint"] = str(REPO / "runners" / "demo-bot.yaml")
    data["baseline"] = {"mlflow": False}
    (root / "ragwacht.yaml").write_text("# project marker for the benchmark\n", encoding="utf-8")
    cal = REPO / "metrics" / "calibration"
    if cal.is_dir():
        shutil.copytree(cal, root / "metrics" / "calibration")
    suite = root / "evals" / "registers-demo.yaml"
    suite.parent.mkdir(parents=True)
    suite.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return suite


def main() -> None:
    """Run the three phases and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default="default,no-reranker,bm25,dense")
    ap.add_argument("--keep", type=Path, help="project folder to use (kept afterwards)")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]

    from ragwacht.demo import BotServer, DemoBot
    from ragwacht.evals.compare import compare_variants
    from ragwacht.evals.spec import load_suite
    from ragwacht.metrics.correctness import EmbeddingCache
    from ragwacht.metrics.judges import lexical

    root = args.keep or Path(tempfile.mkdtemp(prefix="ragwacht-rescore-"))
    root.mkdir(parents=True, exist_ok=True)
    spec = load_suite(make_project(root))
    emb_dir = spec.project_root / ".ragwacht" / "embedding-cache"

    bot = DemoBot()
    calls = [0]
    lock = threading.Lock()
    respond = bot.respond

    def counting(*a: Any, **kw: Any) -> Any:
        with lock:
            calls[0] += 1
        return respond(*a, **kw)

    bot.respond = counting  # type: ignore[method-assign]
    server = BotServer(bot)
    url = server.start()
    rows = []
    try:
        for phase in ("fill", "before", "after"):
            if phase == "before":
                shutil.rmtree(emb_dir, ignore_errors=True)
            # Every phase starts without in-memory vectors or prepared passages, as a new
            # process would.
            EmbeddingCache.clear_memory()
            lexical._prepare.cache_clear()
            lexical._piece.cache_clear()
            calls[0] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            out = compare_variants(
                spec,
                variants,
                out_dir=root / "out" / phase,
                mlflow=False,
                progress=False,
                base_url=url,
                stable_cache=True,
            )
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            n_cached = sum(
                1 for rec in out.records.values() for c in rec.cases if c.response.cached
            )
            n_cases = sum(len(rec.cases) for rec in out.records.values())
            rows.append(
                (phase, cpu, wall, calls[0], EmbeddingCache.embedded, EmbeddingCache.lookups,
                 f"{n_cached}/{n_cases}")
            )  # fmt: skip
    finally:
        server.stop()
    print(f"compare of {len(variants)} variants ({', '.join(variants)}), project {root}")
    print(f"{'phase':<8} {'cpu s':>7} {'wall s':>7} {'endpoint':>9} {'embedded':>9} "
          f"{'lookups':>8} {'cached responses':>17}")  # fmt: skip
    for phase, cpu, wall, n_calls, embedded, lookups, cached in rows:
        print(f"{phase:<8} {cpu:7.2f} {wall:7.2f} {n_calls:9d} {embedded:9d} {lookups:8d} "
              f"{cached:>17}")  # fmt: skip
    before, after = rows[1][1], rows[2][1]
    print(f"cpu before / after: {before / after:.1f}x fewer CPU seconds with the embedding cache")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
