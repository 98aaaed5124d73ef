"""Statistics for scores and gates: bootstrap and Wilson intervals, paired tests, power.

All resampling is numpy-vectorised and seeded, so results are reproducible.
"""

from ragwacht.stats.intervals import (
    bootstrap_indices,
    bootstrap_mean_ci,
    bootstrap_percentile_ci,
    percentile,
    percentile_interval,
    wilson_interval,
)
from ragwacht.stats.paired import (
    PairedResult,
    holm,
    mcnemar_exact,
    paired_difference,
    sign_flip_test,
)
from ragwacht.stats.power import min_detectable_drop, paired_min_detectable_drop

__all__ = [
    "PairedResult",
    "bootstrap_indices",
    "bootstrap_mean_ci",
    "bootstrap_percentile_ci",
    "holm",
    "mcnemar_exact",
    "min_detectable_drop",
    "paired_difference",
    "paired_min_detectable_drop",
    "percentile",
    "percentile_interval",
    "sign_flip_test",
    "wilson_interval",
]
