"""Serve a Python Agent over the agent protocol: the reference implementation of the agent
side, and a way to isolate any Python agent in its own process::

    pground run scenarios/road/alks_cut_in.yaml --agent "cmd:python -m agents.serve acc"

``python -m agents.serve SPEC [--framing msgpack] [--param NAME=VALUE ...]``; SPEC is an
entry-point name or ``module:Class``. Everything the agent prints goes to stderr (stdout
carries the protocol).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any, BinaryIO

import numpy as np

from agents.wire import DOMAIN_TYPES, PROTOCOL_VERSION, Codec, from_plain, plain


class Channel:
    """Frames over a pair of binary streams (the agent's stdin and stdout)."""

    def __init__(self, rx: BinaryIO, tx: BinaryIO) -> None:
        self.rx, self.tx = rx, tx
        self.codec = Codec("json")
        self.buf = bytearray()

    def send(self, msg: dict[str, Any]) -> None:
        self.tx.write(self.codec.encode(msg))
        self.tx.flush()

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None at end of input."""
        fd = self.rx.fileno()
        while True:
            body = self.codec.split(self.buf)
            if body is not None:
                return self.codec.decode(body)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self.buf += chunk


def serve(spec: str, params: dict[str, Any], framing: str = "json") -> int:
    from agents.loading import load_agent

    agent = load_agent(spec, params)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a print() in the agent must not corrupt the protocol
    ch = Channel(sys.stdin.buffer, out)
    ch.send(
        {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "name": str(getattr(agent, "name", spec)),
            "version": str(getattr(agent, "version", "unknown")),
            "framing": framing,
        }
    )
    ch.codec = Codec(framing)
    obs_type: Any = None
    while (msg := ch.receive()) is not None:
        kind = msg.get("type")
        if kind == "reset":
            brief_t, obs_type, _ = DOMAIN_TYPES[msg["domain"]]
            agent.reset(
                from_plain(brief_t, msg["briefing"]), rng=np.random.default_rng(msg["seed"])
            )
            ch.send({"type": "ready"})
        elif kind == "step":
            action = agent.act(from_plain(obs_type, msg["observation"]))
            reply: dict[str, Any] = {"type": "action", "seq": msg["seq"], "action": plain(action)}
            path = getattr(agent, "planned_path", None)
            if path is not None:
                pts = path()
                if pts is not None:
                    reply["plan"] = plain(np.asarray(pts, dtype=float)[:16])
            ch.send(reply)
        elif kind == "close":
            close = getattr(agent, "close", None)
            if callable(close):
                close()
            return 0
        else:
            print(f"agents.serve: unknown message {json.dumps(msg)[:200]}", file=sys.stderr)
            return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m agents.serve", description=__doc__.split("\n\n")[0])
    p.add_argument("spec", help="agent: entry-point name or module:Class")
    p.add_argument("--framing", choices=("json", "msgpack"), default="json")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    args = p.parse_args(argv)
    params: dict[str, Any] = {}
    for item in args.param:
        name, _, value = item.partition("=")
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
        params[name] = value
    return serve(args.spec, params, args.framing)


if __name__ == "__main__":
    sys.exit(main())
