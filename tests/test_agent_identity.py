"""What was tested, re-hashed with ordinary tools: an agent's recorded digest is the
SHA-256 of the ``sha256sum`` listing of its files (agents/identity.py)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.runner.run import run_loaded
from sim.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS

SHA256SUM = shutil.which("sha256sum")


def _sha256sum(paths: list[str], cwd: Path) -> str:
    """``sha256sum PATHS | sha256sum`` (coreutils where present; the same bytes otherwise)."""
    if SHA256SUM:
        listing = subprocess.run(
            [SHA256SUM, *paths], cwd=cwd, capture_output=True, check=True
        ).stdout
    else:
        listing = b"".join(
            f"{hashlib.sha256((cwd / p).read_bytes()).hexdigest()}  {p}\n".encode() for p in paths
        )
    return hashlib.sha256(listing).hexdigest()


def test_a_python_agent_is_every_source_module_it_reaches():
    """The ACC's digest covers agents/road/acc.py and the control laws it imports
    (agents/road/control.py), not only its own file; numpy is recorded by version; the run's
    manifest digest is reproduced by sha256sum over the listed files."""
    out = run_loaded(load_scenario(SCENARIOS / "road" / "alks_cut_in.yaml"))
    ident = out.result.agents["ego"]["identity"]
    paths = [f["path"] for f in ident["files"]]
    assert {"agents/road/acc.py", "agents/road/control.py", "agents/road/types.py"} <= set(paths)
    assert not any("numpy" in p for p in paths) and "numpy" in ident["third_party"]
    assert ident["sha256"] == out.result.agents["ego"]["digest"]
    assert _sha256sum(paths, Path(ident["source_root"])) == ident["sha256"]
    for f in ident["files"]:
        assert (
            hashlib.sha256((Path(ident["source_root"]) / f["path"]).read_bytes()).hexdigest()
            == f["sha256"]
        )
    if (ROOT / ".git").exists():
        assert len(ident["git_revision"]) == 40 and isinstance(ident["dirty"], bool)


def test_a_command_agent_is_its_executable_and_script_with_the_command_apart(tmp_path):
    """cmd: agents: the executable's own SHA-256 (what `sha256sum $(which …)` prints), the
    script's, the command line's SHA-256 apart, and the listing digest over both files."""
    script = tmp_path / "agent_main.py"
    script.write_text("import runpy\nrunpy.run_module('agents.serve', run_name='__main__')\n")
    lo = load_scenario(SCENARIOS / "road" / "alks_cut_in.yaml")
    command = f"{sys.executable} {script} agents.road.acc:AdaptiveCruise"
    out = run_loaded(lo, agent=f"cmd:{command}", entity="ego")
    ident = out.result.agents["ego"]["identity"]
    exe = str(Path(sys.executable).resolve())
    assert ident["executable"] == exe
    assert ident["executable_sha256"] == hashlib.sha256(Path(exe).read_bytes()).hexdigest()
    assert ident["command_sha256"] == hashlib.sha256(ident["command"].encode()).hexdigest()
    assert [f["path"] for f in ident["files"]] == [exe, str(script.resolve())]
    assert _sha256sum([exe, str(script.resolve())], tmp_path) == ident["sha256"]


@pytest.mark.parametrize("spec", ["r157-driver", "stop", "agents.water.colreg:ColregPilot"])
def test_every_shipped_agent_has_a_reproducible_identity(spec):
    from agents.identity import python_identity
    from agents.loading import load_agent

    ident = python_identity(type(load_agent(spec)).__module__)
    assert (
        ident["files"]
        and _sha256sum([f["path"] for f in ident["files"]], Path(ident["source_root"]))
        == ident["sha256"]
    )
