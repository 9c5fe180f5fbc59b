"""Campaigns: every job of a suite against one agent, on serial, process or Dask executors,
into a crash-safe results store that a later ``--resume`` continues.

Campaign folder:
  manifest.json   suite file and hash, agent, executor, package versions, command line
  results.sqlite  one row per job (see store.py)
  runs/<name>/    run folders kept by --keep-logs (default: failures only)
  summary.json    counts by verdict and family (rewritten at the end of each invocation)
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import platform
import shlex
import signal
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Literal, Protocol

from sim.errors import ProvingGroundError, ScenarioError, UsageError
from sim.runner.classes import classify
from sim.runner.classes import counts as class_counts
from sim.runner.classes import exit_code as classes_exit_code
from sim.runner.store import ResultsStore
from sim.runner.suite import Suite

KeepLogs = Literal["all", "failures", "none"]
Result = dict[str, Any]


# ---------------------------------------------------------------------------- one job
def execute_job(job: dict[str, Any], campaign_dir: str, keep_logs: KeepLogs) -> Result:
    """Run one job (in whatever process the executor chose) and return its store row.
    User errors (bad scenario, unloadable agent) become 'invalid'/'error' rows."""
    from sim.runner.run import run_loaded, write_run_folder
    from sim.scenario.load import load_scenario

    t0 = time.perf_counter()
    row = job_row(job)
    try:
        loaded = load_scenario(job["path"], job["overrides"])
        row["scenario_id"] = loaded.scenario.id
        out = run_loaded(
            loaded,
            agent=job["agent"],
            entity=job["entity"],
            seed=job["seed"],
            agent_options=job.get("agent_options"),
            allow_file_agents=bool(job.get("allow_file_agents")),
        )
        eid, row["agent"] = next(iter(out.agents.items()))
        info = out.result.agents.get(eid, {})
        row["agent_version"] = f"{info.get('name', '?')}@{info.get('version', '?')}"
        row["agent_digest"] = info.get("digest")
        row["agent_identity"] = info.get("identity")
        row["simulated_s"] = out.result.ticks * loaded.scenario.dt
        row["criteria"] = [c.to_dict() for c in out.criteria]
        row["faults"] = fault_timeline(out.result.events, row["simulated_s"])
        row.update(
            verdict=out.verdict,
            status=out.result.status,
            reason=out.result.reason,
            metrics={k: v.value for k, v in out.metrics.items() if v.valid},
            log_sha256=out.result.log.digest(),
        )
        failed = [c.metric for c in out.criteria if not c.passed]
        if out.invalid_reason:
            row["reason"] = out.invalid_reason
        elif failed:
            row["reason"] = f"{out.result.reason}; failed: {', '.join(failed)}"
        if keep_logs == "all" or (keep_logs == "failures" and out.verdict != "pass"):
            rel = Path("runs") / job["name"]
            runs = (Path(campaign_dir) / "runs").resolve()
            target = (Path(campaign_dir) / rel).resolve()
            if target.parent != runs:  # a name must never reach outside the campaign
                raise UsageError(f"run name {job['name']!r} would leave {runs}; not written")
            write_run_folder(out, target, force=True)
            row["run_dir"] = str(rel)
    except ScenarioError as exc:
        row.update(verdict="invalid", error=exc.problems[0])
    except ProvingGroundError as exc:
        row.update(verdict="error", error=str(exc))
    except Exception as exc:  # an internal error in one job must not end the campaign
        tb = traceback.format_exc(limit=3).strip().splitlines()[-1]
        row.update(verdict="error", error=f"internal error: {type(exc).__name__}: {exc} ({tb})")
    row["duration_s"] = time.perf_counter() - t0
    return row


def execute_jobs(
    jobs: list[dict[str, Any]], campaign_dir: str, keep_logs: KeepLogs
) -> list[Result]:
    """Several jobs in one task (Dask), each contained as in :func:`execute_job`."""
    return [execute_job(job, campaign_dir, keep_logs) for job in jobs]


def fault_timeline(events: Any, end_s: float) -> list[dict[str, Any]]:
    """[{fault, kind, start_s, end_s}] of the faults active in a run (end: the run's end
    for a fault still active then)."""
    out: list[dict[str, Any]] = []
    open_: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.kind == "fault_start":
            open_[e.details["fault"]] = item = {
                "fault": e.details["fault"],
                "kind": e.details["kind"],
                "start_s": e.time_s,
                "end_s": end_s,
            }
            out.append(item)
        elif e.kind == "fault_end" and e.details["fault"] in open_:
            open_.pop(e.details["fault"])["end_s"] = e.time_s
    return out


def job_row(job: dict[str, Any]) -> Result:
    """The columns of a store row that come from the job itself."""
    return {
        "job_id": job["id"],
        "name": job["name"],
        "family": job["family"],
        "scenario_file": job["path"],
        "file_sha256": job["file_sha256"],
        "params": job["overrides"],
        "seed": job["seed"],
        "agent": job["agent"],
        "role": job.get("role", "sut"),
    }


def failed_row(job: dict[str, Any], message: str) -> Result:
    """The row of a job that never returned (timeout, worker died)."""
    return {**job_row(job), "verdict": "error", "error": message}


# ---------------------------------------------------------------------------- executors
class Executor(Protocol):
    """Runs jobs and hands each result to ``done`` as soon as it is known (any order)."""

    name: str

    def run(self, jobs: Iterable[dict[str, Any]], done: Callable[[Result], None]) -> None: ...


@dataclass
class SerialExecutor:
    """One job after another in this process (debugging; no timeout)."""

    campaign_dir: str
    keep_logs: KeepLogs
    name: str = "serial"

    def run(self, jobs: Iterable[dict[str, Any]], done: Callable[[Result], None]) -> None:
        for job in jobs:
            done(execute_job(job, self.campaign_dir, self.keep_logs))


def _worker(conn: Connection, campaign_dir: str, keep_logs: KeepLogs) -> None:
    """Worker process loop: say ready, then receive a job and send its row; ``None`` ends it.
    Ctrl-C is the parent's to handle (it stops the workers), not each worker's traceback."""
    # a no-op handler, not SIG_IGN: an ignored signal would stay ignored in the agents it runs
    signal.signal(signal.SIGINT, lambda *_: None)
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(execute_job(job, campaign_dir, keep_logs))


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # the command name is in parentheses and may hold spaces: fields follow the last ')'
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def kill_worker(proc: Any) -> None:
    """Kill a worker process and its agents. Out-of-process agents run in sessions of their
    own (so a Ctrl-C or a kill aimed at the worker does not reach them): the worker is
    frozen first, so it starts none while its children's process groups are killed."""
    with contextlib.suppress(OSError):
        os.kill(proc.pid, signal.SIGSTOP)
    for child in _children(proc.pid):
        with contextlib.suppress(OSError):
            if os.getpgid(child) == child:  # a group leader: an agent and all it started
                os.killpg(child, signal.SIGKILL)
    proc.kill()


@dataclass
class _Slot:
    proc: Any
    conn: Connection
    job: dict[str, Any] | None = None
    started: float = 0.0
    ready: bool = False  # the worker has started (imported everything) and said so


@dataclass
class ProcessExecutor:
    """Local worker processes ('spawn': no state shared with the parent). A job past
    ``timeout_s`` has its worker killed and is recorded as an error; a worker that dies is
    replaced and its job recorded as an error; the campaign goes on."""

    campaign_dir: str
    keep_logs: KeepLogs
    workers: int
    timeout_s: float | None = None
    name: str = "processes"
    slots: list[_Slot] = field(default_factory=list)

    def _start(self) -> _Slot:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_worker, args=(child, self.campaign_dir, self.keep_logs), daemon=True
        )
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _replace(self, slot: _Slot) -> _Slot:
        if slot.proc.is_alive():
            kill_worker(slot.proc)
        slot.proc.join(timeout=5)
        slot.conn.close()
        return self._start()

    def run(self, jobs: Iterable[dict[str, Any]], done: Callable[[Result], None]) -> None:
        queue = deque(jobs)
        self.slots = [self._start() for _ in range(max(1, min(self.workers, len(queue))))]
        start_failures = 0
        try:
            while queue or any(s.job for s in self.slots):
                for s in self.slots:
                    if s.job is None and queue:
                        s.job, s.started = queue.popleft(), time.monotonic()
                        s.conn.send(s.job)
                busy = [s for s in self.slots if s.job is not None]
                ready = wait([s.conn for s in busy], timeout=0.2)
                for i, s in enumerate(self.slots):
                    if s.job is None:
                        continue
                    if s.conn in ready:
                        try:
                            row = s.conn.recv()
                        except (EOFError, OSError):
                            s.proc.join(timeout=2)
                            code = s.proc.exitcode
                            if not s.ready:
                                # it died before it could run anything: not the job's fault
                                start_failures += 1
                                queue.appendleft(s.job)
                                self.slots[i] = self._replace(s)
                                if start_failures >= 3:
                                    raise UsageError(
                                        f"worker processes die while starting (exit code {code}"
                                        "): a script that calls run_campaign must guard it with "
                                        "`if __name__ == '__main__':` and be a file (not stdin); "
                                        "or use --executor serial"
                                    ) from None
                                continue
                            row = failed_row(s.job, f"worker process died (exit code {code})")
                            self.slots[i] = self._replace(s)
                        else:
                            if row == "ready":
                                s.ready, s.started, start_failures = True, time.monotonic(), 0
                                continue
                            s.job = None
                        done(row)
                    elif (
                        self.timeout_s and s.ready and time.monotonic() - s.started > self.timeout_s
                    ):
                        done(
                            failed_row(
                                s.job,
                                f"timed out after {self.timeout_s:g} s "
                                "(--job-timeout); worker killed",
                            )
                        )
                        self.slots[i] = self._replace(s)
        finally:
            for s in self.slots:
                if s.proc.is_alive():
                    with contextlib.suppress(OSError):
                        s.conn.send(None)
                    s.proc.join(timeout=1)
                    if s.proc.is_alive():
                        kill_worker(s.proc)
                        s.proc.join(timeout=5)


_SHARED_DASK: list[Any] = []  # a client kept open across campaigns (dask_session)


@contextlib.contextmanager
def dask_session(workers: int | None, scheduler: str | None = None) -> Iterator[None]:
    """One Dask client for every campaign run inside (a search's waves): a local cluster
    starts once instead of once per wave."""
    client, cluster = _dask_client(workers or os.cpu_count() or 1, scheduler)
    _SHARED_DASK.append(client)
    try:
        yield
    finally:
        _SHARED_DASK.remove(client)
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_client(workers: int, scheduler: str | None) -> tuple[Any, Any]:
    """A client of the scheduler at ``scheduler``, or of a new local cluster (then returned
    too, to be closed)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--executor dask needs the 'distributed' package: pip install 'proving-ground[dask]'"
        ) from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise UsageError(f"cannot reach Dask scheduler {scheduler}: {exc}") from None
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster), cluster


@dataclass
class DaskExecutor:
    """Dask distributed: ``scheduler`` is a ``tcp://host:port`` address, or None for a
    local cluster of ``workers`` processes. Agents' code must be importable on the workers.
    The per-job timeout is not enforced here (use the workers' own limits)."""

    campaign_dir: str
    keep_logs: KeepLogs
    workers: int
    scheduler: str | None = None
    name: str = "dask"

    def run(self, jobs: Iterable[dict[str, Any]], done: Callable[[Result], None]) -> None:
        jobs = list(jobs)
        if _SHARED_DASK:
            client, cluster, own = _SHARED_DASK[-1], None, False
        else:
            client, cluster = _dask_client(self.workers, self.scheduler)
            own = True
        from distributed import as_completed

        try:
            futures = {
                client.submit(
                    execute_job,
                    job,
                    self.campaign_dir,
                    self.keep_logs,
                    key=f"pground-{job['id']}",
                    pure=False,
                ): job
                for job in jobs
            }
            for fut in as_completed(futures):
                try:
                    done(fut.result())
                except Exception as exc:
                    done(failed_row(futures[fut], f"dask: {type(exc).__name__}: {exc}"))
        finally:
            if own:
                client.close()
                if cluster is not None:
                    cluster.close()


# ---------------------------------------------------------------------------- campaign
@dataclass
class CampaignSummary:
    total: int
    ran: int
    skipped: int
    counts: dict[str, int]  # runs per class (sim.runner.classes)
    families: dict[str, dict[str, int]]
    seconds: float
    interrupted: bool = False
    reference: dict[str, int] = field(default_factory=dict)  # verdicts of reference runs

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else classes_exit_code(self.counts)


class Progress:
    """Live bar on a terminal; a plain line every ``every_s`` seconds otherwise."""

    def __init__(
        self,
        console: Any,
        total: int,
        *,
        live: bool,
        enabled: bool,
        every_s: float = 10.0,
        unit: str = "runs",
    ) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        self.console, self.total, self.enabled = console, total, enabled
        self.live = live and enabled
        self.counts: dict[str, int] = {}
        self.done = 0
        self.t0 = self.last = time.monotonic()
        self.every, self.unit = every_s, unit
        self.bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not self.live,
        )
        self.task = self.bar.add_task("campaign", total=total, counts="", rate="")

    def __enter__(self) -> Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def text(self) -> str:
        return " ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))

    def update(self, verdict: str) -> None:
        self.done += 1
        self.counts[verdict] = self.counts.get(verdict, 0) + 1
        now = time.monotonic()
        rate = self.done / max(now - self.t0, 1e-9)
        if self.live:  # rich's update costs ~0.4 ms even when the bar is off
            self.bar.update(
                self.task, advance=1, counts=self.text(), rate=f"{rate:.1f} {self.unit}/s"
            )
        if (
            self.enabled
            and not self.live
            and (now - self.last >= self.every or self.done == self.total)
        ):
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            self.console.print(
                f"[{self.done}/{self.total}] {self.text()}  {rate:.1f} {self.unit}/s  "
                f"ETA {eta:.0f} s"
            )
            self.last = now


def run_campaign(
    suite: Suite,
    out: Path,
    *,
    executor: str = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    keep_logs: KeepLogs = "failures",
    job_timeout: float | None = None,
    console: Any = None,
    progress: bool = True,
    argv: list[str] | None = None,
    agent_options: dict[str, Any] | None = None,
    allow_file_agents: bool = False,
) -> CampaignSummary:
    """Run (or continue, with ``resume``) every job of ``suite`` into the folder ``out``.
    ``allow_file_agents``: the scenario files may run the cmd: agents they name."""
    from rich.console import Console

    from sim.runner.run import package_versions

    console = console or Console(stderr=True)
    out = Path(out)
    store_path = out / "results.sqlite"
    if store_path.exists() and not resume:
        if not force:
            raise UsageError(
                f"{out} holds a campaign: add --resume to continue it, or --force to start over"
            )
        for p in (store_path, out / "results.sqlite-wal", out / "results.sqlite-shm"):
            p.unlink(missing_ok=True)
    elif out.exists() and any(out.iterdir()) and not store_path.exists() and not force:
        raise UsageError(f"{out} exists and is not a campaign folder; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    store = ResultsStore(store_path)
    index = {j.id: k for k, j in enumerate(suite.entries)}
    done_before = store.done_ids() & set(index)
    todo = [j for j in suite.entries if j.id not in done_before]
    workers = workers or os.cpu_count() or 1
    manifest = {
        "format": "proving-ground-campaign/1",
        "suite": {
            "name": suite.name,
            "file": str(suite.path) if suite.path else None,
            "sha256": suite.sha256,
        },
        "agent": suite.entries[0].agent if suite.entries else None,
        "reference": suite.reference,
        "sample": suite.sampled,  # None: every run of the suite
        "parameter_units": suite.units,
        "agent_options": agent_options,
        "jobs": len(suite.entries),
        "executor": executor,
        "workers": workers,
        "scheduler": scheduler,
        "keep_logs": keep_logs,
        "job_timeout_s": job_timeout,
        "packages": package_versions(),
        "platform": {
            "python": sys.version.split()[0],
            "system": platform.system(),
            "machine": platform.machine(),
        },
        "command": shlex.join(argv) if argv else None,
        "cwd": os.getcwd(),  # stored scenario paths are relative to it
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    cdir = str(out.resolve())
    ex: Executor
    if executor == "serial":
        ex = SerialExecutor(cdir, keep_logs)
    elif executor == "processes":
        ex = ProcessExecutor(cdir, keep_logs, workers, job_timeout)
    elif executor == "dask":
        ex = DaskExecutor(cdir, keep_logs, workers, scheduler)
    else:
        raise UsageError(f"unknown executor '{executor}'; choose serial, processes or dask")
    t0 = time.monotonic()
    interrupted = False
    bar = Progress(console, len(todo), live=console.is_terminal, enabled=progress)

    def done(row: Result) -> None:
        row["idx"] = index.get(row["job_id"], -1)
        row["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        store.record(row)
        bar.update(row["verdict"])

    try:
        with bar:
            ex.run(
                (
                    {
                        **j.to_dict(),
                        "agent_options": agent_options,
                        "allow_file_agents": allow_file_agents,
                    }
                    for j in todo
                ),
                done,
            )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        mine = [row for row in store.rows() if row["job_id"] in index]
        store.close()
        # the one classification (pass, fail, not preventable, error, invalid) that the
        # report, junit.xml and diff use too
        sut = classify(mine, suite.reference)
        counts = class_counts(sut)
        families = {
            fam: class_counts([r for r in sut if r["family"] == fam])
            for fam in sorted({r["family"] for r in sut})
        }
        reference = dict(Counter(r["verdict"] for r in mine if r.get("role") == "reference"))
        summary = CampaignSummary(
            sum(1 for j in suite.entries if j.role == "sut"),
            bar.done,
            len(done_before),
            counts,
            families,
            time.monotonic() - t0,
            interrupted,
            reference,
        )
        (out / "summary.json").write_text(
            json.dumps(
                {
                    "suite": suite.name,
                    "total": summary.total,
                    "counts": counts,
                    "families": families,
                    "reference": reference,
                    "complete": sum(counts.values()) == summary.total,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )
    return summary
