"""Quantities with units in scenario files."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import UnitError
from sim.units import parse_any, parse_quantity


@pytest.mark.parametrize(
    ("text", "dim", "si"),
    [
        ("60 km/h", "speed", 60 / 3.6),
        ("12 kn", "speed", 12 * 1852 / 3600),
        ("1000 ft", "length", 304.8),
        ("5 NM", "length", 9260.0),
        ("2 s", "time", 2.0),
        ("500 ms", "time", 0.5),
        ("6 m/s^2", "acceleration", 6.0),
        ("0.774 g", "acceleration", 0.774 * 9.80665),
        ("30 deg", "angle", math.pi / 6),
        ("3.5", "length", 3.5),
        (7, "time", 7.0),
    ],
)
def test_parse_known_units(text, dim, si):
    """Each documented unit converts to SI."""
    assert parse_quantity(text, dim) == pytest.approx(si)


def test_wrong_dimension_names_the_expected_kind():
    """A time where a speed belongs is refused with an example of the right form."""
    with pytest.raises(UnitError, match=r"expected a speed like '60 km/h', got '3 s'"):
        parse_quantity("3 s", "speed")


@pytest.mark.parametrize("bad", ["fast", "nan", True, None, [1], "1e999 m"])
def test_rejects_non_quantities(bad):
    """Words, booleans, non-finite and non-scalar values are not quantities."""
    with pytest.raises(UnitError):
        parse_quantity(bad, "length")


def test_parse_any_reads_dimension_from_unit():
    """Parameters carry their own unit; a percentage is a fraction."""
    assert parse_any("100 %") == 1.0
    assert parse_any("36 km/h") == pytest.approx(10.0)
    with pytest.raises(UnitError):
        parse_any("12 parsecs")


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_bare_numbers_are_si(x):
    """A bare number is the field's SI value, as a number or as text."""
    assert parse_quantity(x, "length") == x
    assert parse_quantity(repr(x), "length") == pytest.approx(x)
