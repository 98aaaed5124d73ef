"""ragwacht.stats against scipy and statsmodels as independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_confint

from ragwacht import stats


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (8, 10), (10, 10), (40, 50), (431, 500)])
@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(k: int, n: int, conf: float) -> None:
    lo, hi = stats.wilson_interval(k, n, conf)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=1 - conf, method="wilson")
    assert lo == pytest.approx(ref_lo, abs=1e-12)
    assert hi == pytest.approx(ref_hi, abs=1e-12)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_wilson_half_width_at_50_cases_is_about_11_points() -> None:
    lo, hi = stats.wilson_interval(40, 50)
    assert 0.10 < (hi - lo) / 2 < 0.12


def test_wilson_rejects_bad_counts() -> None:
    with pytest.raises(ValueError):
        stats.wilson_interval(3, 0)
    with pytest.raises(ValueError):
        stats.wilson_interval(5, 4)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_mean_ci_close_to_scipy(method: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.beta(2, 5, size=60)
    lo, hi = stats.bootstrap_mean_ci(x, n_resamples=20_000, seed=1, method=method)  # type: ignore[arg-type]
    ref = sps.bootstrap(
        (x,),
        np.mean,
        n_resamples=20_000,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(2),
    ).confidence_interval
    # Different resamples: agreement within Monte Carlo error (a fraction of the width).
    width = ref.high - ref.low
    assert lo == pytest.approx(ref.low, abs=0.03 * width)
    assert hi == pytest.approx(ref.high, abs=0.03 * width)
    assert lo < x.mean() < hi


def test_bootstrap_binary_uses_counts_and_agrees_with_scipy() -> None:
    x = np.array([1.0] * 40 + [0.0] * 10)
    lo, hi = stats.bootstrap_mean_ci(x, n_resamples=20_000, seed=0)
    ref = sps.bootstrap(
        (x,), np.mean, n_resamples=20_000, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.015)
    assert hi == pytest.approx(ref.high, abs=0.015)


def test_bootstrap_is_seeded_and_handles_degenerate_input() -> None:
    x = list(np.random.default_rng(0).random(25))
    assert stats.bootstrap_mean_ci(x, seed=3) == stats.bootstrap_mean_ci(x, seed=3)
    assert stats.bootstrap_mean_ci(x, seed=3) != stats.bootstrap_mean_ci(x, seed=4)
    assert stats.bootstrap_mean_ci([0.4]) == (0.4, 0.4)
    assert stats.bootstrap_mean_ci([0.2, 0.2, 0.2]) == pytest.approx((0.2, 0.2))
    with pytest.raises(ValueError):
        stats.bootstrap_mean_ci([])
    with pytest.raises(ValueError):
        stats.bootstrap_mean_ci([0.1, float("nan")])


def test_bootstrap_large_set_is_chunked_and_correct() -> None:
    rng = np.random.default_rng(0)
    x = rng.random(5000)
    lo, hi = stats.bootstrap_mean_ci(x, n_resamples=2000)
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_percentile_matches_numpy_linear() -> None:
    v = list(range(1, 101))
    assert stats.percentile(v, 95) == pytest.approx(95.05)
    assert stats.percentile([3.0], 50) == 3.0
    with pytest.raises(ValueError):
        stats.percentile(v, 101)


def test_bootstrap_percentile_ci_brackets_p95() -> None:
    rng = np.random.default_rng(1)
    lat = rng.lognormal(7, 0.5, 300)
    lo, hi = stats.bootstrap_percentile_ci(lat, 95)
    assert lo < stats.percentile(lat, 95) < hi


@pytest.mark.parametrize("alternative", ["less", "greater", "two-sided"])
def test_sign_flip_exact_equals_scipy_permutation_test(alternative: str) -> None:
    rng = np.random.default_rng(11)
    a = rng.normal(size=12)
    b = a + rng.normal(0.4, 1.0, size=12)
    res = stats.paired_difference(a, b, alternative=alternative)  # type: ignore[arg-type]
    ref = sps.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        vectorized=True,
        permutation_type="samples",
        alternative=alternative,
        n_resamples=np.inf,
    )
    assert res.exact
    assert res.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert res.mean_diff == pytest.approx(float(np.mean(a - b)))


def test_sign_flip_monte_carlo_close_to_scipy_and_never_zero() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=60)
    b = a + rng.normal(0.25, 1.0, size=60)
    res = stats.paired_difference(a, b, alternative="less", n_resamples=20_000)
    ref = sps.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        vectorized=True,
        permutation_type="samples",
        alternative="less",
        n_resamples=20_000,
        rng=np.random.default_rng(0),
    )
    assert not res.exact
    assert res.p_value == pytest.approx(ref.pvalue, abs=0.006)
    huge = stats.paired_difference(
        np.zeros(40), np.linspace(1, 2, 40), alternative="less", n_resamples=999
    )
    assert huge.p_value == pytest.approx(1 / 1000)  # the +1 correction


def test_sign_flip_binary_diffs_equal_exact_mcnemar() -> None:
    # 9 pass->fail, 2 fail->pass, 89 unchanged
    a = np.array([0.0] * 9 + [1.0] * 2 + [1.0] * 89)
    b = np.array([1.0] * 9 + [0.0] * 2 + [1.0] * 89)
    res = stats.paired_difference(a, b, alternative="less")
    assert res.exact and res.n == 100 and res.n_nonzero == 11
    assert res.p_value == pytest.approx(sps.binomtest(9, 11, 0.5, alternative="greater").pvalue)
    assert res.p_value == pytest.approx(stats.mcnemar_exact(9, 2, "greater"))


def test_sign_flip_no_differences() -> None:
    assert stats.paired_difference([0.5, 1.0], [0.5, 1.0], alternative="less").p_value == 1.0


def test_paired_difference_ci_contains_true_shift() -> None:
    rng = np.random.default_rng(2)
    base = rng.random(200)
    now = np.clip(base - 0.1 + rng.normal(0, 0.05, 200), 0, 1)
    res = stats.paired_difference(now, base, alternative="less")
    assert res.ci_low < res.mean_diff < res.ci_high < 0
    assert res.mean_diff == pytest.approx(-0.1, abs=0.01)
    assert res.p_value < 0.001
    with pytest.raises(ValueError):
        stats.paired_difference([1.0, 2.0], [1.0])


@pytest.mark.parametrize(("b", "c"), [(0, 0), (5, 1), (1, 5), (12, 12), (30, 14), (3, 0)])
def test_mcnemar_exact_matches_statsmodels_and_binomtest(b: int, c: int) -> None:
    ref = mcnemar([[50, b], [c, 50]], exact=True).pvalue
    assert stats.mcnemar_exact(b, c) == pytest.approx(ref, abs=1e-12)
    if b + c:
        assert stats.mcnemar_exact(b, c, "greater") == pytest.approx(
            sps.binomtest(b, b + c, 0.5, alternative="greater").pvalue
        )
        assert stats.mcnemar_exact(b, c, "less") == pytest.approx(
            sps.binomtest(b, b + c, 0.5, alternative="less").pvalue
        )


def test_holm_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.random(int(rng.integers(1, 9))) ** 3
        ref = multipletests(p, method="holm")[1]
        assert stats.holm(list(p)) == pytest.approx(list(ref), abs=1e-12)
    assert stats.holm([]) == []
    with pytest.raises(ValueError):
        stats.holm([0.5, 1.5])


def test_min_detectable_drop_matches_design_and_statsmodels() -> None:
    d50 = stats.min_detectable_drop(50, 0.8)
    d500 = stats.min_detectable_drop(500, 0.8)
    assert 0.08 <= d50 <= 0.16
    assert 0.025 <= d500 <= 0.05
    # One-sample normal power analysis: effect size d / sigma.
    es = NormalIndPower().solve_power(
        nobs1=100, alpha=0.05, power=0.8, ratio=0, alternative="larger"
    )
    assert stats.min_detectable_drop(100, 0.7) == pytest.approx(es * math.sqrt(0.21), rel=1e-4)


def test_min_detectable_drop_paired_discordance_by_simulation() -> None:
    n, psi = 200, 0.12
    d = stats.min_detectable_drop(n, 0.8, discordance=psi)
    assert d < stats.min_detectable_drop(n, 0.8)
    # Simulate discordant pairs with P(pass->fail) - P(fail->pass) = d and their sum = psi;
    # the exact one-sided McNemar test should reject about 80% of the time.
    rng = np.random.default_rng(0)
    p_b, p_c = (psi + d) / 2, (psi - d) / 2
    draws = rng.multinomial(n, [p_b, p_c, 1 - psi], size=4000)
    rejected = np.mean(
        [stats.mcnemar_exact(int(b), int(c), "greater") <= 0.05 for b, c, _ in draws]
    )
    assert 0.72 <= rejected <= 0.86


def test_min_detectable_drop_tiny_sets() -> None:
    assert stats.min_detectable_drop(3, 0.8) == math.inf
    assert stats.min_detectable_drop(10, 1.0) == pytest.approx(0.5)  # needs 5 flips of 10
