"""Report statistics against the known values of shared/reference/regulatory.md §10."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.stats import clopper_pearson, poisson_rate, zero_failure_upper


def test_clopper_pearson_known_values():
    """k=0, n=1000 -> U 0.00368; k=2 -> [0.000242, 0.00721]; k=5, n=10 000 ->
    [0.000162, 0.00117]."""
    assert clopper_pearson(0, 1000).high == pytest.approx(0.00368, abs=1e-5)
    iv = clopper_pearson(2, 1000)
    assert (iv.low, iv.high) == pytest.approx((0.000242, 0.00721), rel=5e-3)
    iv = clopper_pearson(5, 10_000)
    assert (iv.low, iv.high) == pytest.approx((0.000162, 0.00117), rel=5e-3)


def test_rule_of_three():
    """Zero failures: 1 − 0.05^(1/n); n = 1000 -> 0.00299; about 3/n."""
    assert zero_failure_upper(1000) == pytest.approx(0.00299, abs=1e-5)
    assert zero_failure_upper(3000) * 3000 == pytest.approx(3.0, rel=0.01)


def test_poisson_bounds():
    """k = 0, 1, 2 -> 2.996/T, 4.744/T, 6.296/T (one-sided 95 % = high end of two-sided 90 %)."""
    for k, c in ((0, 2.996), (1, 4.744), (2, 6.296)):
        assert poisson_rate(k, 100.0, 0.90).high == pytest.approx(c / 100.0, abs=2e-5)
    assert poisson_rate(0, 10.0).low == 0.0


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_contains_the_estimate(kn):
    k, n = kn
    iv = clopper_pearson(k, n)
    assert 0 <= iv.low <= k / n <= iv.high <= 1
    assert not math.isnan(iv.low + iv.high)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        clopper_pearson(3, 2)
    with pytest.raises(ValueError):
        poisson_rate(1, 0.0)
