"""Running scenarios: one run to a run folder; suites (serial here)."""

from sim.runner.run import RunOutcome, run_loaded, write_run_folder

__all__ = ["RunOutcome", "run_loaded", "write_run_folder"]
