"""Confidence intervals for one run: bootstrap (percentile or BCa), Wilson, percentiles.

Everything is numpy-vectorised and seeded: the same values and seed always give the same
interval, so a report and a gate computed from one record agree to the last digit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

FloatArray = NDArray[np.float64]
BootstrapMethod = Literal["percentile", "bca"]

# Resampled index matrices are built in chunks of about this many cells, so that 10,000
# resamples of a 5,000-case set never need gigabytes.
_CHUNK_CELLS = 2_000_000
# Sets with at most this many distinct values are resampled through multinomial counts over the
# distinct values: the same distribution as resampling cases, at a fraction of the cost
# (binary pass/fail metrics have two distinct values).
_MAX_DISTINCT_FOR_COUNTS = 64


def as_array(values: Sequence[float] | FloatArray, name: str = "values") -> FloatArray:
    """Values as a 1-D float array; raises ValueError on NaN, infinity or a wrong shape."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values; drop not-scored cases first")
    return arr


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


def resample_means(x: FloatArray, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """Means of ``n_resamples`` bootstrap resamples (cases drawn with replacement) of ``x``."""
    n = x.size
    uniq, counts = np.unique(x, return_counts=True)
    if uniq.size <= _MAX_DISTINCT_FOR_COUNTS and uniq.size < n:
        draws = rng.multinomial(n, counts / n, size=n_resamples)
        return np.asarray(draws @ uniq / n, dtype=np.float64)
    out = np.empty(n_resamples, dtype=np.float64)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(m, n))
        out[start : start + m] = x[idx].mean(axis=1)
    return out


def _resample_stat(
    x: FloatArray,
    stat: Callable[[FloatArray], FloatArray],
    n_resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    """``stat`` (applied along axis 1) of bootstrap resamples of ``x``."""
    n = x.size
    out = np.empty(n_resamples, dtype=np.float64)
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(m, n))
        out[start : start + m] = stat(x[idx])
    return out


def bootstrap_indices(n: int, n_resamples: int, seed: int = 0) -> NDArray[np.int64]:
    """Row ``r`` holds the item indices of bootstrap resample ``r`` (items drawn with replacement).

    For statistics of paired items that are not a mean (a judge's balanced accuracy over
    label/prediction pairs): resample the indices here, compute the statistic per row, and
    take :func:`percentile_interval` of the results.
    """
    if n < 1:
        raise ValueError("no items to resample")
    rng = np.random.default_rng(seed)
    return np.asarray(rng.integers(0, n, size=(n_resamples, n)), dtype=np.int64)


def percentile_interval(
    boot: Sequence[float] | FloatArray, confidence: float = 0.95
) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates: their ``(1 ± confidence) / 2`` quantiles."""
    _check_confidence(confidence)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(as_array(boot, "bootstrap replicates"), [alpha, 1.0 - alpha])
    return float(low), float(high)


def _percentile_of_score(boot: FloatArray, score: float) -> float:
    # Mid-rank, as scipy.stats.bootstrap does, so ties (common with binary data) sit centrally.
    return float(((boot < score).sum() + (boot <= score).sum()) / (2.0 * boot.size))


def bootstrap_mean_ci(
    values: Sequence[float] | FloatArray,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    *,
    method: BootstrapMethod = "percentile",
) -> tuple[float, float]:
    """Bootstrap confidence interval for the mean of ``values``.

    Cases are resampled with replacement ``n_resamples`` times with a generator seeded by
    ``seed``. ``method="percentile"`` (the default) takes the ``(1-c)/2`` and ``(1+c)/2``
    percentiles (numpy's linear interpolation) of the resampled means; ``method="bca"`` adjusts
    those percentiles for bias and skew (Efron's BCa, with the jackknife acceleration), which
    is more accurate for small, skewed sets. Percentile is the default because it is the
    simplest to explain and its coverage is adequate from about 30 cases up.

    Args:
        values: per-case scores (not-scored cases already removed).
        confidence: two-sided coverage, e.g. 0.95.
        n_resamples: number of bootstrap resamples.
        seed: seed of ``numpy.random.default_rng``.
        method: ``percentile`` or ``bca``.

    Returns:
        ``(low, high)``; a single value or constant values give a zero-width interval.

    Raises:
        ValueError: no values, NaN, or a confidence outside (0, 1).

    """
    _check_confidence(confidence)
    x = as_array(values)
    if x.size == 0:
        raise ValueError("no values to bootstrap")
    theta = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return theta, theta
    rng = np.random.default_rng(seed)
    boot = resample_means(x, n_resamples, rng)
    alpha = (1.0 - confidence) / 2.0
    if method == "percentile":
        lo_q, hi_q = alpha, 1.0 - alpha
    elif method == "bca":
        lo_q, hi_q = _bca_levels(x, boot, theta, alpha)
    else:
        raise ValueError(f"unknown bootstrap method {method!r}")
    low, high = np.percentile(boot, [100.0 * lo_q, 100.0 * hi_q])
    return float(low), float(high)


def _bca_levels(x: FloatArray, boot: FloatArray, theta: float, alpha: float) -> tuple[float, float]:
    """Percentile levels of the BCa interval for the mean."""
    p0 = _percentile_of_score(boot, theta)
    z0 = float(norm.ppf(p0)) if 0.0 < p0 < 1.0 else 0.0
    n = x.size
    jack = (x.sum() - x) / (n - 1)  # leave-one-out means
    dev = jack.mean() - jack
    denom = 6.0 * float((dev**2).sum()) ** 1.5
    acc = float((dev**3).sum()) / denom if denom > 0 else 0.0
    levels = []
    for a in (alpha, 1.0 - alpha):
        za = float(norm.ppf(a))
        levels.append(float(norm.cdf(z0 + (z0 + za) / (1.0 - acc * (z0 + za)))))
    return levels[0], levels[1]


def bootstrap_percentile_ci(
    values: Sequence[float] | FloatArray,
    q: float,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval for the ``q``-th percentile of ``values``.

    Used for thresholds on measures such as latency p95. Same resampling and seed as
    :func:`bootstrap_mean_ci`.
    """
    _check_confidence(confidence)
    x = as_array(values)
    if x.size == 0:
        raise ValueError("no values to bootstrap")
    point = percentile(x, q)
    if x.size == 1 or np.all(x == x[0]):
        return point, point
    rng = np.random.default_rng(seed)
    boot = _resample_stat(
        x, lambda m: np.asarray(np.percentile(m, q, axis=1), dtype=np.float64), n_resamples, rng
    )
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(boot, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return float(low), float(high)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a rate of ``k`` successes in ``n`` trials.

    Unlike the normal (Wald) interval it never leaves [0, 1] and keeps its coverage near 0 and
    1 and for small ``n``, which is why single rates (pass rate, hallucination rate) use it.

    Raises:
        ValueError: ``n < 1`` or ``k`` outside ``0..n``.

    """
    _check_confidence(confidence)
    if n < 1:
        raise ValueError("wilson_interval needs n >= 1")
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is outside 0..{n}")
    z = float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # At k = 0 or k = n the bound is exactly 0 or 1; keep rounding from moving it inside.
    return (0.0 if k == 0 else low), (1.0 if k == n else high)


def percentile(values: Sequence[float] | FloatArray, q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between order statistics.

    This is numpy's default and spreadsheet ``PERCENTILE.INC``: the p95 of 1..100 is 95.05.

    Raises:
        ValueError: no values or ``q`` outside [0, 100].

    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must lie in [0, 100], got {q}")
    x = as_array(values)
    if x.size == 0:
        raise ValueError("no values")
    return float(np.percentile(x, q))
