"""Quantities with units in scenario files.

A bare number is the field's SI unit; a string carries its unit: ``"60 km/h"``, ``"3.5 m"``,
``"2 s"``, ``"6 m/s^2"``, ``"30 deg"``, ``"5 NM"``, ``"1000 ft"``, ``"12 kn"``, ``"0.774 g"``.
Conversion happens once, at load; the engine sees float64 SI values only.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from sim.errors import UnitError, short_repr

G0_MPS2 = 9.80665  # standard gravity (ISO 80000-3)

# dimension -> {unit spelling: factor to SI}
_UNITS: dict[str, dict[str, float]] = {
    "length": {
        "m": 1.0,
        "km": 1000.0,
        "cm": 0.01,
        "mm": 0.001,
        "ft": 0.3048,
        "NM": 1852.0,
        "nm": 1852.0,
        "mi": 1609.344,
    },
    "speed": {
        "m/s": 1.0,
        "km/h": 1 / 3.6,
        "kph": 1 / 3.6,
        "mph": 0.44704,
        "kn": 1852.0 / 3600.0,
        "kt": 1852.0 / 3600.0,
        "ft/min": 0.00508,
        "fpm": 0.00508,
    },
    "time": {"s": 1.0, "ms": 0.001, "min": 60.0, "h": 3600.0},
    "acceleration": {"m/s^2": 1.0, "m/s²": 1.0, "m/s2": 1.0, "g": G0_MPS2},
    "jerk": {"m/s^3": 1.0, "m/s³": 1.0, "m/s3": 1.0},
    "angle": {"rad": 1.0, "deg": math.pi / 180.0, "°": math.pi / 180.0},
    "angular_rate": {"rad/s": 1.0, "deg/s": math.pi / 180.0, "°/s": math.pi / 180.0},
    "frequency": {"Hz": 1.0},
    "dimensionless": {"%": 0.01},
}

SI_UNIT = {
    "length": "m",
    "speed": "m/s",
    "time": "s",
    "acceleration": "m/s^2",
    "jerk": "m/s^3",
    "angle": "rad",
    "angular_rate": "rad/s",
    "frequency": "Hz",
    "dimensionless": "",
}
EXAMPLE = {
    "length": "3.5 m",
    "speed": "60 km/h",
    "time": "2 s",
    "acceleration": "6 m/s^2",
    "jerk": "12 m/s^3",
    "angle": "30 deg",
    "angular_rate": "3 deg/s",
    "frequency": "10 Hz",
    "dimensionless": "50 %",
}
_ANY_UNIT = {u: (dim, f) for dim, table in _UNITS.items() for u, f in table.items()}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def _expected(dimension: str, value: Any) -> str:
    return f"expected a {_word(dimension)} like '{EXAMPLE[dimension]}', got {short_repr(value)}"


def parse_quantity(value: Any, dimension: str) -> float:
    """Return ``value`` in SI units of ``dimension``.

    >>> round(parse_quantity("60 km/h", "speed"), 4)
    16.6667
    >>> parse_quantity(3, "length")
    3.0
    """
    if isinstance(value, bool):
        raise UnitError(_expected(dimension, value))
    if isinstance(value, float):
        out = value
    elif isinstance(value, int):
        try:
            out = float(value)
        except OverflowError:  # hundreds of digits: no float holds it
            out = math.inf
    elif isinstance(value, str):
        m = _NUMBER.match(value)
        if not m:
            raise UnitError(_expected(dimension, value))
        number, unit = float(m.group(1)), m.group(2)
        if not unit:
            out = number
        else:
            table = _UNITS[dimension]
            if unit not in table:
                known = ", ".join(table)
                raise UnitError(
                    _expected(dimension, value) + f" (units for a {_word(dimension)}: {known})"
                )
            out = number * table[unit]
    else:
        raise UnitError(_expected(dimension, value))
    if not math.isfinite(out):
        raise UnitError(f"expected a finite {_word(dimension)}, got {short_repr(value)}")
    limit = MAGNITUDE_LIMIT.get(dimension)
    if limit is not None and abs(out) > limit:
        raise UnitError(
            f"expected a {_word(dimension)} within ±{limit:g} {SI_UNIT[dimension]} (no "
            f"scenario needs more), got {short_repr(value)}"
        )
    return out


#: Largest magnitudes a quantity may have: far beyond any scenario (100,000 km; 100 km/s),
#: and small enough that geometry built from them stays exact (GEOS fails near 1e308).
MAGNITUDE_LIMIT = {"length": 1e8, "speed": 1e5}


def parse_any(value: Any) -> float:
    """SI value of a quantity whose dimension is read from its unit (for parameters)."""
    if isinstance(value, float):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise UnitError(f"a number too large for a float: {short_repr(value)}") from None
    if isinstance(value, str):
        m = _NUMBER.match(value)
        if m and (not m.group(2) or m.group(2) in _ANY_UNIT):
            dim = _ANY_UNIT[m.group(2)][0] if m.group(2) else "dimensionless"
            return parse_quantity(value if m.group(2) else float(m.group(1)), dim)
    raise UnitError(f"expected a number or a quantity like '60 km/h', got {short_repr(value)}")


def unit_of(value: Any) -> str | None:
    """The unit a quantity is written in ('60 km/h' → 'km/h'); None for bare numbers."""
    if isinstance(value, str):
        m = _NUMBER.match(value)
        if m and m.group(2) in _ANY_UNIT:
            return m.group(2)
    return None


def dimension_of(value: Any) -> str | None:
    """The dimension a quantity is written in ('60 km/h' → 'speed'); None without a unit."""
    unit = unit_of(value)
    return _ANY_UNIT[unit][0] if unit else None


def from_si(value: float, unit: str) -> float:
    """``value`` (SI) expressed in ``unit`` (one of the units quantities may be written in)."""
    return value / _ANY_UNIT[unit][1]


def _word(dimension: str) -> str:
    return dimension.replace("_", " ")


def _quantity_type(dimension: str) -> Any:
    units = ", ".join(_UNITS[dimension])
    schema = {
        "anyOf": [
            {"type": "number"},
            {"type": "string", "pattern": r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*\S*\s*$"},
        ],
        "description": f"{_word(dimension)}: a bare number in {SI_UNIT[dimension] or 'SI'} "
        f"or a string with a unit ({units}), e.g. '{EXAMPLE[dimension]}'",
        # kept when a field's own description replaces the one above (docs, editors)
        "x-quantity": dimension,
        "x-unit": SI_UNIT[dimension],
        "x-example": EXAMPLE[dimension],
    }
    return Annotated[
        float,
        BeforeValidator(lambda v, _d=dimension: parse_quantity(v, _d)),
        WithJsonSchema(schema),
    ]


Length = _quantity_type("length")
Speed = _quantity_type("speed")
Duration = _quantity_type("time")
Acceleration = _quantity_type("acceleration")
Jerk = _quantity_type("jerk")
Angle = _quantity_type("angle")
AngularRate = _quantity_type("angular_rate")

_FLIGHT_LEVEL = re.compile(r"^\s*FL\s*(\d{1,3})\s*$", re.IGNORECASE)


def parse_altitude(value: Any) -> float:
    """Altitude in metres: a length (``"1000 ft"``, ``"300 m"``, bare metres) or a flight
    level ``"FL350"`` = 35,000 ft on the standard pressure setting (ICAO Annex 2; this
    sandbox has no pressure model, so a flight level is that many hundred feet).

    >>> round(parse_altitude("FL350"), 1)
    10668.0
    """
    if isinstance(value, str):
        m = _FLIGHT_LEVEL.match(value)
        if m:
            return int(m.group(1)) * 100 * 0.3048
    return parse_quantity(value, "length")


Altitude = Annotated[
    float,
    BeforeValidator(parse_altitude),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": "altitude: bare metres, a length with a unit ('1000 ft', '300 m') "
            "or a flight level ('FL350' = 35,000 ft)",
            "x-quantity": "altitude",
            "x-unit": "m",
            "x-example": "FL350",
        }
    ),
]
