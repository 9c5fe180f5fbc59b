"""Out-of-process agents (``cmd:<command>``): any program that speaks the Proving Ground
agent protocol on its stdin/stdout (docs/agent-protocol.md).

The simulator never trusts the process: every read and write has a deadline, a message
larger than ``MAX_MESSAGE_BYTES`` is refused, stderr is drained by a thread (only its tail is
kept) so a chatty agent cannot block, and the process runs in its own session (process
group) with CPU-time and memory rlimits, an empty working directory of its own and a trimmed
environment; ``deny_network`` puts it in a new network namespace with only a loopback
interface (``unshare --net``; see the doc for where that is not available). On close, or
when the agent dies or stops answering, the whole process group is killed, children included.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import resource
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.identity import label
from agents.wire import (
    PROTOCOL_VERSION,
    Codec,
    action_fields,
    domain_of,
    plain,
    required_numbers,
)
from sim.errors import AgentError, AgentFault

STDERR_TAIL_BYTES = 4096
#: Environment variables passed through to the agent (the rest of the simulator's
#: environment, e.g. credentials, is not).
ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "PYTHONPATH", "VIRTUAL_ENV")
UNRESPONSIVE_AFTER = 3  # missed deadlines in a row before the process is stopped
SPIN_S = 0.0005  # busy-poll for an answer this long before blocking (see _read)


@dataclass(frozen=True)
class RemoteOptions:
    """How an out-of-process agent is run and supervised.

    ``timeout_s``: deadline of one step (send observation → action received); ``startup_s``:
    deadline of the hello and of the reset; ``cpu_s``/``memory_mb``: RLIMIT_CPU / RLIMIT_AS of
    the process (None: no limit); ``deny_network``: run it in a new network namespace."""

    timeout_s: float = 10.0
    startup_s: float = 20.0
    cpu_s: int | None = None
    memory_mb: int | None = None
    deny_network: bool = False


def network_isolation_available() -> bool:
    """Whether ``unshare --net`` works here (needs util-linux and user namespaces or root)."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    try:
        r = subprocess.run(
            [exe, "--map-root-user", "--net", "true"], capture_output=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


class RemoteAgent:
    """An Agent whose decisions come from a child process (one process per run).

    ``reset`` starts the process, waits for its ``hello`` and sends the briefing; ``act``
    sends a ``step`` and waits for the matching ``action`` until the deadline; every breach
    raises :class:`~sim.errors.AgentFault` with a typed ``kind``, which the run records.
    """

    def __init__(self, command: str, options: RemoteOptions | None = None) -> None:
        self.command = command
        self.argv = shlex.split(command)
        if not self.argv:
            raise AgentError("agent 'cmd:': no command given")
        self.options = options or RemoteOptions()
        if self.options.deny_network and not network_isolation_available():
            raise AgentError(
                f"agent 'cmd:{command}': --agent-deny-network is not available on this machine "
                "(unshare --net failed: no util-linux or no user namespaces)"
            )
        prog = self.argv[0]
        if shutil.which(prog) is None and not (Path.cwd() / prog).is_file():
            raise AgentError(f"agent 'cmd:{command}': cannot start: no program {prog!r} found")
        self.name = Path(prog).name
        self.version = "unknown"
        self.protocol_info: dict[str, Any] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._codec = Codec("json")
        self._buf = bytearray()
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_len = 0
        self._stderr_lock = threading.Lock()
        self._seq = 0
        self._missed = 0
        self._plan: np.ndarray | None = None
        self._domain = ""
        self._fields: set[str] = set()
        self._numbers: set[str] = set()
        self.latencies_s: list[float] = []  # round trip of each step (for check-agent)

    # -- Agent protocol ---------------------------------------------------------------------

    def reset(self, briefing: Any, *, rng: np.random.Generator) -> None:
        self.close()
        self._start()
        hello = self._receive("hello", self.options.startup_s)
        self._check_hello(hello)
        self._domain = domain_of(briefing)
        self._fields = set().union(*action_fields(self._domain).values())
        self._numbers = required_numbers(self._domain)
        self._send(
            {
                "type": "reset",
                "protocol": PROTOCOL_VERSION,
                "domain": self._domain,
                "entity": briefing.entity_id,
                "seed": int(rng.integers(2**63 - 1)),
                "briefing": plain(briefing),
            },
            self.options.startup_s,
        )
        self._receive("ready", self.options.startup_s)
        self._seq = 0

    def act(self, obs: Any) -> dict[str, Any]:
        self._seq += 1
        t0 = time.perf_counter()
        self._send({"type": "step", "seq": self._seq, "observation": plain(obs)})
        msg = self._receive("action", self.options.timeout_s, seq=self._seq)
        self.latencies_s.append(time.perf_counter() - t0)
        self._missed = 0
        action = msg.get("action")
        if not isinstance(action, dict):
            raise AgentFault("invalid_action", f"'action' must be an object, got {action!r}")
        unknown = set(action) - self._fields
        if unknown:
            raise AgentFault(
                "invalid_action",
                f"unknown action field(s) {sorted(unknown)} for the {self._domain} domain "
                f"(fields: {sorted(self._fields)})",
            )
        plan = msg.get("plan")
        self._plan = None
        if plan is not None:
            try:
                self._plan = np.asarray(plan, dtype=float).reshape(-1, 2)
            except (TypeError, ValueError):
                self._plan = None
        return {k: (math.nan if v is None and k in self._numbers else v) for k, v in action.items()}

    def planned_path(self) -> np.ndarray | None:
        return self._plan

    def close(self, reason: str = "end of run") -> None:
        """Ask the process to exit, then kill its whole process group (children too)."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.poll() is None:
            with contextlib.suppress(AgentFault):
                self._write(proc, self._codec.encode({"type": "close", "reason": reason}), 0.2)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5.0)
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def identity(self) -> dict[str, Any]:
        """The executable and every file argument (the script an interpreter runs), hashed as
        ``sha256sum`` would, and the command line's SHA-256 apart."""
        from agents.identity import command_identity

        return command_identity(self.argv, self.command, shutil.which(self.argv[0]))

    @property
    def stderr_tail(self) -> str:
        with self._stderr_lock:
            return b"".join(self._stderr)[-STDERR_TAIL_BYTES:].decode(errors="replace")

    # -- process and framing ----------------------------------------------------------------

    def _start(self) -> None:
        opts = self.options
        self._workdir = tempfile.TemporaryDirectory(prefix="pground-agent-")
        cwd = Path.cwd()
        # programs and scripts named relative to where pground runs still resolve
        argv = [
            str(cwd / a) if not Path(a).is_absolute() and (cwd / a).exists() else a
            for a in self.argv
        ]
        env = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
        env.update(HOME=self._workdir.name, TMPDIR=self._workdir.name, PGROUND_PROTOCOL="1")
        if opts.deny_network:
            argv = ["unshare", "--map-root-user", "--net", "--", *argv]
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self._workdir.name,
                env=env,
                start_new_session=True,
                bufsize=0,
            )
        except OSError as exc:
            self._workdir.cleanup()
            self._workdir = None
            raise AgentError(f"agent 'cmd:{self.command}': cannot start: {exc}") from None
        for lim, value in (
            (resource.RLIMIT_CPU, opts.cpu_s),
            (resource.RLIMIT_AS, None if opts.memory_mb is None else opts.memory_mb << 20),
        ):
            if value is not None:
                # the process may have exited already: the first read will tell
                with contextlib.suppress(OSError, ValueError):
                    resource.prlimit(proc.pid, lim, (value, value))
        assert proc.stdin is not None and proc.stdout is not None
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        self._proc = proc
        self._buf.clear()
        self._codec = Codec("json")
        self._missed = 0
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Read stderr until EOF, keeping the last STDERR_TAIL_BYTES."""
        assert proc.stderr is not None
        fd = proc.stderr.fileno()
        try:
            while chunk := os.read(fd, 65536):
                with self._stderr_lock:
                    self._stderr.append(chunk)
                    self._stderr_len += len(chunk)
                    while self._stderr_len - len(self._stderr[0]) >= STDERR_TAIL_BYTES:
                        self._stderr_len -= len(self._stderr.popleft())
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                proc.stderr.close()

    def _check_hello(self, hello: dict[str, Any]) -> None:
        proto = hello.get("protocol")
        if proto != PROTOCOL_VERSION:
            raise self._fatal(
                "protocol",
                f"agent speaks protocol {proto!r}; this simulator speaks {PROTOCOL_VERSION}",
            )
        self.name = label(hello.get("name", self.name))
        self.version = label(hello.get("version", self.version))
        framing = hello.get("framing", "json")
        try:
            self._codec = Codec(framing)
        except ValueError as exc:
            raise self._fatal("protocol", str(exc)) from None
        self.protocol_info = {"protocol": proto, "framing": framing}

    def _send(self, msg: dict[str, Any], timeout_s: float | None = None) -> None:
        proc = self._proc
        if proc is None:
            raise AgentFault("exit", "the agent process is not running", fatal=True)
        self._write(proc, self._codec.encode(msg), timeout_s or self.options.timeout_s)

    def _write(self, proc: subprocess.Popen[bytes], data: bytes, timeout_s: float) -> None:
        assert proc.stdin is not None
        fd = proc.stdin.fileno()
        deadline = time.monotonic() + timeout_s
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError, OSError):
                raise self._gone() from None
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise self._late(timeout_s, "writing (the agent does not read its stdin)")

    def _receive(self, kind: str, timeout_s: float, seq: int | None = None) -> dict[str, Any]:
        """The next ``kind`` message (older actions are skipped: answers past a deadline)."""
        proc = self._proc
        if proc is None:
            raise AgentFault("exit", "the agent process is not running", fatal=True)
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                body = self._codec.split(self._buf)
            except ValueError as exc:
                raise self._fatal("malformed", f"agent output refused: {exc}") from None
            if body is not None:
                msg = self._parse(body)
                if kind == "action" and msg.get("type") == "action":
                    got = msg.get("seq")
                    if isinstance(got, int) and got < (seq or 0):
                        continue  # a late answer to a step whose deadline has passed
                    if got != seq:
                        raise AgentFault("protocol", f"action for step {got!r}, expected {seq}")
                if msg.get("type") != kind:
                    raise AgentFault(
                        "protocol", f"expected a {kind!r} message, got {str(msg)[:200]}"
                    )
                return msg
            chunk = self._read(fd, deadline, timeout_s, kind)
            if not chunk:
                raise self._gone()
            self._buf += chunk

    def _read(self, fd: int, deadline: float, timeout_s: float, kind: str) -> bytes:
        """Bytes from the agent's stdout (b'' at EOF). Polls without sleeping for the first
        SPIN_S: a quick agent's answer is then picked up without a scheduler wake-up (about
        half the round trip on a 2-core machine), then blocks in select until the deadline."""
        spin_until = min(time.monotonic() + SPIN_S, deadline)
        while True:
            try:
                return os.read(fd, 1 << 20)
            except BlockingIOError:
                pass
            except OSError:
                return b""
            now = time.monotonic()
            if now < spin_until:
                continue
            left = deadline - now
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise self._late(timeout_s, f"waiting for {kind!r}")

    def _parse(self, body: bytes) -> dict[str, Any]:
        try:
            msg = self._codec.decode(body)
        except ValueError as exc:
            raise AgentFault(
                "malformed", f"not a {self._codec.framing} message: {body[:120]!r} ({exc})"
            ) from None
        if not isinstance(msg, dict):
            raise AgentFault("malformed", f"a message must be an object, got {body[:120]!r}")
        return msg

    def _late(self, timeout_s: float, doing: str) -> AgentFault:
        self._missed += 1
        if self._missed >= UNRESPONSIVE_AFTER:
            return self._fatal(
                "unresponsive",
                f"{self._missed} deadlines of {timeout_s * 1000:g} ms missed in a row "
                f"({doing}); the process was stopped",
            )
        return AgentFault(
            "timeout",
            f"no answer within {timeout_s * 1000:g} ms ({doing})",
            details={"deadline_ms": timeout_s * 1000},
        )

    def _gone(self) -> AgentFault:
        """The process closed its pipes: exited or was killed."""
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                code = None
        self.close()
        details = {"exit_code": code, "stderr_tail": self.stderr_tail[-1000:]}
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return AgentFault(
                "crash", f"the agent process was killed by {name}", fatal=True, details=details
            )
        return AgentFault(
            "exit",
            f"the agent process exited (code {code}) while it still had work",
            fatal=True,
            details=details,
        )

    def _fatal(self, kind: str, message: str) -> AgentFault:
        self.close()
        return AgentFault(
            kind, message, fatal=True, details={"stderr_tail": self.stderr_tail[-1000:]}
        )
