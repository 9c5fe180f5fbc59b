"""Shared fixtures. Hypothesis runs derandomized in CI (HYPOTHESIS_PROFILE=ci)."""

from __future__ import annotations

import os
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
