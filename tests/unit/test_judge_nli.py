"""The NLI verifier's code path, with a tiny random-weight cross-encoder built by the test.

The model's judgements are meaningless; these tests check pairing, windows, batching, label
mapping and thresholds, which are what ragwacht's code decides.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from ragwacht.errors import ConfigError
from ragwacht.metrics.judges.base import Verdict
from ragwacht.metrics.judges.config import NLIJudgeConfig
from ragwacht.metrics.judges.factory import make_verifier
from ragwacht.metrics.judges.nli import NLIVerifier, premises
from tests.helpers.nli_model import build_tiny_cross_encoder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_cross_encoder(tmp_path_factory.mktemp("nli") / "tiny")


def test_premises_include_windows() -> None:
    p = premises(["a", "b", "c"], 2)
    assert [x.text for x in p] == ["a", "b", "c", "a b", "b c"]
    assert [x.index for x in p] == [0, 1, 2, 0, 1]
    assert len(premises(["a", "b"], 1)) == 2
    assert len(premises(["a"], 3)) == 1


def test_batch_matches_direct_model_scores(tiny_model: Path) -> None:
    cfg = NLIJudgeConfig(model=str(tiny_model), batch_size=4, window=2, entailment_threshold=0.0)
    v = make_verifier(cfg)
    assert isinstance(v, NLIVerifier) and v.id == f"nli:{tiny_model}"
    ctx = ["the kadaster is in paris", "paris is the capital of france", "london"]
    claims = ["paris is a city", "einstein was born in germany"]
    out = asyncio.run(v.verify_claims(claims, ctx))
    assert [c.claim for c in out.claims] == claims
    assert v.pairs_scored == len(claims) * (3 + 2)
    # Recompute the best entailment probability independently with the raw CrossEncoder.
    import torch
    from sentence_transformers import CrossEncoder

    enc = CrossEncoder(str(tiny_model), device="cpu")
    texts = [*ctx, " ".join(ctx[0:2]), " ".join(ctx[1:3])]
    for cv, claim in zip(out.claims, claims, strict=True):
        probs = enc.predict([(t, claim) for t in texts], activation_fn=torch.nn.Softmax(dim=-1))
        best = int(np.argmax(probs[:, 1]))  # id2label: 1 = entailment
        assert cv.score == pytest.approx(float(probs[best, 1]), abs=1e-5)
        assert cv.verdict == Verdict.SUPPORTED  # threshold 0: everything entails
        assert cv.evidence == texts[best][:1000]


def test_thresholds_and_label_mapping(tiny_model: Path) -> None:
    # Threshold 1.0 cannot be reached; contradiction threshold 0 then wins.
    v = NLIVerifier(
        NLIJudgeConfig(model=str(tiny_model), entailment_threshold=1.0, contradiction_threshold=0.0)
    )
    out = asyncio.run(v.verify_claims(["paris is a city"], ["london is a city"]))
    assert out.claims[0].verdict == Verdict.CONTRADICTED
    v2 = NLIVerifier(
        NLIJudgeConfig(model=str(tiny_model), entailment_threshold=1.0, contradiction_threshold=1.0)
    )
    out2 = asyncio.run(v2.verify_claims(["paris is a city"], ["london is a city"]))
    assert out2.claims[0].verdict == Verdict.UNVERIFIABLE
    # A wrong mapping (index out of range) is a config error naming the field.
    bad = NLIVerifier(NLIJudgeConfig(model=str(tiny_model), labels={"entailment": 7}))
    with pytest.raises(ConfigError) as e:
        asyncio.run(bad.verify_claims(["x"], ["y"]))
    assert e.value.first.location.field == "labels"


def test_many_items_in_one_pass(tiny_model: Path) -> None:
    v = NLIVerifier(NLIJudgeConfig(model=str(tiny_model), batch_size=8))
    items = [(["paris is a city"], ["a", "b"]), ([], ["a"]), (["x", "y"], [])]
    outs = asyncio.run(v.verify_batch(items))
    assert [len(o.claims) for o in outs] == [1, 0, 2]
    assert all(c.verdict == Verdict.UNVERIFIABLE for c in outs[2].claims)  # no passages


def test_missing_model_is_config_error(tmp_path: Path) -> None:
    v = NLIVerifier(NLIJudgeConfig(model=str(tmp_path / "nothing-here")))
    with pytest.raises(ConfigError) as e:
        asyncio.run(v.verify_claims(["x"], ["y"]))
    assert e.value.first.location.field == "model"
