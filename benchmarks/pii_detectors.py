"""Precision and recall of the PII detectors per kind, on the labelled fixture and on fresh seeds.

The labelled fixture (``tests/data/pii/labelled.jsonl``, 285 items of running Dutch text) is
built by ``tests/helpers/pii_fixture.py``; the same builder with other seeds gives fresh sets
the detectors were not tuned on. Printed per kind: labelled identifiers, true/false positives,
precision, recall, decoys (invalid look-alikes: a BSN failing the 11-proof, an IBAN with a
wrong check digit, a service number, a date that does not exist, ...) and how many were
flagged; then the detections on the shipped demo corpus (real prose without personal data, so
every detection there is a false positive) and the detection throughput. The fresh seeds reuse
the fixture's sentence templates with new values: they test the checks, not new phrasings.

    python benchmarks/pii_detectors.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import pii_fixture

from ragwacht.safety.detectors import PII_KINDS, KindScore, evaluate, find_pii


def _table(title: str, scores: dict[str, KindScore]) -> None:
    print(f"\n{title}")
    print(f"{'kind':<14} {'labelled':>8} {'TP':>4} {'FP':>4} {'prec':>6} {'recall':>6} "
          f"{'decoys':>6} {'flagged':>7}")  # fmt: skip
    for kind in PII_KINDS:
        s = scores[kind]
        prec = "-" if s.precision is None else f"{s.precision:.3f}"
        rec = "-" if s.recall is None else f"{s.recall:.3f}"
        n = s.true_positives + s.false_negatives
        print(f"{kind:<14} {n:>8} {s.true_positives:>4} {s.false_positives:>4} {prec:>6} "
              f"{rec:>6} {s.decoys:>6} {s.decoys_flagged:>7}")  # fmt: skip


def _merge(total: dict[str, KindScore], add: dict[str, KindScore]) -> None:
    for k, s in add.items():
        t = total[k]
        t.true_positives += s.true_positives
        t.false_positives += s.false_positives
        t.false_negatives += s.false_negatives
        t.decoys += s.decoys
        t.decoys_flagged += s.decoys_flagged


def main() -> None:
    """Print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="fresh seeded sets besides the fixture")
    args = ap.parse_args()
    items = [json.loads(x) for x in pii_fixture.OUT.read_text(encoding="utf-8").splitlines()]
    _table(f"fixture: {len(items)} items", evaluate(items))

    fresh = {k: KindScore(k) for k in PII_KINDS}
    n_fresh = 0
    for seed in range(1, args.seeds + 1):
        more = pii_fixture.build(seed)
        n_fresh += len(more)
        _merge(fresh, evaluate(more))
    _table(f"fresh seeds 1..{args.seeds}: {n_fresh} items", fresh)

    # Real Dutch prose without personal data: every detection here is a false positive.
    from ragwacht.demo.corpus import load_corpus

    corpus = load_corpus()
    hits = [(p.id, s.kind, s.text) for p in corpus for s in find_pii(f"{p.title}. {p.text}")]
    print(f"\nshipped demo corpus ({len(corpus)} passages, no personal data): "
          f"{len(hits)} detections {hits[:5] if hits else ''}")  # fmt: skip

    texts = [it["text"] for it in items]
    chars = sum(len(t) for t in texts)
    t0 = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for t in texts:
            find_pii(t)
    dt = time.perf_counter() - t0
    print(f"\nthroughput: {rounds * len(texts) / dt:,.0f} texts/s, "
          f"{rounds * chars / dt / 1e6:.2f} M chars/s (one core)")  # fmt: skip


if __name__ == "__main__":
    main()
