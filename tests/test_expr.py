"""The safe parameter expression language."""

from __future__ import annotations

import pytest

from sim.scenario.expr import ExpressionError, evaluate, names


def test_arithmetic_and_functions():
    """Arithmetic, precedence and the four functions."""
    assert evaluate("a + b * 2", {"a": 1, "b": 3}) == 7
    assert evaluate("-(a - 10) ** 2 / 4", {"a": 8}) == -1
    assert evaluate("max(a, 3) + abs(-2) + sqrt(16) + min(1, 2)", {"a": 1}) == 10


def test_comparisons_and_logic():
    """Chained comparisons and boolean operators, as suite constraints need."""
    assert evaluate("0 < a <= 5 and not a == 3", {"a": 4}) is True
    assert evaluate("a > 5 or a < 0", {"a": 4}) is False


@pytest.mark.parametrize(
    "text",
    ["__import__('os')", "a.real", "[1, 2]", "open('x')", "lambda: 1", "a if a else 2", "'text'"],
)
def test_anything_else_is_refused(text):
    """Calls beyond the four functions, attributes, literals of other types: refused."""
    with pytest.raises(ExpressionError):
        evaluate(text, {"a": 1.0})


def test_unknown_name_suggests():
    """An unknown parameter is named, with the closest known one."""
    with pytest.raises(ExpressionError, match=r"unknown parameter 'ego_sped'.*'ego_speed'"):
        evaluate("ego_sped * 2", {"ego_speed": 1.0})


def test_names_lists_parameters_only():
    assert names("max(a, b) + c") == {"a", "b", "c"}
