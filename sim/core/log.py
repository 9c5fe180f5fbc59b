"""The recorder and the run log: preallocated ``(T+1, capacity)`` arrays per field.

On disk a log is one ``log.npz`` (numpy's zip of ``.npy`` arrays, readable from any language
with an npy reader): ``<domain>/<field>`` arrays shaped (T+1, capacity), ``time_s`` (T+1,),
``n_ticks`` () and ``meta`` (a JSON string: entity ids, kinds, controlled mask, map summary).
Rows after the last recorded tick are cut off when the run ends early.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class Recorder:
    """Writes one row per field per tick into arrays allocated once."""

    def __init__(
        self,
        fields: Mapping[str, Mapping[str, tuple[np.dtype, int]]],
        n_ticks: int,
        dt: float,
    ) -> None:
        """``fields[domain][name] = (dtype, width)``: each becomes a (n_ticks+1, width) array."""
        self.dt = dt
        self.arrays: dict[str, dict[str, np.ndarray]] = {
            dom: {
                name: np.zeros((n_ticks + 1, width), dtype=dtype)
                for name, (dtype, width) in spec.items()
            }
            for dom, spec in fields.items()
        }
        self.last_tick = -1

    def record(self, tick: int, domain: str, state: Mapping[str, np.ndarray]) -> None:
        """Copy the current ``state`` of ``domain`` into row ``tick``."""
        rows = self.arrays[domain]
        for name, arr in rows.items():
            arr[tick] = state[name]
        self.last_tick = max(self.last_tick, tick)

    def finish(self, meta: dict[str, Any]) -> RunLog:
        n = self.last_tick + 1
        arrays = {
            dom: {name: arr[:n] for name, arr in fields.items()}
            for dom, fields in self.arrays.items()
        }
        return RunLog(arrays=arrays, time_s=np.arange(n) * self.dt, dt=self.dt, meta=meta)


@dataclass(frozen=True)
class RunLog:
    """Recorded trajectories. ``arrays[domain][field]`` has shape (T+1, capacity)."""

    arrays: dict[str, dict[str, np.ndarray]]
    time_s: np.ndarray
    dt: float
    meta: dict[str, Any]

    @property
    def n_rows(self) -> int:
        return int(self.time_s.shape[0])

    def field(self, domain: str, name: str) -> np.ndarray:
        return self.arrays[domain][name]

    def digest(self) -> str:
        """SHA-256 over every array's dtype, shape and bytes, in sorted order."""
        h = hashlib.sha256()
        for dom in sorted(self.arrays):
            for name in sorted(self.arrays[dom]):
                arr = np.ascontiguousarray(self.arrays[dom][name])
                h.update(f"{dom}/{name}:{arr.dtype.str}:{arr.shape}".encode())
                h.update(arr.tobytes())
        return h.hexdigest()

    def save(self, path: Path) -> None:
        flat = {f"{d}/{n}": a for d, fs in self.arrays.items() for n, a in fs.items()}
        np.savez_compressed(
            path,
            time_s=self.time_s,
            dt=np.float64(self.dt),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
            **flat,
        )

    @classmethod
    def load(cls, path: Path) -> RunLog:
        with np.load(path, allow_pickle=False) as z:
            arrays: dict[str, dict[str, np.ndarray]] = {}
            for key in z.files:
                if "/" in key:
                    d, n = key.split("/", 1)
                    arrays.setdefault(d, {})[n] = z[key]
            return cls(arrays, z["time_s"], float(z["dt"]), json.loads(str(z["meta"])))
