"""The one classification of a campaign's runs, used by every output (terminal, summary.json,
report.json/html, junit.xml, diff, exit codes).

A run's verdict is one of ``sim.errors.VERDICTS`` (pass, fail, error, invalid). A campaign
run with a reference agent adds one class: a ``fail`` the reference agent failed too, by
colliding, in a scenario type its model covers, is ``not_preventable`` — not a failure of the
system under test. Everything else keeps its verdict.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sim.errors import CLASSES


def match_key(row: dict[str, Any]) -> str:
    """What pairs a run with its reference run (and a run across two campaigns): the
    scenario file's digest, the parameters and the seed."""
    return json.dumps([row["file_sha256"], row.get("params") or {}, row["seed"]], sort_keys=True)


def _collided(row: dict[str, Any]) -> bool:
    c = (row.get("metrics") or {}).get("collisions")
    try:
        return c is not None and float(c) != 0.0
    except (TypeError, ValueError):
        return False


def classify(rows: list[dict[str, Any]], reference_agent: str | None) -> list[dict[str, Any]]:
    """Annotate and return the system-under-test rows of ``rows``: ``class`` (one of
    ``CLASSES``), ``preventable``, ``reference_verdict``, ``reference_note`` and, for a run
    that is not preventable, ``reference`` (the reference run's verdict, collisions, digest
    and the command that reproduces it)."""
    from sim.runner.outcomes import in_scope

    sut = [r for r in rows if (r.get("role") or "sut") == "sut"]
    ref = {match_key(r): r for r in rows if r.get("role") == "reference"}
    scopes: dict[str, Any] = {}
    for r in sut:
        partner = ref.get(match_key(r))
        r["reference_verdict"] = partner["verdict"] if partner else None
        r["reference_note"] = None
        r["reference"] = None
        if reference_agent and not in_scope(reference_agent, r["scenario_file"], scopes):
            # a reference model says nothing where it is not defined: the failure stands
            r["reference_note"] = "no reference model for this scenario type"
            partner = None
        r["preventable"] = not (
            r["verdict"] == "fail"
            and partner is not None
            and partner["verdict"] == "fail"
            and _collided(partner)
        )
        r["class"] = r["verdict"] if r["preventable"] else "not_preventable"
        assert r["class"] in CLASSES, r["class"]
        if partner is not None and not r["preventable"]:
            r["reference"] = partner
    return sut


def counts(sut: list[dict[str, Any]]) -> dict[str, int]:
    """Runs per class, every class listed (0 included), in ``CLASSES`` order."""
    c = Counter(r["class"] for r in sut)
    return {k: c[k] for k in CLASSES}


def exit_code(class_counts: dict[str, int]) -> int:
    """A campaign's exit code from its classes: 2 any invalid, 3 any error, 1 any failure of
    the system (not-preventable ones are not), else 0."""
    if class_counts.get("invalid"):
        return 2
    if class_counts.get("error"):
        return 3
    return 1 if class_counts.get("fail") else 0
