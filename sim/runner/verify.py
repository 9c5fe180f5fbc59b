"""Integrity of a campaign folder: digests, signatures, re-runs; and campaign diffs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrics.report import _match_key, evidence_files, file_sha256, root_digest
from sim.errors import UsageError
from sim.runner.store import ResultsStore


@dataclass
class VerifyResult:
    checked_files: int = 0
    reran: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(folder: Path) -> list[dict[str, Any]]:
    if not (folder / "results.sqlite").exists():
        raise UsageError(f"{folder}: no results.sqlite (not a campaign folder)")
    store = ResultsStore(folder / "results.sqlite")
    try:
        return list(store.rows())
    finally:
        store.close()


def sign(folder: Path, key_file: Path) -> Path:
    """Sign the campaign's root digest with an Ed25519 private key (PEM) into signature.json."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    digest = json.loads((folder / "digest.json").read_text())["root_digest"]
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    except (ValueError, OSError) as exc:
        raise UsageError(f"{key_file}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{key_file}: an Ed25519 key is needed (pground keygen makes one)")
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    out = folder / "signature.json"
    out.write_text(
        json.dumps(
            {
                "algorithm": "Ed25519",
                "root_digest": digest,
                "public_key_hex": pub.hex(),
                "signature_hex": key.sign(digest.encode()).hex(),
            },
            indent=1,
        )
        + "\n"
    )
    return out


def keygen(private_out: Path) -> tuple[Path, Path]:
    """A new Ed25519 key pair: PRIVATE (PEM, keep it secret) and PRIVATE.pub (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if Path(private_out).exists():
        raise UsageError(f"{private_out} exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    Path(private_out).write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub = Path(f"{private_out}.pub")
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Path(private_out), pub


def verify(folder: Path, *, rerun: int = 0, key: Path | None = None, seed: int = 0) -> VerifyResult:
    """Check every digest of a campaign folder, its signature if any, and re-run ``rerun``
    sampled runs, comparing their log digests with the stored ones."""
    folder = Path(folder)
    res = VerifyResult()
    rows = _rows(folder)
    dfile = folder / "digest.json"
    if not dfile.exists():
        raise UsageError(f"{folder}: no digest.json; run `pground report {folder}` first")
    recorded = json.loads(dfile.read_text())
    now = evidence_files(folder)
    res.checked_files = len(now)
    for path, sha in sorted(recorded["files"].items()):
        if path not in now:
            res.problems.append(f"missing file: {path}")
        elif now[path] != sha:
            res.problems.append(f"modified file: {path}")
    for path in sorted(set(now) - set(recorded["files"])):
        res.problems.append(f"file not in the digest: {path}")
    # each run folder against its own manifest
    for row in rows:
        rd = row.get("run_dir")
        if not rd:
            continue
        man = folder / rd / "manifest.json"
        if not man.exists():
            res.problems.append(f"run folder missing: {rd}")
            continue
        m = json.loads(man.read_text())
        for name, sha in m.get("files", {}).items():
            p = folder / rd / name
            if not p.exists() or file_sha256(p) != sha:
                res.problems.append(f"{rd}/{name} does not match its run manifest")
        if m.get("log_sha256") != row.get("log_sha256"):
            res.problems.append(f"{rd}: log digest differs from the results store")
    if root_digest(now, rows) != recorded["root_digest"]:
        res.problems.append("root digest differs: the results store or the evidence changed")
    sig = folder / "signature.json"
    if sig.exists():
        res.notes.append(_check_signature(sig, recorded["root_digest"], key, res))
    elif key is not None:
        res.problems.append("--key given but the campaign is not signed (no signature.json)")
    if rerun:
        cwd = json.loads((folder / "manifest.json").read_text()).get("cwd")
        _rerun(rows, rerun, seed, res, Path(cwd) if cwd else None)
    return res


def _check_signature(sig_file: Path, digest: str, key: Path | None, res: VerifyResult) -> str:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    sig = json.loads(sig_file.read_text())
    if key is not None:
        pub = serialization.load_pem_public_key(Path(key).read_bytes())
        source = f"key {key}"
    else:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(sig["public_key_hex"]))
        source = "the public key inside signature.json (check it is the signer's)"
    if sig.get("root_digest") != digest:
        res.problems.append("signature.json signs another root digest")
        return "signature: not for this digest"
    try:
        pub.verify(bytes.fromhex(sig["signature_hex"]), digest.encode())
    except (InvalidSignature, ValueError):
        res.problems.append(f"signature does not verify with {source}")
        return "signature: INVALID"
    return f"signature: valid Ed25519 signature of the root digest, checked with {source}"


def _rerun(
    rows: list[dict[str, Any]], k: int, seed: int, res: VerifyResult, cwd: Path | None
) -> None:
    from sim.runner.run import run_loaded
    from sim.scenario.load import load_scenario

    done = [r for r in rows if r.get("log_sha256")]
    rng = np.random.default_rng(seed)
    pick = [done[i] for i in sorted(rng.choice(len(done), min(k, len(done)), replace=False))]
    for row in pick:
        path = Path(row["scenario_file"])
        if not path.exists() and cwd is not None and not path.is_absolute():
            path = cwd / path  # the campaign ran elsewhere: its paths are relative to there
        if not path.exists():
            res.problems.append(f"{row['name']}: scenario file {path} not found; cannot re-run")
            continue
        if file_sha256(path) != row["file_sha256"]:
            res.problems.append(f"{row['name']}: scenario file {path} changed since the run")
            continue
        out = run_loaded(
            load_scenario(path, row.get("params") or {}), agent=row.get("agent"), seed=row["seed"]
        )
        res.reran += 1
        if out.result.log.digest() != row["log_sha256"]:
            res.problems.append(
                f"{row['name']}: re-run does not reproduce bit for bit "
                f"(log {out.result.log.digest()[:12]}… vs "
                f"{row['log_sha256'][:12]}…)"
            )


def diff(a: Path, b: Path) -> dict[str, Any]:
    """Compare two campaigns of the same suite: verdict changes (new failures first) and the
    mean change of key metrics over runs present in both."""
    ra = {_match_key(r): r for r in _rows(Path(a)) if (r.get("role") or "sut") == "sut"}
    rb = {_match_key(r): r for r in _rows(Path(b)) if (r.get("role") or "sut") == "sut"}
    common = sorted(set(ra) & set(rb), key=lambda k: rb[k]["name"])
    changes = []
    for k in common:
        va, vb = ra[k]["verdict"], rb[k]["verdict"]
        if va != vb:
            changes.append(
                {
                    "name": rb[k]["name"],
                    "family": rb[k]["family"],
                    "before": va,
                    "after": vb,
                    "new_failure": va == "pass" and vb != "pass",
                }
            )
    changes.sort(key=lambda c: (not c["new_failure"], c["name"]))
    deltas = {}
    for m in ("min_ttc_s", "min_time_headway_s", "min_distance_m", "max_decel_mps2"):
        pairs = [((ra[k]["metrics"] or {}).get(m), (rb[k]["metrics"] or {}).get(m)) for k in common]
        d = [
            float(y) - float(x)
            for x, y in pairs
            if isinstance(x, int | float)
            and isinstance(y, int | float)
            and np.isfinite(x)
            and np.isfinite(y)
        ]
        if d:
            deltas[m] = {
                "mean": float(np.mean(d)),
                "min": float(np.min(d)),
                "max": float(np.max(d)),
                "n": len(d),
            }
    return {
        "common": len(common),
        "only_a": len(set(ra) - set(rb)),
        "only_b": len(set(rb) - set(ra)),
        "changes": changes,
        "metric_deltas": deltas,
    }
