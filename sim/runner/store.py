"""The campaign results store: ``results.sqlite`` (WAL), one row per job.

Each finished job is one atomic ``INSERT OR REPLACE`` (a killed campaign loses only the jobs
that were running). Paths inside are relative to the campaign folder, so it can be moved or
zipped. Only the parent process writes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.core.events import json_ready

COLUMNS = (
    ("job_id", "TEXT PRIMARY KEY"),
    ("idx", "INTEGER"),
    ("name", "TEXT"),
    ("family", "TEXT"),
    ("scenario_id", "TEXT"),
    ("scenario_file", "TEXT"),
    ("file_sha256", "TEXT"),
    ("params", "TEXT"),
    ("seed", "INTEGER"),
    ("agent", "TEXT"),
    ("verdict", "TEXT"),
    ("status", "TEXT"),
    ("reason", "TEXT"),
    ("metrics", "TEXT"),
    ("log_sha256", "TEXT"),
    ("duration_s", "REAL"),
    ("error", "TEXT"),
    ("run_dir", "TEXT"),
    ("finished_at", "TEXT"),
    ("criteria", "TEXT"),
    ("simulated_s", "REAL"),
    ("agent_version", "TEXT"),
    ("agent_digest", "TEXT"),
    ("role", "TEXT"),
    ("faults", "TEXT"),
    ("agent_identity", "TEXT"),
)
NAMES = tuple(c for c, _ in COLUMNS)
JSON_COLUMNS = ("params", "metrics", "criteria", "faults", "agent_identity")


class ResultsStore:
    """Open (creating if needed) the store at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        cols = ", ".join(f"{n} {t}" for n, t in COLUMNS)
        self.db.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
        have = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        for name, kind in COLUMNS:  # stores written by an older version gain new columns
            if name not in have:
                self.db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind.split()[0]}")
        self.db.commit()

    def done_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT job_id FROM runs")}

    def record(self, row: dict[str, Any]) -> None:
        values = [_encode(n, row.get(n)) for n in NAMES]
        with self.db:  # one transaction per job: atomic
            self.db.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(NAMES)}) "
                f"VALUES ({', '.join('?' * len(NAMES))})",
                values,
            )

    def rows(self, *, verdict: str | None = None, family: str | None = None) -> Iterator[dict]:
        query, args = "SELECT * FROM runs", []
        where = []
        if verdict:
            where.append("verdict = ?")
            args.append(verdict)
        if family:
            where.append("family = ?")
            args.append(family)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY idx, name"
        cur = self.db.execute(query, args)
        names = [d[0] for d in cur.description]
        for r in cur:
            yield {
                n: (json.loads(v) if n in JSON_COLUMNS and v else v)
                for n, v in zip(names, r, strict=True)
            }

    def row_digests(self) -> dict[str, str]:
        """SHA-256 of each stored row exactly as stored (every column in ``NAMES`` order, JSON
        columns as their stored JSON text), by job id: any edit of any column changes it."""
        cur = self.db.execute(f"SELECT {', '.join(NAMES)} FROM runs")
        return {
            str(r[0]): hashlib.sha256(
                json.dumps(list(r), separators=(",", ":"), allow_nan=True).encode()
            ).hexdigest()
            for r in cur
        }

    def close(self) -> None:
        self.db.close()


def _encode(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS:
        return json.dumps(json_ready(value), sort_keys=True)
    return value
