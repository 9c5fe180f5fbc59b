"""pground selftest: the models against closed forms, as executed evidence."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from sim.selftest import run
from tests.conftest import ROOT


def test_selftest_passes_and_records_versions(tmp_path):
    out = tmp_path / "selftest.json"
    r = subprocess.run(
        [sys.executable, "-m", "sim", "selftest", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert doc["passed"] and len(doc["checks"]) == 7
    assert {"proving-ground", "numpy", "python"} <= set(doc["versions"])
    assert all(c["passed"] and c["source"] for c in doc["checks"])


def test_a_broken_model_fails_the_selftest(monkeypatch):
    """A stopping distance 1 % short (the kind of error the jerk-limit fix removed) is
    caught: the check can fail."""
    from sim.domains.road import dynamics as dyn

    real = dyn.advance_speed

    def short(v: np.ndarray, a: np.ndarray, dt: float):
        v2, d = real(v, a, dt)
        return v2, 0.99 * d

    monkeypatch.setattr(dyn, "advance_speed", short)
    doc = run()
    assert not doc["passed"]
    failed = {c["name"] for c in doc["checks"] if not c["passed"]}
    assert "road: stopping distance at constant deceleration" in failed
