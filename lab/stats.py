"""The statistics behind "is B better than A?": a paired bootstrap confidence interval of the
difference and an exact McNemar test on paired pass/fail outcomes.

Scenarios are paired by persona × repetition (the same seed), so what varies between A and B is
the prompt version, not the customer. A single run and a point estimate cannot tell a real change
from noise; these two can, and they are cheap at the sizes suites have (tens to hundreds of pairs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import binomtest

Verdict = Literal["better", "worse", "no detectable difference", "no paired data"]
BOOTSTRAP_SAMPLES = 10_000
ALPHA = 0.05


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def paired_bootstrap_ci(a: np.ndarray, b: np.ndarray, level: float = 1 - ALPHA,
                        samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> Interval:
    """Percentile interval of mean(b - a), resampling the pairs. Seeded: the same data give the
    same interval, so a report can be recomputed exactly."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    if a.size == 0:
        return Interval(float("nan"), float("nan"))
    diff = b - a
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(low), float(high))


@dataclass(frozen=True)
class McNemar:
    a_only: int  # pairs where A passed and B failed
    b_only: int  # pairs where B passed and A failed
    p_value: float


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> McNemar:
    """Exact (binomial) McNemar test on paired booleans: only the discordant pairs carry
    information, and under "no difference" each is equally likely to favour A or B."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else float(binomtest(b_only, discordant, 0.5).pvalue)
    return McNemar(a_only, b_only, p)


def verdict(delta: float, interval: Interval, test: McNemar | None, alpha: float = ALPHA) -> Verdict:
    """A difference counts only when the interval excludes zero and, where the outcomes are
    pass/fail, McNemar agrees; otherwise the honest answer is "no detectable difference"."""
    significant = interval.excludes_zero() and (test is None or test.p_value < alpha)
    if not significant or delta == 0:
        return "no detectable difference"
    return "better" if delta > 0 else "worse"


def cluster_bootstrap_ci(values: np.ndarray, clusters: np.ndarray, level: float = 1 - ALPHA,
                         samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> Interval:
    """Percentile interval of a pooled mean (e.g. completeness over scenario × question) that
    resamples whole clusters (scenarios): the questions of one conversation are not independent,
    so resampling them one by one would give an interval that is too narrow."""
    values, clusters = np.asarray(values, dtype=float), np.asarray(clusters)
    keep = ~np.isnan(values)
    values, clusters = values[keep], clusters[keep]
    if values.size == 0:
        return Interval(float("nan"), float("nan"))
    labels, index = np.unique(clusters, return_inverse=True)
    sums = np.bincount(index, weights=values, minlength=labels.size)
    counts = np.bincount(index, minlength=labels.size).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, labels.size, size=(samples, labels.size))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(low), float(high))
