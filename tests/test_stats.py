"""The statistics of `exolab compare`: exact McNemar values, the bootstrap's coverage, verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.stats import Interval, McNemar, mcnemar_exact, paired_bootstrap_ci, verdict


def test_mcnemar_counts_only_discordant_pairs() -> None:
    a = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    b = np.array([0, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
    test = mcnemar_exact(a, b)
    assert (test.a_only, test.b_only) == (6, 1)
    assert test.p_value == pytest.approx(2 * (1 + 7) / 2**7)  # two-sided binomial, 1 of 7


def test_mcnemar_without_discordant_pairs_is_one() -> None:
    same = np.array([True, False, True])
    assert mcnemar_exact(same, same).p_value == 1.0


def test_mcnemar_six_of_six_is_significant() -> None:
    assert mcnemar_exact(np.ones(6, bool), np.zeros(6, bool)).p_value == pytest.approx(2 / 64)


def test_bootstrap_is_reproducible_from_its_seed() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random(30), rng.random(30)
    assert paired_bootstrap_ci(a, b, seed=3) == paired_bootstrap_ci(a, b, seed=3)


def test_bootstrap_refuses_unpaired_samples() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_ci(np.zeros(3), np.zeros(4))


@settings(max_examples=6, deadline=None)
@given(p_a=st.floats(0.2, 0.8), shift=st.floats(-0.15, 0.15), seed=st.integers(0, 10_000))
def test_bootstrap_interval_covers_the_true_difference_at_about_the_nominal_rate(
        p_a: float, shift: float, seed: int) -> None:
    """Synthetic paired pass/fail data with a known difference of means: over many datasets the
    95 % interval must contain the truth about 95 % of the time (percentile intervals on 60 pairs
    run slightly narrow, hence the lower bound of 0.90)."""
    rng = np.random.default_rng(seed)
    p_b = min(max(p_a + shift, 0.05), 0.95)
    truth, trials, covered = p_b - p_a, 200, 0
    for k in range(trials):
        a = rng.random(60) < p_a
        b = rng.random(60) < p_b
        interval = paired_bootstrap_ci(a, b, samples=2000, seed=k)
        covered += interval.low <= truth <= interval.high
    assert 0.90 <= covered / trials <= 0.99


@pytest.mark.parametrize(("delta", "interval", "p", "expected"), [
    (-0.5, Interval(-0.7, -0.3), 0.001, "worse"),
    (0.5, Interval(0.3, 0.7), 0.001, "better"),
    (-0.1, Interval(-0.3, 0.1), 0.001, "no detectable difference"),  # the interval includes zero
    (-0.2, Interval(-0.3, -0.1), 0.2, "no detectable difference"),  # McNemar disagrees
])
def test_a_verdict_needs_the_interval_and_the_test_to_agree(delta: float, interval: Interval, p: float,
                                                            expected: str) -> None:
    assert verdict(delta, interval, McNemar(3, 0, p)) == expected
