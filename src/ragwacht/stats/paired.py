"""Paired comparisons of two runs on the same cases: sign-flip test, McNemar, Holm.

The gate compares a run with its baseline case by case. Pairing removes the variation between
questions (some are simply harder) and leaves the variation that matters: how the same question
fared in the two runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import binom

from ragwacht.stats.intervals import FloatArray, as_array, resample_means

Alternative = Literal["two-sided", "less", "greater"]

# Up to this many non-zero differences the sign-flip distribution is enumerated exactly
# (2**16 sign patterns); above it, Monte Carlo sign flips are used.
EXACT_MAX = 16
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class PairedResult:
    """The paired difference ``a - b`` of two runs over the same cases.

    Attributes:
        mean_diff: mean of the per-case differences ``a - b``.
        ci_low: lower bound of the paired bootstrap interval for ``mean_diff``.
        ci_high: upper bound of that interval.
        p_value: sign-flip permutation p-value for the chosen alternative.
        n: number of pairs.
        n_nonzero: pairs whose difference is not zero (the only ones that carry evidence).
        exact: whether the p-value is exact (enumeration or binomial) or Monte Carlo.

    """

    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_nonzero: int = 0
    exact: bool = True


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be two-sided, less or greater, got {alternative!r}")


def sign_flip_test(
    diffs: Sequence[float] | FloatArray,
    *,
    alternative: Alternative = "two-sided",
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, bool]:
    """Paired sign-flip permutation test of "the mean difference is zero".

    Under the null hypothesis each per-case difference is as likely to have either sign, so
    the observed sum is compared with the sums under all sign patterns. Zero differences add
    nothing to any sum and are dropped. The p-value is exact when the non-zero differences all
    have the same size (a binomial; for 0/1 metrics this is the exact McNemar test) or when at
    most :data:`EXACT_MAX` remain (full enumeration); otherwise it is a Monte Carlo estimate with
    the +1 correction, ``(hits + 1) / (n_resamples + 1)``, which never reports p = 0.

    Args:
        diffs: per-case differences ``a - b``.
        alternative: ``less`` tests for a mean below zero, ``greater`` above, ``two-sided``
            either way.
        n_resamples: Monte Carlo sign patterns when enumeration is too large.
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        ``(p_value, exact)``.

    """
    _check_alternative(alternative)
    d = as_array(diffs, "diffs")
    scale = float(np.abs(d).max()) if d.size else 0.0
    tol = 1e-12 * max(1.0, scale)
    d = d[np.abs(d) > tol]
    m = d.size
    if m == 0:
        return 1.0, True
    mags = np.abs(d)
    if float(mags.max() - mags.min()) <= 1e-9 * max(1.0, float(mags.max())):
        return _binomial_p(int((d > 0).sum()), m, alternative), True
    observed = float(d.sum())
    eps = 1e-9 * max(1.0, float(mags.sum()))
    if m <= EXACT_MAX:
        bits = (np.arange(2**m)[:, None] >> np.arange(m)) & 1
        sums = np.asarray((bits * 2 - 1) @ mags, dtype=np.float64)
        return _tail(sums, observed, eps, alternative) / sums.size, True
    rng = np.random.default_rng(seed)
    hits = 0.0
    chunk = max(1, _CHUNK_CELLS // m)
    for start in range(0, n_resamples, chunk):
        k = min(chunk, n_resamples - start)
        signs = rng.integers(0, 2, size=(k, m), dtype=np.int8) * 2 - 1
        hits += _tail(np.asarray(signs @ mags, dtype=np.float64), observed, eps, alternative)
    return (hits + 1.0) / (n_resamples + 1.0), False


def _tail(sums: FloatArray, observed: float, eps: float, alternative: str) -> float:
    if alternative == "less":
        return float((sums <= observed + eps).sum())
    if alternative == "greater":
        return float((sums >= observed - eps).sum())
    return float((np.abs(sums) >= abs(observed) - eps).sum())


def _binomial_p(k_pos: int, m: int, alternative: str) -> float:
    """Sign-flip p-value when all non-zero differences are equal in size: K ~ Bin(m, 1/2)."""
    if alternative == "less":
        return float(binom.cdf(k_pos, m, 0.5))
    if alternative == "greater":
        return float(binom.sf(k_pos - 1, m, 0.5))
    lo, hi = min(k_pos, m - k_pos), max(k_pos, m - k_pos)
    if lo == hi:
        return 1.0
    return min(1.0, float(binom.cdf(lo, m, 0.5) + binom.sf(hi - 1, m, 0.5)))


def paired_difference(
    a: Sequence[float] | FloatArray,
    b: Sequence[float] | FloatArray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    alternative: Alternative = "two-sided",
) -> PairedResult:
    """Mean paired difference ``a - b`` with a bootstrap CI and a sign-flip p-value.

    The interval resamples cases (pairs) with replacement and takes percentiles of the mean
    difference. The p-value is from :func:`sign_flip_test`; ``alternative="less"`` asks whether
    ``a`` is lower than ``b`` (a drop when ``a`` is the new run of a higher-is-better metric).

    Args:
        a: per-case values of the first run.
        b: per-case values of the second run, in the same case order.
        confidence: two-sided coverage of the interval.
        n_resamples: bootstrap resamples and Monte Carlo sign patterns.
        seed: seed for both.
        alternative: ``two-sided``, ``less`` or ``greater``.

    Raises:
        ValueError: lengths differ, no pairs, NaN, or a bad confidence/alternative.

    """
    _check_alternative(alternative)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    xa, xb = as_array(a, "a"), as_array(b, "b")
    if xa.size != xb.size:
        raise ValueError(f"paired samples differ in length: {xa.size} and {xb.size}")
    if xa.size == 0:
        raise ValueError("no pairs")
    d = xa - xb
    mean = float(d.mean())
    if d.size == 1 or np.all(d == d[0]):
        low = high = mean
    else:
        boot = resample_means(d, n_resamples, np.random.default_rng(seed))
        alpha = (1.0 - confidence) / 2.0
        low, high = (float(v) for v in np.percentile(boot, [100 * alpha, 100 * (1 - alpha)]))
    p, exact = sign_flip_test(d, alternative=alternative, n_resamples=n_resamples, seed=seed)
    nz = int((np.abs(d) > 1e-12 * max(1.0, float(np.abs(d).max()))).sum())
    return PairedResult(mean, low, high, p, int(d.size), nz, exact)


def mcnemar_exact(b: int, c: int, alternative: Alternative = "two-sided") -> float:
    """Exact McNemar test on the discordant pairs of a paired pass/fail table.

    ``b`` counts cases that passed before and fail now, ``c`` those that failed before and pass
    now. Under the null hypothesis each discordant case is equally likely to go either way, so
    ``b ~ Bin(b + c, 1/2)``. ``two-sided`` doubles the smaller tail (capped at 1), as
    statsmodels' ``mcnemar(exact=True)`` does; ``greater`` tests for more pass-to-fail than
    fail-to-pass flips (a regression), ``less`` for fewer.

    Returns:
        The p-value; 1.0 when there are no discordant pairs.

    """
    _check_alternative(alternative)
    if b < 0 or c < 0:
        raise ValueError("McNemar counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    if alternative == "greater":
        return float(binom.sf(b - 1, n, 0.5))
    if alternative == "less":
        return float(binom.cdf(b, n, 0.5))
    return min(1.0, 2.0 * float(binom.cdf(min(b, c), n, 0.5)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment for a family of tests (controls the family-wise error).

    The i-th smallest p-value is multiplied by ``m - i`` (i from 0), made non-decreasing in
    that order and capped at 1. Reject where the adjusted value is at most alpha.

    Returns:
        Adjusted p-values in the input order.

    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("p_values must be one-dimensional")
    if p.size and (np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m, dtype=np.float64)
    out[order] = adjusted_sorted
    return [float(v) for v in out]
