"""One bootstrap: the judge calibration's interval comes from ``ragwacht.stats``."""

from __future__ import annotations

import numpy as np
import pytest

from ragwacht import stats
from ragwacht.metrics.calibration import bootstrap_ci, confusion, scores_from_confusion


def test_indices_are_seeded_rows_of_draws_with_replacement() -> None:
    a = stats.bootstrap_indices(7, 50, seed=3)
    assert a.shape == (50, 7) and a.min() >= 0 and a.max() < 7
    assert np.array_equal(a, stats.bootstrap_indices(7, 50, seed=3))
    assert not np.array_equal(a, stats.bootstrap_indices(7, 50, seed=4))
    with pytest.raises(ValueError):
        stats.bootstrap_indices(0, 5)


def test_percentile_interval_is_the_central_quantiles() -> None:
    lo, hi = stats.percentile_interval(np.arange(101, dtype=float), 0.9)
    assert (lo, hi) == pytest.approx((5.0, 95.0))
    with pytest.raises(ValueError):
        stats.percentile_interval([1.0, 2.0], 1.0)


def test_calibration_interval_is_the_stats_bootstrap_of_balanced_accuracy() -> None:
    rng = np.random.default_rng(0)
    y_true = list(rng.random(60) < 0.4)
    y_pred = [t if rng.random() < 0.8 else not t for t in y_true]
    got = bootstrap_ci(y_true, y_pred, resamples=500, seed=11)
    idx = stats.bootstrap_indices(60, 500, seed=11)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    values = [
        scores_from_confusion(confusion(list(t[row]), list(p[row]))).balanced_accuracy
        for row in idx
    ]
    assert got == pytest.approx(stats.percentile_interval([v for v in values if v is not None]))
