"""Integrity of a campaign folder: digests, signatures, re-runs; and campaign diffs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metrics.report import (
    DIGEST_FORMAT,
    file_sha256,
    folder_files,
    root_digest,
    stored_digests,
    stored_rows,
)
from sim.errors import ProvingGroundError, UsageError
from sim.runner.classes import match_key
from sim.runner.store import ResultsStore


@dataclass
class VerifyResult:
    checked_files: int = 0
    reran: int = 0
    recomputed: int = 0
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

    digest = json.loads((folder / "digest.json").read_text())["root_digest"]  # covers all
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


def verify(
    folder: Path,
    *,
    rerun: int = 0,
    recompute: bool = False,
    key: Path | None = None,
    seed: int = 0,
    allow_file_agents: bool = False,
) -> VerifyResult:
    """Check a campaign (or run) folder against its digest.json: every file, every stored
    run (verdict, metrics, criteria), the root digest and the signature if any; re-run
    ``rerun`` sampled runs (log, verdict, metrics and criteria must all be reproduced); with
    ``recompute``, recompute the metrics and criteria of every kept log."""
    folder = Path(folder)
    res = VerifyResult()
    if not (folder / "manifest.json").exists():
        raise UsageError(f"{folder}: no manifest.json (not a campaign or run folder)")
    dfile = folder / "digest.json"
    if not dfile.exists():
        raise UsageError(f"{folder}: no digest.json; run `pground report {folder}` first")
    recorded = json.loads(dfile.read_text())
    if recorded.get("format") != DIGEST_FORMAT:
        raise UsageError(
            f"{dfile}: format {recorded.get('format', 'proving-ground-digest/1')!r}, not "
            f"{DIGEST_FORMAT!r} (written by an older version); run `pground report {folder}`"
        )
    files = folder_files(folder)
    rows = stored_rows(folder)
    runs = stored_digests(folder)
    name = {str(r["job_id"]): r.get("name") or r["job_id"] for r in rows}
    res.checked_files = len(files)
    for path, sha in sorted(recorded["files"].items()):
        if path not in files:
            res.problems.append(f"missing file: {path}")
        elif files[path] != sha:
            res.problems.append(f"modified file: {path}")
    for path in sorted(set(files) - set(recorded["files"])):
        res.problems.append(f"file not in the digest: {path}")
    for job, sha in sorted(recorded["runs"].items()):
        if job not in runs:
            res.problems.append(f"results.sqlite: run {job} is missing")
        elif runs[job] != sha:
            res.problems.append(
                f"results.sqlite: run {name[job]} changed (its stored verdict, metrics, "
                "criteria or other columns differ from the digest)"
            )
    for job in sorted(set(runs) - set(recorded["runs"])):
        res.problems.append(f"results.sqlite: run {name[job]} is not in the digest")
    if root_digest(recorded["files"], recorded["runs"]) != recorded["root_digest"]:
        res.problems.append("digest.json: its root digest is not the digest of its own lists")
    # each kept run folder of a campaign against its own manifest
    for row in rows if (folder / "results.sqlite").exists() else []:
        rd = row.get("run_dir")
        if not rd:
            continue
        man = folder / rd / "manifest.json"
        if not man.exists():
            res.problems.append(f"run folder missing: {rd}")
            continue
        m = json.loads(man.read_text())
        for fname, sha in m.get("files", {}).items():
            p = folder / rd / fname
            if not p.exists() or file_sha256(p) != sha:
                res.problems.append(f"{rd}/{fname} does not match its run manifest")
        if m.get("log_sha256") != row.get("log_sha256"):
            res.problems.append(f"{rd}: log digest differs from the results store")
    sig = folder / "signature.json"
    if sig.exists():
        res.notes.append(_check_signature(sig, recorded["root_digest"], key, res))
    elif key is not None:
        res.problems.append("--key given but the folder is not signed (no signature.json)")
    cwd = json.loads((folder / "manifest.json").read_text()).get("cwd")
    base = Path(cwd) if cwd else None
    if rerun:
        _rerun(rows, rerun, seed, res, base, allow_file_agents)
    if recompute:
        _recompute(folder, rows, res, base)
        if (folder / "estimate.json").exists():
            from sim.runner.estimate import recompute as recompute_estimate

            # replayed from the stored runs (each compared with its log above)
            problems = recompute_estimate(folder, {str(r["job_id"]): r for r in rows})
            res.problems.extend(problems)
            if not problems:
                res.notes.append(
                    "estimate.json: every point, weight and the estimate replayed from the "
                    "stored runs"
                )
    return res


def _scenario_path(row: dict[str, Any], res: VerifyResult, cwd: Path | None) -> Path | None:
    """The run's scenario file, unchanged since the run (else a problem and None)."""
    path = Path(row["scenario_file"])
    if not path.exists() and cwd is not None and not path.is_absolute():
        path = cwd / path  # the campaign ran elsewhere: its paths are relative to there
    if not path.exists():
        res.problems.append(f"{row['name']}: scenario file {path} not found")
        return None
    if file_sha256(path) != row["file_sha256"]:
        res.problems.append(f"{row['name']}: scenario file {path} changed since the run")
        return None
    return path


def _compare(
    row: dict[str, Any],
    verdict: str,
    metrics: dict[str, Any],
    criteria: list[dict[str, Any]],
    res: VerifyResult,
    how: str,
) -> None:
    """Name every stored value the recomputation does not reproduce."""
    from sim.core.events import json_ready

    if verdict != row["verdict"]:
        res.problems.append(
            f"{row['name']}: {how} gives verdict {verdict}, stored {row['verdict']}"
        )
    stored = json_ready(row.get("metrics") or {})
    fresh = json_ready(metrics)
    for m in sorted(set(stored) | set(fresh)):
        if stored.get(m) != fresh.get(m):
            res.problems.append(
                f"{row['name']}: {how} gives {m} = {fresh.get(m)!r}, stored {stored.get(m)!r}"
            )
    if json_ready(criteria) != json_ready(row.get("criteria") or []):
        res.problems.append(f"{row['name']}: {how} gives other criteria results than stored")


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
    rows: list[dict[str, Any]],
    k: int,
    seed: int,
    res: VerifyResult,
    cwd: Path | None,
    allow_file_agents: bool = False,
) -> None:
    from sim.runner.run import run_loaded
    from sim.scenario.load import load_scenario

    done = [r for r in rows if r.get("log_sha256")]
    rng = np.random.default_rng(seed)
    pick = [done[i] for i in sorted(rng.choice(len(done), min(k, len(done)), replace=False))]
    for row in pick:
        path = _scenario_path(row, res, cwd)
        if path is None:
            continue
        try:
            out = run_loaded(
                load_scenario(path, row.get("params") or {}),
                agent=row.get("agent"),
                seed=row["seed"],
                trusted_agent=False,  # read back from the store: a file's word
                allow_file_agents=allow_file_agents,
            )
        except ProvingGroundError as exc:
            res.problems.append(f"{row['name']}: cannot re-run: {exc}")
            continue
        res.reran += 1
        if out.result.log.digest() != row["log_sha256"]:
            res.problems.append(
                f"{row['name']}: re-run does not reproduce bit for bit "
                f"(log {out.result.log.digest()[:12]}… vs "
                f"{row['log_sha256'][:12]}…)"
            )
        metrics = {m: v.value for m, v in out.metrics.items() if v.valid}
        _compare(row, out.verdict, metrics, [c.to_dict() for c in out.criteria], res, "re-run")


def _recompute(
    folder: Path, rows: list[dict[str, Any]], res: VerifyResult, cwd: Path | None
) -> None:
    """Metrics and criteria of every kept log, recomputed without re-simulating."""
    from metrics.criteria import evaluate, validity_problems
    from metrics.registry import RunData, compute_metrics
    from sim.core.events import Event
    from sim.core.log import RunLog
    from sim.scenario.load import load_scenario

    single = not (folder / "results.sqlite").exists()
    for row in rows:
        rd = folder if single else (folder / row["run_dir"] if row.get("run_dir") else None)
        if rd is None or not (rd / "log.npz").exists():
            continue
        path = _scenario_path(row, res, cwd)
        if path is None:
            continue
        loaded = load_scenario(path, row.get("params") or {})
        log = RunLog.load(rd / "log.npz")
        events = tuple(
            Event.from_dict(json.loads(line))
            for line in (rd / "events.jsonl").read_text().splitlines()
            if line
        )
        values = compute_metrics(RunData(log, events))
        verdict, crit, _ = evaluate(
            loaded.scenario.criteria,
            values,
            row["status"],
            validity=validity_problems(loaded.scenario, list(events)),
        )
        metrics = {m: v.value for m, v in values.items() if v.valid}
        _compare(row, verdict, metrics, [c.to_dict() for c in crit], res, "recomputation")
        res.recomputed += 1


DIFF_METRICS = ("min_ttc_s", "min_time_headway_s", "min_distance_m", "max_decel_mps2")
FAILING = ("fail", "error", "invalid")


def describe(folder: Path) -> dict[str, Any]:
    """What a campaign is, for a comparison: suite, agent, versions, digest, date."""
    folder = Path(folder)
    man = json.loads((folder / "manifest.json").read_text())
    rows = [r for r in _rows(folder) if (r.get("role") or "sut") == "sut"]
    dfile = folder / "digest.json"
    return {
        "folder": str(folder),
        "suite": (man.get("suite") or {}).get("name"),
        "suite_sha256": (man.get("suite") or {}).get("sha256"),
        "agent": man.get("agent") or (rows[0]["agent"] if rows else None),
        "agent_versions": sorted({r["agent_version"] for r in rows if r.get("agent_version")}),
        "agent_sha256": sorted({r["agent_digest"] for r in rows if r.get("agent_digest")}),
        "reference": man.get("reference"),
        "root_digest": json.loads(dfile.read_text())["root_digest"] if dfile.exists() else None,
        "date": max((r.get("finished_at") or "" for r in rows), default=""),
        "runs": len(rows),
    }


def diff(a: Path, b: Path, *, force: bool = False) -> dict[str, Any]:
    """Compare two campaigns of one suite run by run, by class (sim.runner.classes): class
    changes (regressions first), class counts of both, and metric changes of every run in
    both. Campaigns of different suites are refused unless ``force``."""
    from metrics.registry import METRICS
    from sim.runner.classes import classify, counts

    da, db = describe(a), describe(b)
    same = (
        da["suite_sha256"] == db["suite_sha256"]
        if da["suite_sha256"] and db["suite_sha256"]
        else da["suite"] == db["suite"]
    )
    if not same and not force:
        raise UsageError(
            f"{a} and {b} are campaigns of different suites ({da['suite']} "
            f"{(da['suite_sha256'] or '')[:12]}, {db['suite']} {(db['suite_sha256'] or '')[:12]}"
            "): nothing to compare run by run (--force compares what they share)"
        )
    ra = {match_key(r): r for r in classify(_rows(Path(a)), da["reference"])}
    rb = {match_key(r): r for r in classify(_rows(Path(b)), db["reference"])}
    common = sorted(set(ra) & set(rb), key=lambda k: rb[k]["name"])
    changes, runs = [], []
    for k in common:
        ca, cb = ra[k]["class"], rb[k]["class"]
        regression = cb in FAILING and ca != cb and (ca not in FAILING or cb != "fail")
        if ca != cb:
            changes.append(
                {
                    "name": rb[k]["name"],
                    "family": rb[k]["family"],
                    "before": ca,
                    "after": cb,
                    "regression": regression,
                }
            )
        ma, mb = ra[k].get("metrics") or {}, rb[k].get("metrics") or {}
        deltas = {}
        for m in sorted(set(ma) & set(mb)):
            x, y = _float(ma[m]), _float(mb[m])
            if x is not None and y is not None and x != y:
                d = y - x if np.isfinite(x) and np.isfinite(y) else None
                deltas[m] = {"a": x, "b": y, "delta": d, "unit": METRICS[m].unit}
        if ca != cb or deltas:
            runs.append({"name": rb[k]["name"], "a": ca, "b": cb, "metrics": deltas})
    changes.sort(key=lambda c: (not c["regression"], c["name"]))
    runs.sort(key=lambda r: (r["a"] == r["b"], r["name"]))
    aggregate = {}
    for m in DIFF_METRICS:
        d = [r["metrics"][m]["delta"] for r in runs if m in r["metrics"]]
        d = [x for x in d if x is not None]
        if d:
            aggregate[m] = {
                "mean": float(np.sum(d)) / len(common),
                "min": float(np.min(d)),
                "max": float(np.max(d)),
                "n": len(d),
                "unit": METRICS[m].unit,
            }
    return {
        "a": da,
        "b": db,
        "same_suite": same,
        "common": len(common),
        "only_a": len(set(ra) - set(rb)),
        "only_b": len(set(rb) - set(ra)),
        "counts_a": counts([ra[k] for k in common]),
        "counts_b": counts([rb[k] for k in common]),
        "changes": changes,
        "regressions": sum(c["regression"] for c in changes),
        "runs": runs,
        "metric_deltas": aggregate,
    }


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def diff_html(d: dict[str, Any]) -> str:
    """A side-by-side page of a comparison: who is compared, class changes (regressions
    first), then every run whose class or metrics changed, with units."""
    import html

    e = html.escape

    def who(x: dict[str, Any]) -> str:
        return (
            f"<td>{e(str(x['folder']))}</td><td>{e(str(x['agent']))} "
            f"{e(', '.join(x['agent_versions']))}</td><td><code>"
            f"{e(', '.join(s[:12] for s in x['agent_sha256']))}</code></td><td><code>"
            f"{e(str(x['root_digest'])[:16])}</code></td><td>{e(x['date'])}</td>"
        )

    rows = "".join(
        f"<tr class='{'bad' if c['regression'] else ''}'><td>{e(c['name'])}</td>"
        f"<td>{e(c['family'])}</td><td>{c['before']}</td><td>{c['after']}</td></tr>"
        for c in d["changes"]
    )
    runs = "".join(
        f"<tr><td>{e(r['name'])}</td><td>{r['a']}</td><td>{r['b']}</td><td>"
        + "<br>".join(
            f"{e(m)}: {v['a']:.4g} → {v['b']:.4g} {e(v['unit'])}"
            + (f" ({v['delta']:+.4g})" if v["delta"] is not None else "")
            for m, v in r["metrics"].items()
        )
        + "</td></tr>"
        for r in d["runs"]
    )
    counts = "".join(
        f"<tr><td>{k}</td><td>{d['counts_a'].get(k, 0)}</td><td>{d['counts_b'].get(k, 0)}</td></tr>"
        for k in ("pass", "fail", "not_preventable", "error", "invalid")
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>pground diff</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        ".bad{background:#fde0d0}</style></head><body><h1>Campaign comparison</h1>"
        "<table><tr><th></th><th>folder</th><th>agent</th><th>agent SHA-256</th>"
        f"<th>root digest</th><th>date</th></tr><tr><th>A</th>{who(d['a'])}</tr>"
        f"<tr><th>B</th>{who(d['b'])}</tr></table>"
        f"<p>{d['common']} runs in both, {d['only_a']} only in A, {d['only_b']} only in B; "
        f"<b>{d['regressions']} regression(s)</b>.</p>"
        f"<h2>Classes of the runs in both</h2><table><tr><th>class</th><th>A</th><th>B</th>"
        f"</tr>{counts}</table>"
        "<h2>Class changes (regressions first)</h2><table><tr><th>run</th><th>family</th>"
        f"<th>A</th><th>B</th></tr>{rows}</table>"
        "<h2>Runs that changed (class, then metrics B − A)</h2><table><tr><th>run</th>"
        f"<th>A</th><th>B</th><th>metrics</th></tr>{runs}</table></body></html>"
    )
