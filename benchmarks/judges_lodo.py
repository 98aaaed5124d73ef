"""Leave-one-dataset-out study of the offline judges; trains the packaged ``learned`` model.

Not a test. Data: balanced seeded samples of the shared HaluEval QA and BEGIN sets
(``../shared/data/hallucination/``) and the whole Dutch constructed set
(``metrics/calibration/data/nl_constructed.jsonl``). For each set in turn the ``learned``
verifier is trained (coefficients and threshold) on the other sets and measured on the one left
out; the in-sample figure (trained on all sets, measured on the same items) is printed beside
it, never alone. ``lexical`` needs no training: its figure is the same in both columns.

* balanced accuracy per set, left out and in-sample, for both learned variants (word features;
  word features + multilingual-e5 similarity);
* the paired difference learned minus lexical on the left-out items (bootstrap CI and sign-flip
  p-value from :func:`ragwacht.stats.paired_difference`, per item weighted so that the mean is
  the balanced accuracy);
* per edit kind on the Dutch set: share of items each judge gets right and balanced accuracy of
  that kind against all faithful items;
* an item-level ensemble of the learned score with the 1.5B LLM judge's stored P(yes)
  (``benchmarks/results/judges-qwen2.5-coder-1.5b-instruct-q4_k_m.items.jsonl``, the 200 items
  of ``benchmarks/judges.py``; the model is not run again), trained on one English set's items
  and measured on the other's;
* claims per second of the learned verifier without embeddings, and with them.

    .venv/bin/python benchmarks/judges_lodo.py                 # study, prints tables
    .venv/bin/python benchmarks/judges_lodo.py --write-model   # also refits the packaged model

Features are cached under ``~/.cache/ragwacht/lodo/`` (the embedding feature is the slow
part: about 30 texts/s on two cores); ``--no-cache`` recomputes them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from ragwacht.metrics.calibration import (  # noqa: E402
    LabelledItem,
    file_sha256,
    load_labelled,
)
from ragwacht.metrics.judges.learned import (  # noqa: E402
    ALL_VARIANTS,
    EMBEDDING_FEATURE,
    PACKAGED_MODEL,
    VARIANT_EMBEDDINGS,
    VARIANT_WORDS,
    Featurizer,
    LearnedVerifier,
    LogisticModel,
    TrainingData,
    TrainingItem,
    build_model_file,
    featurize,
    fit,
    item_scores,
    write_model_file,
)
from ragwacht.metrics.judges.lexical import LexicalVerifier  # noqa: E402
from ragwacht.stats import paired_difference  # noqa: E402

SHARED = Path(os.environ.get("RAGWACHT_SHARED", REPO.parent / "shared")) / "data" / "hallucination"
NL = REPO / "metrics" / "calibration" / "data" / "nl_constructed.jsonl"
LLM_ITEMS = (
    REPO / "benchmarks" / "results" / "judges-qwen2.5-coder-1.5b-instruct-q4_k_m.items.jsonl"
)
LLM_METHOD = "claim_logprobs@claim_check_v3"
RESULTS = REPO / "benchmarks" / "results" / "judges-lodo.json"
CACHE = Path.home() / ".cache" / "ragwacht" / "lodo"


def datasets(per_file: int, seed: int) -> dict[str, tuple[Path, str, list[LabelledItem]]]:
    """name -> (file, language, items)."""
    out = {}
    for name in ("halueval_qa_2000", "begin"):
        f = SHARED / f"{name}.jsonl"
        out[name] = (f, "en", load_labelled(f, limit=per_file, seed=seed, balanced=True))
    out["nl_constructed"] = (NL, "nl", load_labelled(NL))
    return out


def bench_items() -> dict[str, list[LabelledItem]]:
    """The 200 items of ``benchmarks/judges.py`` (100 balanced per shared file, seed 0)."""
    return {
        name: load_labelled(SHARED / f"{name}.jsonl", limit=100, seed=0, balanced=True)
        for name in ("halueval_qa_2000", "begin")
    }


def cached_features(
    name: str, path: Path, items: list[LabelledItem], language: str, use_cache: bool
) -> list[TrainingItem]:
    key = hashlib.sha256(
        (file_sha256(path) + "|".join(i.id for i in items) + "|v3").encode()
    ).hexdigest()[:16]
    cache = CACHE / f"{name}-{key}.jsonl"
    if not (use_cache and cache.is_file()):
        fz = Featurizer(embeddings=True)
        start = time.perf_counter()

        def progress(n: int) -> None:
            if n % 100 == 0:
                rate = n / (time.perf_counter() - start)
                print(f"  {name}: {n}/{len(items)} items featurized ({rate:.1f}/s)", flush=True)

        done = featurize(fz, items, dataset=name, language=language, progress=progress)
        fz.save()
        CACHE.mkdir(parents=True, exist_ok=True)
        cache.write_text("".join(t.model_dump_json() + "\n" for t in done))
    # Only the (slow) embedding similarity comes from the cache; the word features are
    # recomputed every run (thousands of claims a second), so a change to them is measured.
    emb = {
        t.id: [c[EMBEDDING_FEATURE] for c in t.claims]
        for t in (TrainingItem.model_validate_json(line) for line in cache.open())
    }
    out = featurize(Featurizer(), items, dataset=name, language=language)
    for t in out:
        for c, e in zip(t.claims, emb[t.id], strict=True):
            c[EMBEDDING_FEATURE] = e
    return out


def weighted_correct(labels: list[bool], preds: list[bool], groups: list[str]) -> list[float]:
    """Per-item correctness weighted so that the mean is the mean per-group balanced accuracy."""
    cells: dict[tuple[str, bool], int] = {}
    for g, y in zip(groups, labels, strict=True):
        cells[(g, y)] = cells.get((g, y), 0) + 1
    n_groups = len(set(groups))
    n = len(labels)
    return [
        float(p == y) * n / (n_groups * 2 * cells[(g, y)])
        for y, p, g in zip(labels, preds, groups, strict=True)
    ]


def bal_acc(labels: list[bool], preds: list[bool]) -> float:
    return sum(weighted_correct(labels, preds, ["x"] * len(labels))) / len(labels)


def predict(model: LogisticModel, items: list[TrainingItem]) -> list[bool]:
    return [s < model.threshold for s in item_scores(model, items)]


def lexical_predictions(
    items: list[LabelledItem], language: str
) -> dict[str, tuple[bool, bool, float]]:
    """id -> (hallucinated predicted, contradicted any, min score)."""
    lx = LexicalVerifier(cache_size=0)
    out = {}
    for it in items:
        v = lx.verify_sync(it.answer, it.contexts, language=language)
        pred = any(c.verdict != "supported" for c in v.claims)
        out[it.id] = (pred, any(c.verdict == "contradicted" for c in v.claims), 0.0)
    return out


def fmt_ci(r: Any) -> str:
    return f"{r.mean_diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}], p={r.p_value:.3g}"


def logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--per-file", type=int, default=600, help="balanced items per shared file")
    ap.add_argument("--seed", type=int, default=1, help="seed of the shared-set samples")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--write-model", action="store_true", help="refit the packaged model")
    args = ap.parse_args()

    data = datasets(args.per_file, args.seed)
    feats: dict[str, list[TrainingItem]] = {}
    labelled: dict[str, dict[str, LabelledItem]] = {}
    for name, (path, lang, items) in data.items():
        feats[name] = cached_features(name, path, items, lang, not args.no_cache)
        labelled[name] = {i.id: i for i in items}
    names = list(data)
    lex = {n: lexical_predictions(data[n][2], data[n][1]) for n in names}

    results: dict[str, Any] = {"per_file": args.per_file, "seed": args.seed, "sets": {}}
    print("\n## Leave-one-dataset-out balanced accuracy (left out | in-sample)\n")
    print(
        "| left-out set | items | lexical | learned words: left out | in-sample "
        "| learned words+e5: left out | in-sample |"
    )
    print("|---|---|---|---|---|---|---|")
    full = {v: fit([t for n in names for t in feats[n]], f) for v, f in ALL_VARIANTS.items()}
    if args.write_model:
        tds = [
            TrainingData(
                dataset=n,
                file=data[n][0].name,
                sha256=file_sha256(data[n][0]),
                n_items=len(feats[n]),
                n_claims=sum(len(t.claims) for t in feats[n]),
            )
            for n in names
        ]
        mf = build_model_file(full, tds, version="learned-v1")
        write_model_file(mf, PACKAGED_MODEL)
        print(
            f"\nwritten {PACKAGED_MODEL.relative_to(REPO)}"
            f" ({PACKAGED_MODEL.stat().st_size:,} bytes)"
        )
    pooled: dict[str, dict[str, list[Any]]] = {}
    left_models: dict[str, dict[str, LogisticModel]] = {}
    for held in names:
        train = [t for n in names if n != held for t in feats[n]]
        test = feats[held]
        labels = [t.label for t in test]
        lx = [lex[held][t.id][0] for t in test]
        row: dict[str, Any] = {"n": len(test), "lexical": bal_acc(labels, lx)}
        left_models[held] = {}
        for v, f in ALL_VARIANTS.items():
            m = fit(train, f)
            left_models[held][v] = m
            pred = predict(m, test)
            row[f"{v}:left_out"] = bal_acc(labels, pred)
            row[f"{v}:in_sample"] = bal_acc(labels, predict(full[v], test))
            row[f"{v}:threshold"] = m.threshold
            cell = pooled.setdefault(v, {"labels": [], "lex": [], "pred": [], "group": []})
            cell["labels"] += labels
            cell["lex"] += lx
            cell["pred"] += pred
            cell["group"] += [held] * len(test)
            d = paired_difference(
                weighted_correct(labels, pred, [held] * len(labels)),
                weighted_correct(labels, lx, [held] * len(labels)),
                n_resamples=4000,
            )
            row[f"{v}:minus_lexical"] = [d.mean_diff, d.ci_low, d.ci_high, d.p_value]
        results["sets"][held] = row
        print(
            f"| {held} | {row['n']} | {row['lexical']:.3f} | "
            f"**{row[VARIANT_WORDS + ':left_out']:.3f}** | "
            f"{row[VARIANT_WORDS + ':in_sample']:.3f} | "
            f"**{row[VARIANT_EMBEDDINGS + ':left_out']:.3f}** | "
            f"{row[VARIANT_EMBEDDINGS + ':in_sample']:.3f} |"
        )
    print("\nPaired difference learned minus lexical on left-out items (balanced accuracy):\n")
    for held in names:
        row = results["sets"][held]
        for v in ALL_VARIANTS:
            m_, lo, hi, p = row[f"{v}:minus_lexical"]
            print(f"- {held}, {v}: {m_:+.3f} [{lo:+.3f}, {hi:+.3f}], p={p:.3g}")
    results["pooled"] = {}
    for v, cell in pooled.items():
        d = paired_difference(
            weighted_correct(cell["labels"], cell["pred"], cell["group"]),
            weighted_correct(cell["labels"], cell["lex"], cell["group"]),
            n_resamples=4000,
        )
        results["pooled"][v] = [d.mean_diff, d.ci_low, d.ci_high, d.p_value, d.n]
        print(f"- all left-out items ({d.n}, mean of per-set balanced accuracy), {v}: {fmt_ci(d)}")

    # -- per edit kind on the Dutch set (left-out models) ---------------------------------------
    nl = feats["nl_constructed"]
    edits = {}
    for line in NL.read_text("utf-8").splitlines():
        raw = json.loads(line)
        edits[raw["id"]] = raw["edit"]
    preds = {
        "lexical": [lex["nl_constructed"][t.id][0] for t in nl],
        **{f"learned {v}": predict(left_models["nl_constructed"][v], nl) for v in ALL_VARIANTS},
    }
    faithful_idx = [i for i, t in enumerate(nl) if not t.label]
    print("\n## Dutch constructed set, per edit kind (learned trained on the English sets only)\n")
    print(
        "share right (faithful kinds: passed; edits: caught) / balanced accuracy of the kind "
        "against all faithful items\n"
    )
    print("| edit | items | " + " | ".join(preds) + " |")
    print("|---|---|" + "---|" * len(preds))
    kinds = sorted(
        set(edits.values()),
        key=lambda k: (k not in {"extractive", "extractive_multi", "paraphrase"}, k),
    )
    per_kind: dict[str, Any] = {}
    for kind in kinds:
        idx = [i for i, t in enumerate(nl) if edits[t.id] == kind]
        cells = []
        per_kind[kind] = {"n": len(idx)}
        for judge, pr in preds.items():
            right = sum(1 for i in idx if pr[i] == nl[i].label) / len(idx)
            if nl[idx[0]].label:
                spec = sum(1 for i in faithful_idx if not pr[i]) / len(faithful_idx)
                ba = (right + spec) / 2
                cells.append(f"{right:.2f} / {ba:.2f}")
                per_kind[kind][judge] = [right, ba]
            else:
                cells.append(f"{right:.2f}")
                per_kind[kind][judge] = [right]
        print(f"| {kind} | {len(idx)} | " + " | ".join(cells) + " |")
    results["nl_per_edit"] = per_kind
    contradicted = []
    for held in ["nl_constructed"]:
        v = LearnedVerifier()
        for it in data[held][2]:
            if edits[it.id] in {"extractive", "extractive_multi", "paraphrase"}:
                out = v.verify_sync(it.answer, it.contexts, language="nl")
                contradicted += [c.claim for c in out.claims if c.verdict == "contradicted"]
    print(
        f"\nfaithful Dutch answers with a claim called contradicted (packaged model): "
        f"{len(contradicted)}"
    )

    # -- ensemble with the stored 1.5B LLM P(yes) -----------------------------------------------
    llm: dict[str, float] = {}
    for line in LLM_ITEMS.read_text("utf-8").splitlines():
        raw = json.loads(line)
        if raw.get("method") == LLM_METHOD and raw.get("score") is not None:
            llm[raw["id"]] = float(raw["score"])
    bench = bench_items()
    bfeats = {
        n: cached_features(f"bench-{n}", SHARED / f"{n}.jsonl", bench[n], "en", not args.no_cache)
        for n in bench
    }
    blex = {n: lexical_predictions(bench[n], "en") for n in bench}
    print("\n## Ensemble with the 1.5B LLM judge's P(yes) (stored scores, 200 items)\n")
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:  # pragma: no cover
        raise SystemExit("scikit-learn is needed") from None
    ens_rows: dict[str, Any] = {}
    all_lab, all_pred, all_grp = [], {"lexical": [], "llm": [], "learned": [], "ensemble": []}, []
    for held in bench:
        other = next(n for n in bench if n != held)
        # The learned model never saw the held-out set (nor the set of the ensemble's training).
        m = left_models[held][VARIANT_EMBEDDINGS]
        m_other = left_models[other][VARIANT_EMBEDDINGS]

        def xy(n: str, model: LogisticModel) -> tuple[list[list[float]], list[bool], list[str]]:
            items = [t for t in bfeats[n] if t.id in llm]
            s = item_scores(model, items)
            x = [[logit(a), logit(llm[t.id])] for a, t in zip(s, items, strict=True)]
            return x, [t.label for t in items], [t.id for t in items]

        xt, yt, _ = xy(other, m_other)
        xh, yh, ids = xy(held, m)
        lr = LogisticRegression(class_weight="balanced").fit(xt, yt)
        ens = [bool(p) for p in lr.predict(xh)]
        learned_pred = [
            s < m.threshold for s in item_scores(m, [t for t in bfeats[held] if t.id in llm])
        ]
        llm_pred = [llm[i] < 0.5 for i in ids]
        lex_pred = [blex[held][i][0] for i in ids]
        all_lab += yh
        all_grp += [held] * len(yh)
        for k, p in (
            ("lexical", lex_pred),
            ("llm", llm_pred),
            ("learned", learned_pred),
            ("ensemble", ens),
        ):
            all_pred[k] += p
        ens_rows[held] = {
            "n": len(yh),
            **{
                k: bal_acc(yh, p)
                for k, p in (
                    ("lexical", lex_pred),
                    ("llm", llm_pred),
                    ("learned", learned_pred),
                    ("ensemble", ens),
                )
            },
        }
        r = ens_rows[held]
        print(
            f"- {held} left out ({r['n']} items): lexical {r['lexical']:.3f}, llm P(yes)>=0.5 "
            f"{r['llm']:.3f}, learned {r['learned']:.3f}, ensemble {r['ensemble']:.3f}"
        )
    for a, b in (
        ("ensemble", "lexical"),
        ("ensemble", "learned"),
        ("ensemble", "llm"),
        ("learned", "lexical"),
    ):
        d = paired_difference(
            weighted_correct(all_lab, all_pred[a], all_grp),
            weighted_correct(all_lab, all_pred[b], all_grp),
            n_resamples=4000,
        )
        ens_rows[f"{a}-{b}"] = [d.mean_diff, d.ci_low, d.ci_high, d.p_value, d.n]
        print(f"- {a} minus {b}, {d.n} left-out items: {fmt_ci(d)}")
    results["ensemble"] = ens_rows

    # -- throughput ------------------------------------------------------------------------------
    print("\n## Throughput (one process; these 2 cores are shared)\n")
    every = [(it, data[n][1]) for n in names for it in data[n][2]]
    v = LearnedVerifier(cache_size=0)
    start = time.perf_counter()
    n_claims = sum(
        len(v.verify_sync(it.answer, it.contexts, language=lg).claims) for it, lg in every
    )
    dt = time.perf_counter() - start
    results["claims_per_s_words"] = n_claims / dt
    print(
        f"- learned, word features: {n_claims} claims in {dt:.2f} s = {n_claims / dt:,.0f} claims/s"
        " (passages prepared once per text and cached)"
    )
    lx = LexicalVerifier(cache_size=0)
    start = time.perf_counter()
    n_claims = sum(
        len(lx.verify_sync(it.answer, it.contexts, language=lg).claims) for it, lg in every
    )
    dt = time.perf_counter() - start
    print(f"- lexical, same items: {n_claims / dt:,.0f} claims/s")
    results["claims_per_s_lexical"] = n_claims / dt
    if VARIANT_EMBEDDINGS in LearnedVerifier().model_file.variants:
        # In memory only, so nothing is cached yet: the cost a first run pays. Then the same
        # passages with new claims: a bot retrieves from one corpus, so in a run most passage
        # sentences are already embedded and only the claims are new.
        from ragwacht.metrics.claims import split_claims

        fz = Featurizer(embeddings=True, persist=False)
        sub = [(it, lg) for it, lg in every if lg == "nl"][:40]
        for label, prefix in (("nothing cached", ""), ("passages cached, claims new", "Dus: ")):
            start = time.perf_counter()
            n_claims = 0
            for it, lg in sub:
                cl = [prefix + c for c in split_claims(it.answer, lg)]
                fz.features(cl, it.contexts, language=lg)
                n_claims += len(cl)
            dt = time.perf_counter() - start
            results[f"claims_per_s_embeddings_{label}"] = n_claims / dt
            rate = n_claims / dt
            print(f"- learned with e5 similarity, {label} (Dutch items): {rate:.1f} claims/s")
    size = PACKAGED_MODEL.stat().st_size if PACKAGED_MODEL.is_file() else 0
    start = time.perf_counter()
    from ragwacht.metrics.judges.learned import _read

    _read(PACKAGED_MODEL)
    results["model_load_s"] = time.perf_counter() - start
    results["model_bytes"] = size
    print(f"- model file {size:,} bytes, loads in {results['model_load_s'] * 1000:.1f} ms")

    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
