"""One exception hierarchy; the CLI turns each into one line on stderr and an exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ProvingGroundError(Exception):
    """Root of every error a user can cause. ``exit_code`` is what the CLI returns."""

    exit_code = 2


class ScenarioError(ProvingGroundError):
    """A scenario or suite file is malformed. ``problems`` holds one line per problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class UnitError(ProvingGroundError, ValueError):
    """A quantity could not be parsed (wrong unit, wrong dimension, not a number)."""


class AgentError(ProvingGroundError):
    """An agent could not be loaded, or broke the protocol in a way that ends the run."""

    exit_code = 3


class UsageError(ProvingGroundError):
    """Bad command-line usage (unknown option values, existing output folder, ...)."""


def suggest(name: str, known: Iterable[str]) -> str:
    """' Did you mean 'x'?' when a close match exists, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
