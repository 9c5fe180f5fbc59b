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
    """' Did you mean 'x'?' when a close match exists, or a single known name that ``name``
    abbreviates ('decel' for 'deceleration', 'to' for 'to_speed'), else ''."""
    names = list(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close and len(name) >= 2:
        close = [k for k in names if k.lower().startswith(name.lower())]
    return f" Did you mean '{close[0]}'?" if len(close) == 1 else ""


#: Typed agent faults (the ``fault`` of an ``agent_fault`` event), docs/agent-protocol.md §5.
FAULT_KINDS = {
    "reset_raised": "reset() raised (in-process agent)",
    "act_raised": "act() raised (in-process agent)",
    "invalid_action": "the action has the wrong type, shape or fields",
    "nonfinite_action": "the action holds NaN or inf",
    "timeout": "no answer within the step deadline",
    "unresponsive": "several deadlines missed in a row: the agent process was stopped",
    "malformed": "the agent wrote something that is not a protocol message",
    "protocol": "a well-formed message that breaks the protocol (version, order, type)",
    "exit": "the agent process exited while it still had work",
    "crash": "the agent process was killed by a signal (e.g. its CPU or memory limit)",
}


class AgentFault(Exception):
    """An agent broke its contract during a run (not a user error: the run records it as an
    ``agent_fault`` event). ``fatal``: the agent cannot be asked again in this run."""

    def __init__(
        self, kind: str, message: str, *, fatal: bool = False, details: dict | None = None
    ) -> None:
        super().__init__(message)
        assert kind in FAULT_KINDS, kind
        self.kind, self.fatal, self.details = kind, fatal, dict(details or {})


#: The one verdict classification every output uses (runs, campaigns, reports, JUnit, exit
#: codes). 'invalid': the run cannot judge the system (it started in contact, or a scripted
#: stimulus never happened and nothing failed). 'not preventable' is not a verdict but a
#: campaign's label of a 'fail' the reference agent failed too.
VERDICTS: tuple[str, ...] = ("pass", "fail", "error", "invalid")
#: The classes of a campaign's runs: the verdicts plus 'not_preventable' (see
#: sim.runner.classes), in the order every output lists them.
CLASSES: tuple[str, ...] = ("pass", "fail", "not_preventable", "error", "invalid")
CLASS_LABELS = {
    "pass": "pass",
    "fail": "fail",
    "not_preventable": "not preventable",
    "error": "error",
    "invalid": "invalid",
}


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message echoes what the file said,
    not the 400 digits of it."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
