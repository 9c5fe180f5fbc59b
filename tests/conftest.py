"""Shared fixtures. Hypothesis runs derandomized in CI (HYPOTHESIS_PROFILE=ci)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ROAD_SUITE = SCENARIOS / "suites" / "road.yaml"


PGROUND = [sys.executable, "-m", "sim"]


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def passed_and_saveable(outcome) -> None:
    """The run passed, and its metrics document is plain JSON (a numpy bool in a metric's
    details once made `pground run --out` of a rail scenario an internal error)."""
    import json

    from sim.runner.run import metrics_document

    assert outcome.verdict == "pass", [c for c in outcome.criteria if not c.passed]
    json.dumps(metrics_document(outcome))  # no default=: numpy scalars would raise


def pground(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict | None = None):
    """``python -m sim ARGS`` as a user would run it (text output captured)."""
    return subprocess.run(
        [*PGROUND, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


@pytest.fixture
def write_yaml(tmp_path: Path):
    """Write a scenario text into a temporary file and return its path."""

    def _write(text: str, name: str = "s.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write


MINIMAL = """\
schema_version: 1
id: minimal
name: minimal
description: a straight road, one controlled car
dt: 0.1 s
duration: 5 s
map:
  road:
    roads:
      - id: r
        geometry: [{line: 500 m}]
        lanes: 2
entities:
  - id: ego
    domain: road
    road: r
    s: 10 m
    speed: 20 m/s
    agent: agents.road.null:ConstantSpeed
"""


def reported_campaign(folder: Path, suite_text: str) -> Path:
    """Write ``suite_text`` as a suite in ``folder``, run it serially into ``folder/c`` and
    write its report; returns the campaign folder."""
    from rich.console import Console

    from metrics.report import write
    from sim.runner.campaign import run_campaign
    from sim.runner.suite import load_suite

    suite = folder / "s.yaml"
    suite.write_text(suite_text)
    c = folder / "c"
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    run_campaign(load_suite(suite), c, executor="serial", console=quiet, progress=False)
    write(c)
    return c
