"""Campaign reports: ``report.json`` (schema ``proving-ground-report/1``), a self-contained
``report.html`` (inline CSS, SVG and a little JavaScript; no network) and ``junit.xml``.

Everything is computed from the campaign folder (results.sqlite, manifests, kept run folders);
nothing is re-run. ``digest.json`` holds the SHA-256 of every file the evidence rests on and
the campaign's root digest (verified by ``pground verify``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import shlex
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np

from metrics.registry import METRICS
from metrics.stats import clopper_pearson, poisson_rate, zero_failure_upper
from sim.core.events import json_ready
from sim.errors import CLASS_LABELS, CLASSES
from sim.validity import CHECKS as VALIDITY_CHECKS

FORMAT = "proving-ground-report/2"
KEY_METRICS = ("min_ttc_s", "min_time_headway_s", "min_distance_m", "max_decel_mps2")
EVENT_COUNTS = {
    "collisions": "collisions",
    "red_lights_passed": "red lights passed",
    "lane_departures": "lane departures",
    "agent_faults": "agent faults",
    "los_count": "losses of separation (air)",
    "nmac_count": "near mid-air collisions",
    "lowc_count": "losses of well clear",
    "geofence_breaches": "geofence breaches",
    "groundings": "groundings",
    "colreg_findings": "COLREG rule findings",
    "spads": "signals passed at danger",
    "protection_interventions": "train protection interventions",
}
MAX_DETAILED_FAILURES = 50
#: Shown as 0: values this small are float noise (a 1e-13 m gap, a -5.7e-14 margin).
ZERO_SNAP = 1e-9


# ---------------------------------------------------------------------------- digests
def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


#: Written by ``pground report`` from the evidence (at any level of the folder): covered by
#: the signed root digest, left out of the evidence digest the report itself records.
REPORT_OUTPUTS = frozenset({"report.html", "report.json", "junit.xml", "digest.json"})
#: Never hashed as files: the digest and signature themselves, and the SQLite store (its
#: bytes change when it is read; its rows are digested one by one instead).
NOT_FILES = frozenset({"digest.json", "signature.json"})
STORE_FILES = frozenset(
    {"results.sqlite", "results.sqlite-wal", "results.sqlite-shm", "results.sqlite-journal"}
)
DIGEST_FORMAT = "proving-ground-digest/2"


def folder_files(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in ``folder`` and below (paths relative to it, '/'-separated),
    but for its own digest.json and signature.json, the results store and hidden files."""
    folder = Path(folder)
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if len(rel.parts) == 1 and (rel.name in NOT_FILES or rel.name in STORE_FILES):
            continue
        out[rel.as_posix()] = file_sha256(p)
    return out


def evidence_files(files: dict[str, str]) -> dict[str, str]:
    """The files a report is built from: all but report outputs."""
    return {k: v for k, v in files.items() if k.rsplit("/", 1)[-1] not in REPORT_OUTPUTS}


def row_digests(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """SHA-256 of each run (every column: verdict, metrics, criteria, …) as canonical JSON,
    by job id (a run folder's one run; a campaign's rows are digested as stored, see
    :func:`stored_digests`)."""
    return {
        str(r["job_id"]): hashlib.sha256(
            json.dumps(json_ready(r), sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        for r in rows
    }


def stored_digests(folder: Path) -> dict[str, str]:
    """The digest of every run a folder holds: each results-store row as stored, or the
    run folder's one run."""
    from sim.runner.store import ResultsStore

    folder = Path(folder)
    if not (folder / "results.sqlite").exists():
        return row_digests(stored_rows(folder))
    store = ResultsStore(folder / "results.sqlite")
    try:
        return store.row_digests()
    finally:
        store.close()


def root_digest(files: dict[str, str], rows: dict[str, str]) -> str:
    """One digest over file digests and run digests."""
    text = json.dumps({"files": files, "runs": rows}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def stored_rows(folder: Path) -> list[dict[str, Any]]:
    """The runs a folder holds: the results store's rows, or a run folder's one run."""
    from sim.runner.store import ResultsStore

    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("format") == "proving-ground-run/1":
        return _single_run(folder, manifest)[0]
    store = ResultsStore(folder / "results.sqlite")
    try:
        return list(store.rows())
    finally:
        store.close()


def write_digest(folder: Path, runs: dict[str, str] | None = None) -> dict[str, Any]:
    """(Re)write ``folder``/digest.json over everything the folder holds (``runs``: the run
    digests when the caller has them)."""
    files = folder_files(folder)
    runs = stored_digests(folder) if runs is None else runs
    doc = {
        "format": DIGEST_FORMAT,
        "root_digest": root_digest(files, runs),
        "evidence_digest": root_digest(evidence_files(files), runs),
        "files": files,
        "runs": runs,
    }
    (Path(folder) / "digest.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


def campaign_of(folder: Path) -> Path | None:
    """The campaign folder a run folder lies in (``C/runs/NAME``), if any."""
    folder = Path(folder).resolve()
    for up in list(folder.parents)[:2]:
        man = up / "manifest.json"
        if (up / "results.sqlite").exists() and man.exists():
            return up
    return None


# ---------------------------------------------------------------------------- document
def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f


def reproduce(row: dict[str, Any]) -> str:
    parts = ["pground", "run", row["scenario_file"]]
    for k, v in sorted((row.get("params") or {}).items()):
        parts += ["--set", f"{k}={v}"]
    parts += ["--seed", str(row["seed"])]
    if row.get("agent"):
        parts += ["--agent", row["agent"]]
    return shlex.join(parts)


def _match_key(row: dict[str, Any]) -> str:
    return json.dumps([row["file_sha256"], row.get("params") or {}, row["seed"]], sort_keys=True)


def build(folder: Path, runs: dict[str, str] | None = None) -> dict[str, Any]:
    """The report document of the campaign in ``folder`` (``runs``: its run digests, when
    the caller has them)."""
    from sim.domains import get_domain
    from sim.runner.classes import classify
    from sim.runner.classes import counts as class_counts

    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("format") == "proving-ground-run/1":
        manifest = _single_run(folder, manifest)[1]
    rows = stored_rows(folder)
    stored = stored_digests(folder) if runs is None else runs
    ref_agent = manifest.get("reference") or next(
        (r["agent"] for r in rows if r.get("role") == "reference"), None
    )
    sut = classify(rows, ref_agent)
    for r in sut:
        r["reproduce"] = reproduce(r)
        partner = r["reference"]
        if partner is not None:
            m = partner.get("metrics") or {}
            r["reference"] = {
                "agent": partner["agent"],
                "verdict": partner["verdict"],
                "reason": partner.get("reason") or partner.get("error"),
                "collisions": _num(m.get("collisions")),
                "impact_speed_mps": _num(m.get("collision_impact_speed_mps")),
                "log_sha256": partner.get("log_sha256"),
                "run_dir": partner.get("run_dir"),
                "reproduce": reproduce(partner),
                "criteria": partner.get("criteria") or [],
            }
    counts = class_counts(sut)
    n_judged = counts["pass"] + counts["fail"]
    summary: dict[str, Any] = {
        "runs": len(sut),
        "counts": dict(counts),
        "reference_agent": ref_agent,
        "pass_rate": None,
        "failure_rate_upper_95": None,
    }
    if n_judged:
        iv = clopper_pearson(counts["pass"], n_judged)
        summary["pass_rate"] = {
            "estimate": iv.estimate,
            "low": iv.low,
            "high": iv.high,
            "confidence": iv.confidence,
            "n": n_judged,
            "method": "Clopper-Pearson exact, two-sided",
        }
        if counts["fail"] == 0:
            summary["failure_rate_upper_95"] = zero_failure_upper(n_judged)
    km = sum(_num((r.get("metrics") or {}).get("progress_m")) or 0.0 for r in sut) / 1000.0
    hours = sum(r.get("simulated_s") or 0.0 for r in sut) / 3600.0
    exposure = {"km": km, "hours": hours, "encounters": len(sut)}
    rates = {}
    present = {m for r in sut for m in (r.get("metrics") or {})}
    for metric, label in EVENT_COUNTS.items():
        if metric not in present:  # an event of a domain this campaign does not hold
            continue
        k = int(sum(_num((r.get("metrics") or {}).get(metric)) or 0 for r in sut))
        rate: dict[str, Any] = {"label": label, "count": k}
        for unit, t in (("per_km", km), ("per_hour", hours)):
            if t > 0:
                iv = poisson_rate(k, t)
                rate[unit] = {"estimate": iv.estimate, "low": iv.low, "high": iv.high}
        rates[metric] = rate
    chosen = _chosen_runs(folder)
    if chosen:  # a share of passes among chosen runs is no rate: never shown as one
        summary.update(pass_rate=None, failure_rate_upper_95=None, not_a_rate=chosen)
    summary["exposure"] = exposure
    summary["event_rates"] = rates

    requirements: dict[str, dict[str, Any]] = {}
    for r in sut:
        for c in r.get("criteria") or []:
            key = c.get("requirement") or f"{c['metric']} {c['op']} {c['expected']}"
            req = requirements.setdefault(
                key,
                {
                    "requirement": c.get("requirement"),
                    "metric": c["metric"],
                    "op": c["op"],
                    "value": c["expected"],
                    "families": set(),
                    "runs": 0,
                    "passed": 0,
                    "failed": 0,
                    "not_preventable": 0,
                    "worst_margin": None,
                },
            )
            req["families"].add(r["family"])
            req["runs"] += 1
            if c["passed"]:
                req["passed"] += 1
            else:
                req["failed" if r["preventable"] else "not_preventable"] += 1
            m = _num(c.get("margin"))
            if (
                m is not None
                and math.isfinite(m)
                and (req["worst_margin"] is None or m < req["worst_margin"])
            ):
                req["worst_margin"] = m
    reqs = [{**v, "families": sorted(v["families"])} for _, v in sorted(requirements.items())]

    used = _used_models(sut, manifest.get("cwd"))
    families = []
    by_family: dict[str, list[dict]] = defaultdict(list)
    for r in sut:
        by_family[r["family"]].append(r)
    for fam, fr in sorted(by_family.items()):
        params: dict[str, dict[str, Any]] = {}
        for name in sorted({k for r in fr for k in (r.get("params") or {})}):
            vals = [r["params"][name] for r in fr if name in (r.get("params") or {})]
            nums = [v for v in (_num(x) for x in vals) if v is not None]
            params[name] = (
                {"min": min(nums), "max": max(nums), "distinct": len(set(nums))}
                if nums
                else {"values": sorted({str(v) for v in vals})}
            )
        dist = {}
        for m in KEY_METRICS:
            vals = [_num((r.get("metrics") or {}).get(m)) for r in fr]
            vals = [v for v in vals if v is not None and math.isfinite(v)]
            if vals:
                dist[m] = {
                    "min": min(vals),
                    "median": float(np.median(vals)),
                    "max": max(vals),
                    "n": len(vals),
                }
        fc = class_counts(fr)
        families.append(
            {
                "family": fam,
                "scenario_id": fr[0].get("scenario_id"),
                "description": used.get(fam, {}).get("description"),
                "units": (manifest.get("parameter_units") or {}).get(fam, {}),
                "suite_parameters": (
                    (manifest.get("sample") or {}).get("suite_parameters") or {}
                ).get(fam),
                "tags": used.get(fam, {}).get("tags", []),
                "file": fr[0]["scenario_file"],
                "file_sha256": fr[0]["file_sha256"],
                "runs": len(fr),
                "counts": dict(fc),
                "parameters": params,
                "metrics": dist,
            }
        )

    coverage = _coverage(families, sut)
    files = evidence_files(folder_files(folder))
    digest = root_digest(files, stored)
    domains_of = {f: _domains_of(f) for f in {r["scenario_file"] for r in sut}}
    domains = sorted(set().union(*domains_of.values()))
    credibility = []
    for d in domains:
        decl = dict(getattr(get_domain(d), "credibility", {}))
        models = dict(decl.get("models", {}))
        sensing = sorted({x for fam in used.values() for x in fam["sensors"].get(d, [])})
        if sensing and "sensing" in models:
            models["sensing"] = "declared sensor models, as used in this campaign: " + "; ".join(
                sensing
            )
        decl["models"] = models
        decl["used"] = [
            f"{name}: " + "; ".join(fam["sensors"].get(d, []) + fam["faults"].get(d, []))
            for name, fam in sorted(used.items())
            if fam["sensors"].get(d) or fam["faults"].get(d)
        ] or ["every run used the domain's ideal observation, with no fault"]
        decl["used"] += [
            f"{name}: " + "; ".join(fam["map"][d])
            for name, fam in sorted(used.items())
            if fam["map"].get(d)
        ]
        decl["checks"] = [
            f"{c.model}: {c.quantity} ≤ {c.limit:.4g} {c.unit} ({c.source})"
            for c in VALIDITY_CHECKS
            if c.domain == d
        ]
        in_domain = [r for r in sut if d in domains_of.get(r["scenario_file"], set())]
        left = [
            r
            for r in in_domain
            if (_num((r.get("metrics") or {}).get("validity_exceedances")) or 0) > 0
        ]
        decl["left_validity"] = {
            "runs": len(left),
            "of": len(in_domain),
            "examples": [r["name"] for r in left[:10]],
        }
        credibility.append({"domain": d, **decl})
    doc = {
        "format": FORMAT,
        "generated_by": f"proving-ground {manifest.get('packages', {}).get('proving-ground')}",
        "date": max((r.get("finished_at") or "" for r in rows), default=""),
        "system_under_test": {
            "agent": manifest.get("agent") or (sut[0]["agent"] if sut else None),
            "versions": sorted({r.get("agent_version") for r in sut if r.get("agent_version")}),
            "source_sha256": sorted({r.get("agent_digest") for r in sut if r.get("agent_digest")}),
            # the files behind each digest, to re-hash with sha256sum (agents/identity.py)
            "identity": list(
                {
                    i["sha256"]: i
                    for i in (r.get("agent_identity") for r in sut)
                    if isinstance(i, dict) and "sha256" in i
                }.values()
            ),
        },
        "campaign": {
            k: manifest.get(k)
            for k in ("suite", "executor", "workers", "keep_logs", "command", "sample")
        },
        "summary": summary,
        "requirements": reqs,
        "coverage": coverage,
        "families": families,
        "runs": [_run_entry(r) for r in sut],
        "failures": [_run_entry(r) for r in sut if r["class"] in ("fail", "error", "invalid")],
        "not_preventable": [_run_entry(r) for r in sut if r["class"] == "not_preventable"],
        "metric_definitions": [
            {
                "name": s.name,
                "version": s.version,
                "unit": s.unit,
                "domains": list(s.domains) or ["any"],
                "definition": s.doc,
                "source": s.source,
            }
            for s in sorted(METRICS.values(), key=lambda s: s.name)
        ],
        "provenance": {
            "evidence_digest": digest,
            "suite_sha256": (manifest.get("suite") or {}).get("sha256"),
            "scenario_files": {r["scenario_file"]: r["file_sha256"] for r in sut},
            "packages": manifest.get("packages"),
            "platform": manifest.get("platform"),
            "seeds": "each run's seed is the scenario file's seed, or for repetition r > 0 "
            "SeedSequence([seed, r]); every random stream of a run is spawned from "
            "its SeedSequence (one per domain and per agent)",
            "evidence_files": files,
        },
        "credibility": credibility,
        # executed evidence: the models against closed forms, at report time
        "verification": _selftest(),
        # the rate estimate these runs make, when `pground estimate` did (points: the file)
        "estimate": (
            {
                k: v
                for k, v in json.loads((folder / "estimate.json").read_text()).items()
                if k != "points"
            }
            if (folder / "estimate.json").exists()
            else None
        ),
        # the search that made these runs, when `pground search` did
        "search": (
            json.loads((folder / "search.json").read_text())
            if (folder / "search.json").exists()
            else None
        ),
        # and the step-size study, when `--convergence` made one
        "convergence": (
            json.loads((folder / "convergence.json").read_text())
            if (folder / "convergence.json").exists()
            else None
        ),
    }
    return json_ready(doc)


def _selftest() -> dict[str, Any]:
    from sim.selftest import run

    return run()


def _coverage(families: list[dict[str, Any]], sut: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per regulation test catalogue a family's tags refer to (``r157-annex5:4.4_1``): every
    test of the catalogue, the families that implement it, their runs by class and the
    requirement ids their criteria check; tests no family implements show as not covered."""
    from metrics.catalogues import CATALOGUES, implemented
    from sim.runner.classes import counts as class_counts

    by_test: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fam in families:
        for key, tests in implemented(fam.get("tags") or []).items():
            for t in tests:
                by_test[(key, t)].append(fam["family"])
    out = []
    for key in sorted({k for k, _ in by_test}):
        cat = CATALOGUES[key]
        rows = []
        for t in cat.tests:
            fams = sorted(by_test.get((key, t.id), []))
            runs = [r for r in sut if r["family"] in fams]
            reqs = sorted(
                {c.get("requirement") for r in runs for c in r.get("criteria") or []} - {None}
            )
            rows.append(
                {
                    "id": t.id,
                    "name": t.name,
                    "criterion": t.criterion,
                    "families": fams,
                    "runs": len(runs),
                    "counts": class_counts(runs) if runs else {},
                    "requirements": reqs,
                }
            )
        out.append({"catalogue": key, "title": cat.title, "source": cat.source, "tests": rows})
    return out


def _used_models(sut: list[dict[str, Any]], cwd: str | None) -> dict[str, dict[str, Any]]:
    """Per scenario family, the sensor models and faults its runs used, by domain, read
    from the resolved scenario of the family's first run (what the credibility section
    reports instead of a fixed text)."""
    from sim.errors import ProvingGroundError
    from sim.scenario.load import load_scenario

    out: dict[str, dict[str, Any]] = {}
    for r in sut:
        if r["family"] in out:
            continue
        fam: dict[str, Any] = {
            "sensors": defaultdict(list),
            "faults": defaultdict(list),
            "map": defaultdict(list),
            "description": None,
            "tags": [],
        }
        out[r["family"]] = fam
        path = Path(r["scenario_file"])
        if not path.exists() and cwd and not path.is_absolute():
            path = Path(cwd) / path
        try:
            sc = load_scenario(path, r.get("params") or {}).scenario
        except (ProvingGroundError, OSError):
            continue  # the file is gone or changed: verify says so
        for dom, part in sc.map.model_dump(exclude_defaults=True).items():
            feats = [k for k, v in part.items() if v not in (None, [], {}, False)]
            if feats:
                fam["map"][dom].append("map: " + ", ".join(sorted(feats)))
        fam["description"] = " ".join(sc.description.split()) or None
        fam["tags"] = list(sc.tags)
        domain = {e.id: e.domain for e in sc.entities}
        for eid, specs in sc.sensors.items():
            for spec in specs:
                opts = spec.model_dump(exclude_defaults=True, exclude={"id", "type"})
                detail = ", ".join(f"{k} {v}" for k, v in sorted(opts.items()))
                fam["sensors"][domain[eid]].append(
                    f"{eid}: {spec.type}" + (f" ({detail})" if detail else "")
                )
        for f in sc.faults:
            opts = f.model_dump(exclude_none=True, exclude={"id", "kind", "entity"})
            detail = ", ".join(f"{k} {v}" for k, v in sorted(opts.items()))
            d = domain.get(f.entity or "") or next(iter(sorted(set(domain.values()))))
            on = f" on {f.entity}" if f.entity else ""
            fam["faults"][d].append(f"fault {f.id}: {f.kind}{on} ({detail})")
    return out


def _single_run(folder: Path, manifest: dict[str, Any]) -> tuple[list[dict], dict[str, Any]]:
    """A run folder seen as a campaign of one run (``pground report RUN_DIR``)."""
    m = json.loads((folder / "metrics.json").read_text())
    agent = next(iter(manifest["agents"].values()))
    row = {
        "job_id": manifest["log_sha256"][:20],
        "name": manifest["scenario"]["id"],
        "family": manifest["scenario"]["id"],
        "scenario_id": manifest["scenario"]["id"],
        "scenario_file": manifest["scenario"]["file"],
        "file_sha256": manifest["scenario"]["sha256"],
        "params": manifest["overrides"],
        "seed": manifest["seed"],
        "agent": agent["spec"],
        "verdict": m["verdict"],
        "status": m["status"],
        "reason": m["reason"],
        "metrics": {k: v["value"] for k, v in m["metrics"].items() if v["valid"]},
        "criteria": m["criteria"],
        "log_sha256": m["log_sha256"],
        "run_dir": ".",
        "simulated_s": m["simulated_s"],
        "role": "sut",
        "agent_version": f"{agent.get('name')}@{agent.get('version')}",
        "agent_digest": agent.get("digest"),
        "agent_identity": agent.get("identity"),
        "finished_at": "",
    }
    campaign = {
        "suite": {"name": manifest["scenario"]["id"], "file": None, "sha256": None},
        "agent": agent["spec"],
        "packages": manifest["packages"],
        "platform": manifest["platform"],
        "command": manifest.get("command"),
    }
    return [row], campaign


def _domains_of(scenario_file: str) -> set[str]:
    """Domains a scenario file uses (its entities' and its map's), read without validating."""
    from sim.errors import ScenarioError
    from sim.scenario.yamlio import load_with_lines

    try:
        data, _ = load_with_lines(Path(scenario_file))
    except ScenarioError:
        return set()
    if not isinstance(data, dict):
        return set()
    found = {e.get("domain") for e in data.get("entities") or [] if isinstance(e, dict)}
    found |= set(data.get("map") or {})
    return {d for d in found if isinstance(d, str)}


def _run_entry(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": r["name"],
        "family": r["family"],
        "verdict": r["verdict"],
        "classification": r["class"],
        "preventable": r["preventable"],
        "reference_verdict": r.get("reference_verdict"),
        "reference_note": r.get("reference_note"),
        "reference": r.get("reference"),
        "status": r.get("status"),
        "reason": r.get("reason") or r.get("error"),
        "params": r.get("params") or {},
        "seed": r["seed"],
        "metrics": {k: (r.get("metrics") or {}).get(k) for k in (*KEY_METRICS, "collisions")},
        "criteria": r.get("criteria") or [],
        "log_sha256": r.get("log_sha256"),
        "run_dir": r.get("run_dir"),
        "reproduce": r["reproduce"],
        "faults": r.get("faults") or [],
    }


def _unit(c: dict[str, Any]) -> str:
    """' s', ' m/s^2', … of a criterion or requirement (nothing for counts)."""
    unit = c.get("unit") or (METRICS[c["metric"]].unit if c.get("metric") in METRICS else "")
    return "" if unit in ("", "count", "1", "fraction") else f" {unit}"


def failed_criteria(run: dict[str, Any]) -> str:
    """'R157-5.1.1: collisions == 0 (actual 1, margin -1); …' for a run's failed criteria."""
    return "; ".join(
        f"{c.get('requirement') or c['metric']}: {c['metric']} {c['op']} {_f(c['expected'])}"
        f"{_unit(c)} (actual {_f(c['actual'])}{_unit(c)}, margin {_f(c['margin'])}{_unit(c)})"
        for c in run["criteria"]
        if not c["passed"]
    )


# ---------------------------------------------------------------------------- JUnit
def junit(doc: dict[str, Any]) -> str:
    """JUnit XML: a testsuite per family, a testcase per run; failures of the system as
    <failure type="criteria">, not-preventable runs as <failure type="not-preventable">
    (a failure with its label, never skipped), errors and invalid runs as <error>."""
    root = ET.Element(
        "testsuites",
        name=f"proving-ground {doc['campaign']['suite']['name']}",
        tests=str(len(doc["runs"])),
    )
    by_family: dict[str, list[dict]] = defaultdict(list)
    for r in doc["runs"]:
        by_family[r["family"]].append(r)
    for fam, runs in sorted(by_family.items()):
        fails = sum(r["classification"] in ("fail", "not_preventable") for r in runs)
        errors = sum(r["classification"] in ("error", "invalid") for r in runs)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=fam,
            tests=str(len(runs)),
            failures=str(fails),
            errors=str(errors),
            skipped="0",
        )
        for r in runs:
            case = ET.SubElement(suite, "testcase", classname=fam, name=r["name"])
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="class", value=r["classification"])
            for k, v in sorted(r["params"].items()):
                ET.SubElement(props, "property", name=f"param.{k}", value=str(v))
            ET.SubElement(props, "property", name="seed", value=str(r["seed"]))
            ET.SubElement(props, "property", name="log_sha256", value=str(r["log_sha256"]))
            if r["classification"] == "not_preventable":
                msg = "not preventable: the reference agent could not avoid it either; "
                el = ET.SubElement(
                    case, "failure", message=msg + failed_criteria(r), type="not-preventable"
                )
                el.text = f"{r['reason']}\nreproduce: {r['reproduce']}"
            elif r["classification"] == "fail":
                msg = failed_criteria(r)
                el = ET.SubElement(case, "failure", message=msg or "failed", type="criteria")
                el.text = f"{r['reason']}\nreproduce: {r['reproduce']}"
            elif r["classification"] in ("error", "invalid"):
                el = ET.SubElement(
                    case, "error", message=str(r["reason"])[:500], type=r["classification"]
                )
                el.text = f"reproduce: {r['reproduce']}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------------- SVG plots
def _svg_histogram(values: list[float], width: int = 260, height: int = 110, bins: int = 12) -> str:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return (
            '<svg class="plot" width="260" height="40"><text x="4" y="20">no finite '
            "values</text></svg>"
        )
    counts, edges = np.histogram(vals, bins=bins)
    top = max(counts.max(), 1)
    bw = (width - 10) / bins
    bars = "".join(
        f'<rect x="{5 + i * bw:.1f}" y="{height - 18 - c / top * (height - 30):.1f}" '
        f'width="{bw - 1:.1f}" height="{c / top * (height - 30):.1f}" fill="#0072B2">'
        f"<title>{edges[i]:.3g}–{edges[i + 1]:.3g}: {c}</title></rect>"
        for i, c in enumerate(counts)
    )
    return (
        f'<svg class="plot" width="{width}" height="{height}">{bars}'
        f'<text x="5" y="{height - 4}">{edges[0]:.3g}</text>'
        f'<text x="{width - 5}" y="{height - 4}" text-anchor="end">{edges[-1]:.3g}</text>'
        "</svg>"
    )


COLOUR = {
    "pass": "#009E73",
    "fail": "#D55E00",
    "error": "#CC79A7",
    "invalid": "#CC79A7",
    "not_preventable": "#999999",
}


MAX_SCATTER_PASSES = 1500  # passing runs drawn per plot (every failure always is)


def _thinned(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every run that did not pass, and an even subset of at most MAX_SCATTER_PASSES passing
    runs (keeps the page small at 10,000 runs)."""
    passed = [r for r in runs if r["classification"] == "pass"]
    step = max(1, math.ceil(len(passed) / MAX_SCATTER_PASSES))
    keep = {id(r) for r in passed[::step]}
    return [r for r in runs if r["classification"] != "pass" or id(r) in keep]


def _thinned_note(runs: list[dict[str, Any]]) -> str:
    passed = sum(r["classification"] == "pass" for r in runs)
    if passed <= MAX_SCATTER_PASSES:
        return ""
    return f"; {len(_thinned(runs)) - (len(runs) - passed)} of {passed} passing runs drawn"


def _svg_scatter(
    points: list[tuple[float, float, str, str]],
    xl: str,
    yl: str,
    size: int = 300,
    xu: str | None = None,
    yu: str | None = None,
) -> str:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    pad = 30

    def sx(v: float) -> float:
        return pad + (v - x0) / ((x1 - x0) or 1) * (size - 2 * pad)

    def sy(v: float) -> float:
        return size - pad - (v - y0) / ((y1 - y0) or 1) * (size - 2 * pad)

    dots = "".join(
        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{COLOUR.get(v, "#000")}" '
        f'fill-opacity="0.75"><title>{html.escape(name)}: {v}</title></circle>'
        for x, y, v, name in points
    )
    return (
        f'<svg class="plot" width="{size}" height="{size}">'
        f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" '
        f'fill="none" stroke="#ccc"/>{dots}'
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle">{html.escape(xl)} '
        f"({html.escape(_in_unit(x0, xu))} … {html.escape(_in_unit(x1, xu))})</text>"
        f'<text x="10" y="{size / 2}" transform="rotate(-90 10 {size / 2})" '
        f'text-anchor="middle">{html.escape(yl)} ({html.escape(_in_unit(y0, yu))} … '
        f"{html.escape(_in_unit(y1, yu))})</text></svg>"
    )


def _svg_series(
    t: np.ndarray,
    y: np.ndarray,
    label: str,
    threshold: float | None = None,
    events: Iterable[float] = (),
    width: int = 420,
    height: int = 120,
) -> str:
    ok = np.isfinite(y)
    if not ok.any():
        return ""
    yv = y[ok]
    lo, hi = (
        float(min(yv.min(), threshold if threshold is not None else yv.min())),
        float(max(yv.max(), threshold if threshold is not None else yv.max())),
    )
    hi = hi if hi > lo else lo + 1.0
    t0, t1 = float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1.0

    def px(tv: float) -> float:
        return 40 + (tv - t0) / (t1 - t0) * (width - 50)

    def py(v: float) -> float:
        return height - 20 - (v - lo) / (hi - lo) * (height - 35)

    pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(t[ok], yv, strict=True))
    extra = ""
    if threshold is not None:
        extra += (
            f'<line x1="40" x2="{width - 10}" y1="{py(threshold):.1f}" '
            f'y2="{py(threshold):.1f}" stroke="#D55E00" stroke-dasharray="4 3"/>'
            f'<text x="{width - 10}" y="{py(threshold) - 3:.1f}" text-anchor="end" '
            f'fill="#D55E00">criterion {threshold:g}</text>'
        )
    for te in events:
        extra += (
            f'<line x1="{px(te):.1f}" x2="{px(te):.1f}" y1="10" y2="{height - 20}" '
            f'stroke="#CC79A7"/>'
        )
    return (
        f'<svg class="plot" width="{width}" height="{height}"><polyline points="{pts}" '
        f'fill="none" stroke="#0072B2" stroke-width="1.5"/>{extra}'
        f'<text x="40" y="12">{html.escape(label)}</text>'
        f'<text x="4" y="{py(hi) + 4:.1f}">{hi:.3g}</text>'
        f'<text x="4" y="{py(lo) + 4:.1f}">{lo:.3g}</text>'
        f'<text x="40" y="{height - 4}">{t0:.1f} s</text>'
        f'<text x="{width - 10}" y="{height - 4}" text-anchor="end">{t1:.1f} s</text>'
        "</svg>"
    )


def _failure_detail(folder: Path, run: dict[str, Any]) -> str:
    """Event timeline, signal plots with thresholds and a still, from the kept run folder."""
    from metrics.registry import RunData
    from metrics.road import lead_series
    from sim.core.events import Event
    from sim.core.log import RunLog

    rd = folder / run["run_dir"] if run.get("run_dir") else None
    if rd is None or not (rd / "log.npz").exists():
        return "<p><em>No run folder kept for this run (--keep-logs).</em></p>"
    log = RunLog.load(rd / "log.npz")
    events = [
        Event.from_dict(json.loads(x)) for x in (rd / "events.jsonl").read_text().splitlines() if x
    ]
    shown = [e for e in events if e.kind != "manoeuvre"] or events
    rows = "".join(
        f"<tr><td>{e.time_s:.2f} s</td><td>{html.escape(e.kind)}</td>"
        f"<td>{html.escape(', '.join(e.entities))}</td><td>{_readable(e.details)}"
        f"<details class='raw'><summary>raw</summary><code>"
        f"{html.escape(json.dumps(e.details))}</code></details></td></tr>"
        for e in events[:40]
    )
    out = [
        f'<table class="small"><tr><th>time</th><th>event</th><th>entities</th>'
        f"<th>details</th></tr>{rows}</table>"
    ]
    thresholds = {c["metric"]: c["expected"] for c in run["criteria"]}
    t = log.time_s
    ev_t = [e.time_s for e in shown if e.kind != "manoeuvre"]
    if "road" in log.arrays:
        data = RunData(log, tuple(events))
        ego = data.controlled.get("road", [0])[0]
        out.append(
            _svg_series(
                t, log.arrays["road"]["speed_mps"][:, ego] * 3.6, "ego speed (km/h)", events=ev_t
            )
        )
        series = lead_series(data)
        if series:
            ls = series[0]
            gap = np.where(np.isfinite(ls.gap_m), ls.gap_m, np.nan)
            out.append(
                _svg_series(t, gap, "gap to lead (m)", thresholds.get("min_distance_m"), ev_t)
            )
            closing = ls.u_ego - ls.u_lead
            with np.errstate(divide="ignore", invalid="ignore"):
                ttc = np.where((closing > 0) & np.isfinite(gap), gap / closing, np.nan)
            ttc = np.where(ttc > 10, np.nan, ttc)
            out.append(
                _svg_series(
                    t, ttc, "TTC to lead (s, shown ≤ 10 s)", thresholds.get("min_ttc_s"), ev_t
                )
            )
    still = _still(rd, shown[0].tick if shown else None, shown[0].entities if shown else ())
    if still:
        out.append(
            f'<img class="still" alt="the run at its first event" '
            f'src="data:image/png;base64,{still}">'
        )
    return "".join(out)


def _still(run_dir: Path, tick: int | None, entities: tuple[str, ...] = ()) -> str | None:
    """A PNG (base64) of the run at ``tick`` from the viewer, framed on ``entities`` (the
    event's), if pygame can render here."""
    try:
        import io
        import os

        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner in our output
        import pygame

        from sim.viewer.app import event_still
        from sim.viewer.render import Scene

        scene = Scene.from_run_folder(run_dir)
        surf = event_still(scene, tick if tick is not None else scene.n_rows // 2, entities)
        buf = io.BytesIO()
        pygame.image.save(surf, buf, "still.png")
        return base64.b64encode(buf.getvalue()).decode()
    except Exception:
        return None


# ---------------------------------------------------------------------------- HTML
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222}
header{background:#0b3d5c;color:#fff;padding:14px 24px}header h1{margin:0;font-size:21px}
nav{padding:6px 24px;background:#eef2f5;position:sticky;top:0;z-index:2}
nav a{margin-right:14px;color:#0b3d5c}main{padding:0 24px 40px;max-width:1300px}
h2{border-bottom:2px solid #0b3d5c;padding-top:18px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f6f8;cursor:pointer}table.small td{font-size:12px}
.pass{color:#00785a;font-weight:600}.fail{color:#c24a00;font-weight:600}
.error,.invalid{color:#a0427a;font-weight:600}.not_preventable{color:#777;font-weight:600}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.big{font-size:28px;font-weight:700}.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:190px}
.plot{background:#fafafa;border:1px solid #eee;margin:4px;font:11px sans-serif}
code{background:#f3f3f3;padding:1px 4px;word-break:break-all}
.still{border:1px solid #ccc;margin:6px 0;width:100%;max-width:760px}
.fam{display:flex;flex-wrap:wrap;align-items:flex-start}details{margin:8px 0}
#pager button{margin:0 2px}
tr.uncovered td{color:#999}tr.bad td{background:#fde0d0}details.raw{display:inline;margin:0 0 0 6px}
details.raw summary{color:#777;font-size:11px}
@media print{nav,#pager,#filter,#verdict,details.raw{display:none}header{background:#fff;
color:#000;border-bottom:2px solid #000}main{max-width:none;padding:0}
h2{break-after:avoid}details,table,svg,img{break-inside:avoid}a{color:#000}}
"""

JS = """
const RUNS = JSON.parse(document.getElementById('runs-data').textContent);
let rows = RUNS, page = 0, sortKey = null, sortDir = 1; const PER = 100;
function fmt(v){ if(v===null||v===undefined) return ''; if(typeof v==='number')
  return Math.abs(v)<1e-9? '0': Math.abs(v)>=1e4? v.toFixed(0): (+v.toPrecision(4)).toString();
  return String(v); }
function apply(){
  const q = document.getElementById('filter').value.toLowerCase();
  const v = document.getElementById('verdict').value;
  rows = RUNS.filter(r => (!v || r.v === v) &&
    (!q || (r.name + ' ' + r.family + ' ' + r.params).toLowerCase().includes(q)));
  if (sortKey) rows.sort((a, b) => { const x = a[sortKey], y = b[sortKey];
    return (x === y ? 0 : (x === null ? 1 : y === null ? -1 : (x < y ? -1 : 1))) * sortDir; });
  page = 0; draw();
}
const COLS = ['name','family','v','params','ttc','thw','dist','decel','margin','faults'];
function row(r){
  const tr = document.createElement('tr');
  for (const k of COLS) {
    const td = document.createElement('td');
    if (k === 'name' && r.link) { const a = document.createElement('a');
      a.href = '#' + r.link; a.textContent = r.name; td.appendChild(a); }
    else td.textContent = fmt(r[k]) + (k === 'margin' && r.mu && r.margin !== null
      ? ' ' + r.mu : '');
    if (k === 'v') td.className = r.v; tr.appendChild(td); }
  return tr;
}
function draw(){
  const body = document.getElementById('runs-body'); body.innerHTML = '';
  for (const r of rows.slice(page * PER, page * PER + PER)) body.appendChild(row(r));
  const pages = Math.max(1, Math.ceil(rows.length / PER));
  document.getElementById('count').textContent = rows.length + ' runs, page ' + (page + 1)
    + ' of ' + pages;
}
function go(d){ const pages = Math.max(1, Math.ceil(rows.length / PER));
  page = Math.min(Math.max(page + d, 0), pages - 1); draw(); }
function sortBy(k){ sortDir = (sortKey === k) ? -sortDir : 1; sortKey = k; apply(); }
document.getElementById('filter').addEventListener('input', apply);
// printing (or saving as PDF) shows every section and every run, not the page on screen
window.addEventListener('beforeprint', () => {
  document.querySelectorAll('details:not(.raw)').forEach(d => { d.open = true; });
  const body = document.getElementById('runs-body'); body.innerHTML = '';
  for (const r of rows) body.appendChild(row(r));
});
window.addEventListener('afterprint', draw);
document.getElementById('verdict').addEventListener('change', apply);
apply();
"""


def _sampling_html(sample: dict[str, Any] | None) -> str:
    if not sample:
        return "<p id='sampling'>Every run of the suite was run.</p>"
    return (
        f"<p id='sampling'><b>{sample['runs']} of {sample['of']} runs</b> of the suite, sampled "
        f"by {html.escape(sample['method'])} with seed {sample['seed']}: the rates below are "
        "of the sample; each family shows the sample's and the suite's parameter ranges.</p>"
    )


def param_text(value: Any, unit: str | None) -> str:
    """A parameter as plain text for the runs table (numbers in the suite's unit)."""
    return _in_unit(value, unit) if _num(value) is not None else str(value)


def _in_unit(value: Any, unit: str | None) -> str:
    """An SI value shown in the unit the suite file used ('60 km/h'), or as is."""
    from sim.units import from_si

    f = _num(value)
    if unit is None or f is None or not math.isfinite(f):
        return _f(value)
    return f"{_f(from_si(f, unit))} {unit}"


def _readable(details: dict[str, Any]) -> str:
    """Event details as text: 'relative speed 13.89 m/s, kinds car, pedestrian', numbers to
    4 significant digits with the unit their key names (SI suffixes), float noise as 0."""
    units = {"_mps2": " m/s²", "_mps": " m/s", "_m": " m", "_s": " s", "_deg": "°", "_rad": " rad"}
    out = []
    for k, v in details.items():
        label, unit = k, ""
        for suffix, u in units.items():
            if k.endswith(suffix):
                label, unit = k[: -len(suffix)], u
                break
        if isinstance(v, list | tuple):
            text = ", ".join(_f(x) if _num(x) is not None else str(x) for x in v)
        elif isinstance(v, dict):
            text = json.dumps(v, sort_keys=True)
        elif isinstance(v, bool) or _num(v) is None:
            text = str(v)
        else:
            text = _f(v)
        out.append(f"{label.replace('_', ' ')} {text}{unit if text else ''}")
    return html.escape("; ".join(out))


def _smallest_margin(criteria: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs table's margin cell: the smallest finite margin and its unit ('mu')."""
    best = min(
        (
            (m, c)
            for c in criteria
            for m in [_num(c.get("margin"))]
            if m is not None and math.isfinite(m)
        ),
        default=None,
        key=lambda mc: mc[0],
    )
    if best is None:
        return {"margin": None, "mu": None}
    return {"margin": best[0], "mu": _unit(best[1]).strip() or None}


def _anchor(name: str) -> str:
    """An HTML id for a run's details (letters, digits, '-', '_' only)."""
    return "run-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _identity_html(ident: dict[str, Any]) -> str:
    """How to re-hash an agent's digest with ordinary tools (agents/identity.py)."""
    e = html.escape
    files = " ".join(shlex.quote(f["path"]) for f in ident.get("files", []))
    where = f"in <code>{e(ident['source_root'])}</code>" if ident.get("source_root") else "anywhere"
    extra = []
    if ident.get("git_revision"):
        dirty = ", with uncommitted changes" if ident.get("dirty") else ", clean"
        extra.append(f"git revision <code>{e(ident['git_revision'])}</code>{dirty}")
    if ident.get("command"):
        extra.append(
            f"command <code>{e(ident['command'])}</code> (SHA-256 "
            f"<code>{e(ident['command_sha256'])}</code>); executable SHA-256 "
            f"<code>{e(str(ident.get('executable_sha256')))}</code>"
        )
    if ident.get("third_party"):
        extra.append(
            "third-party: " + ", ".join(f"{e(k)} {e(v)}" for k, v in ident["third_party"].items())
        )
    return (
        f"<p class='small'>Agent digest <code>{e(ident['sha256'])}</code> = "
        f"<code>sha256sum {e(files)} | sha256sum</code> run {where}"
        + ("; " + "; ".join(extra) if extra else "")
        + ".</p>"
    )


def _f(v: Any, digits: int = 4) -> str:
    f = _num(v)
    if f is None:
        return html.escape(str(v)) if v is not None else "–"
    if not math.isfinite(f):
        return "∞" if f > 0 else ("−∞" if f < 0 else "n/a")
    if abs(f) < ZERO_SNAP:  # float noise such as -5.68e-14 where 0 is meant
        return "0"
    return f"{f:.{digits}g}"


def _svg_boundary(b: dict[str, Any], units: dict[str, str], size: int = 320) -> str:
    """The boundary map: cells where the classifier predicts a failure shaded, the runs
    as dots by verdict, the axes' ranges in the suite's units."""
    grid = b["grid"]
    n = len(grid)
    pad = 34
    cell = (size - 2 * pad) / n
    cells = "".join(
        f'<rect x="{pad + j * cell:.1f}" y="{size - pad - (i + 1) * cell:.1f}" '
        f'width="{cell + 0.2:.1f}" height="{cell + 0.2:.1f}" fill="#f4c7b8"/>'
        for i, row in enumerate(grid)
        for j, v in enumerate(row)
        if v
    )
    dots = "".join(
        f'<circle cx="{pad + p["u"][0] * (size - 2 * pad):.1f}" '
        f'cy="{size - pad - p["u"][1] * (size - 2 * pad):.1f}" r="3.5" '
        f'fill="{COLOUR["fail"] if p["fail"] else COLOUR["pass"]}"/>'
        for p in b["points"]
    )
    (xa, ya), ((x0, x1), (y0, y1)) = b["axes"], b["ranges"]
    e = html.escape
    return (
        f'<svg class="plot" width="{size}" height="{size}">{cells}'
        f'<rect x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}" '
        f'fill="none" stroke="#999"/>{dots}'
        f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle">{e(xa)} '
        f"({e(_in_unit(x0, units.get(xa)))} … {e(_in_unit(x1, units.get(xa)))})</text>"
        f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" '
        f'text-anchor="middle">{e(ya)} ({e(_in_unit(y0, units.get(ya)))} … '
        f"{e(_in_unit(y1, units.get(ya)))})</text></svg>"
        "<p class='small'>Shaded: predicted to fail; dots: the runs (pass green, fail "
        "vermillion), projected onto these two parameters.</p>"
    )


def _chosen_runs(folder: Path) -> str | None:
    """Why the runs of ``folder`` are no sample of anything (None: they may be)."""
    if (folder / "search.json").exists():
        return "the runs were chosen by pground search to find failures"
    est = folder / "estimate.json"
    if est.exists() and json.loads(est.read_text()).get("method") != "mc":
        return (
            "the runs were drawn by importance or subset sampling; the failure rate over the "
            "operating distribution is in the estimate section"
        )
    return None


def _estimate_html(es: dict[str, Any]) -> str:
    """The failure rate over the operating distribution, apart from every other number."""
    e = html.escape
    units = es.get("units") or {}
    res = es["result"]
    conf = f"{res['confidence'] * 100:g} %"
    rows = "".join(
        f"<tr><td>P({e(name)})</td><td id='estimate-{e(name)}'><b>{_g(d.get('p'))}</b></td>"
        f"<td>{_g(d.get('low'))} – {_g(d.get('high'))}</td><td>{_g(d.get('rel_error'))}</td>"
        f"<td>{_g(d.get('equivalent_mc_runs'))}</td><td>{_g(d.get('speedup'))}</td></tr>"
        for name, d in res["events"].items()
    )

    def dist(m: dict[str, Any]) -> str:
        body = json.dumps(m["distribution"], ensure_ascii=False)
        src = m.get("source") or "<b class='fail'>no source stated</b>"
        return (
            f"<tr><td>{e(m['parameter'])}</td><td><code>{e(body)}</code></td>"
            f"<td>{src if not m.get('source') else e(src)}</td></tr>"
        )

    cop = es.get("copula")
    warn = "".join(f"<li>{e(w)}</li>" for w in res.get("warnings", []))
    method = {
        "mc": "plain Monte Carlo",
        "is": "importance sampling (cross-entropy proposal, defensive mixture)",
        "ss": "subset simulation",
    }.get(es["method"], es["method"])
    return (
        "<h3 id='estimate'>Estimated failure rate over the operating domain</h3>"
        f"<p><code>pground estimate</code> by <b>{e(method)}</b>, seed {es['seed']}, "
        f"{res['runs']} runs of {e(str(es.get('agent')))} on family {e(es['family'])} "
        f"({e(es['scenario'])}). Failure: {e(es['failure'])}. Interval ({conf}): "
        f"{e(res['interval'])}."
        + (
            f" The constraints keep {res['domain_share'] * 100:.2f} % of the distribution; "
            "the estimate is conditioned on them."
            if res["domain_share"] < 1
            else ""
        )
        + "</p><table><tr><th>event</th><th>estimate</th>"
        f"<th>{conf} interval</th><th>relative error</th><th>Monte Carlo runs for the same "
        f"error</th><th>speed-up</th></tr>{rows}</table>"
        + (f"<p class='small'>Warnings:</p><ul>{warn}</ul>" if warn else "")
        + "<p class='small'>Operating distribution (every varied parameter; units: "
        + e(", ".join(f"{k} in {v}" for k, v in sorted(units.items())) or "SI")
        + "):</p><table><tr><th>parameter</th><th>distribution</th><th>source</th></tr>"
        + "".join(dist(m) for m in es["distribution"])
        + "</table>"
        + (
            f"<p class='small'>Dependence: Gaussian copula over {e(', '.join(cop['names']))}, "
            f"correlation {e(json.dumps(cop['correlation']))} (source: "
            f"{e(str(cop.get('source') or 'not stated'))}).</p>"
            if cop
            else ""
        )
        + "<p class='small'>These runs were drawn for this estimate; no search or grid run "
        "enters it. Every run's parameters, seed and weight or level are in "
        "<code>estimate.json</code>; <code>pground verify --recompute</code> replays the "
        "estimate from the stored runs.</p>"
    )


def _g(v: Any) -> str:
    return "–" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)


def _search_html(sr: dict[str, Any]) -> str:
    """The search that made the runs: how, what it found, its failure modes."""
    e = html.escape
    units = sr.get("units") or {}

    def params(p: dict[str, Any]) -> str:
        return " ".join(f"{k}={param_text(v, units.get(k))}" for k, v in sorted(p.items()))

    dims = "; ".join(
        f"{d['name']} {_in_unit(d['low'], units.get(d['name']))} … "
        f"{_in_unit(d['high'], units.get(d['name']))}"
        if not d.get("choices")
        else f"{d['name']}: {len(d['choices'])} choices"
        for d in sr["dimensions"]
    )
    first = sr.get("first_failure_at")
    rows = "".join(
        f"<tr><td>{e(m['failed'])}</td><td>{e(m['ended'])}</td><td>{m['runs']}</td>"
        f"<td><a href='#{_anchor(str(m['representative']))}'>{e(str(m['representative']))}"
        f"</a> {e(params(m['params']))}</td><td>"
        + e(
            "; ".join(
                f"{k} {param_text(lo, units.get(k))} … {param_text(hi, units.get(k))}"
                for k, (lo, hi) in m["extent"].items()
            )
        )
        + "</td></tr>"
        for m in sr.get("modes", [])
    )
    files = "".join(f"<li><code>{e(p)}</code></li>" for p in sr.get("counterexamples", []))
    b = sr.get("boundary")
    bnd = ""
    if b:
        held = ", ".join(
            f"{k} = {param_text(v, units.get(k))}"
            for k, v in sorted(b["held_at"].items())
            if k not in b["axes"]
        )
        bnd = (
            f"<p class='small' id='boundary'>Pass/fail boundary: {e(b['method'])}; "
            f"<b>leave-one-out accuracy {b['accuracy_loo'] * 100:.1f} %</b> on {b['runs']} "
            "runs. "
            + (
                f"Shown over {e(' and '.join(b['axes']))}, the two parameters the outcome "
                f"depends on most" + (f", the others at {e(held)}" if held else "") + "."
                if b.get("grid")
                else ""
            )
            + "</p>"
            + (_svg_boundary(b, units) if b.get("grid") else "")
        )
    return (
        "<h3 id='search'>Search</h3><p>"
        f"<code>pground search</code> with method <b>{e(sr['method'])}</b>, seed {sr['seed']}, "
        f"{sr['runs']} runs in waves of {sr['wave']} over {e(dims)} "
        f"(family {e(sr['family'])}). Objective: {e(sr['objective'])}"
        + (f"; criterion {e(sr['criterion'])} only" if sr.get("criterion") else "")
        + f". <b>{sr['failures']} failures</b>"
        + (f", the first at run {first}" if first else "")
        + ".</p>"
        + (
            f"<p class='small'>Failure modes ({e(sr['mode_rule'])}):</p><table><tr>"
            "<th>failed criteria</th><th>ended</th><th>runs</th><th>representative</th>"
            f"<th>extent</th></tr>{rows}</table>"
            if rows
            else ""
        )
        + bnd
        + (
            "<p class='small'>Counterexamples as runnable scenario files (the parameters and "
            "seed written in; <code>pground run FILE</code> replays the run):</p>"
            f"<ul>{files}</ul>"
            if files
            else ""
        )
    )


def render_html(doc: dict[str, Any], folder: Path) -> str:
    """The self-contained HTML report."""
    s = doc["summary"]
    e = html.escape
    counts = s["counts"]
    suite = doc["campaign"]["suite"] or {}
    sut = doc["system_under_test"]
    pr = s.get("pass_rate")
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Proving Ground report — {e(str(suite.get('name')))}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<header><h1>Proving Ground — campaign report: {e(str(suite.get('name')))}</h1>"
        f"<div>system under test: <b>{e(str(sut['agent']))}</b> "
        f"({e(', '.join(sut['versions']))}) · {e(doc['date'])} · {e(doc['generated_by'])}"
        f"</div></header><nav>"
        + "".join(
            f"<a href='#{a}'>{t}</a>"
            for a, t in (
                ("summary", "Summary"),
                ("requirements", "Requirements"),
                ("families", "Scenario families"),
                ("runs", "All runs"),
                ("failures", "Failed runs"),
                ("preventability", "Preventability"),
                ("metrics", "Metric definitions"),
                ("provenance", "Provenance"),
                ("credibility", "Credibility and limits"),
            )
        )
        + "</nav><main>"
    ]
    # 1. summary
    rate_txt = (
        f"– ({e(s['not_a_rate'])})"
        if s.get("not_a_rate")
        else "–"
        if not pr
        else f"{pr['estimate'] * 100:.1f} % (95 % CI "
        f"{pr['low'] * 100:.1f}–{pr['high'] * 100:.1f} %, n = {pr['n']})"
    )
    zero = s.get("failure_rate_upper_95")
    parts.append(
        "<h2 id='summary'>1. Summary</h2><div class='cards'>"
        f"<div class='card'><div>runs</div><div class='big' id='n-runs'>{s['runs']}</div></div>"
        + "".join(
            f"<div class='card'><div>{CLASS_LABELS[k]}</div><div class='big {k}' "
            f"id='n-{k}'>{counts.get(k, 0)}</div></div>"
            for k in CLASSES
        )
        + "</div>"
        + _sampling_html(doc["campaign"].get("sample"))
        + f"<p>Pass rate: <b id='pass-rate'>{rate_txt}</b>"
        + (" (Clopper–Pearson exact interval)." if pr else ".")
        + (
            f" With no failure in {pr['n']} runs, the failure probability is below "
            f"<b>{zero:.3g}</b> at 95 % confidence (1 − 0.05<sup>1/n</sup>)."
            if zero
            else ""
        )
        + "</p>"
        f"<p>Exposure: {s['exposure']['km']:.2f} km travelled, {s['exposure']['hours']:.3f} h "
        f"simulated, {s['exposure']['encounters']} encounters (runs).</p>"
        "<table><tr><th>event</th><th>count</th><th>per km (95 % CI)</th>"
        "<th>per hour (95 % CI)</th></tr>"
        + "".join(
            f"<tr><td>{e(r['label'])}</td><td>{r['count']}</td>"
            + "".join(
                f"<td>{_f(r[u]['estimate'])} ({_f(r[u]['low'])}–{_f(r[u]['high'])})</td>"
                if u in r
                else "<td>–</td>"
                for u in ("per_km", "per_hour")
            )
            + "</tr>"
            for r in s["event_rates"].values()
        )
        + "</table><p class='small'>Rates: Poisson exact (Garwood) intervals.</p>"
    )
    # 2. requirements
    parts.append(
        "<h2 id='requirements'>2. Requirements traceability</h2><table><tr>"
        "<th>requirement</th><th>criterion</th><th>scenario families</th>"
        "<th>runs</th><th>passed</th><th>failed</th><th>not preventable</th>"
        "<th>worst margin</th></tr>"
    )
    for r in doc["requirements"]:
        cls = "fail" if r["failed"] else "pass"
        parts.append(
            f"<tr><td>{e(str(r['requirement'] or '–'))}</td><td><code>"
            f"{e(r['metric'])} {e(r['op'])} {_f(r['value'])}</code></td><td>"
            f"{e(', '.join(r['families']))}</td><td>{r['runs']}</td>"
            f"<td class='pass'>{r['passed']}</td><td class='{cls}'>{r['failed']}</td>"
            f"<td class='not_preventable'>{r['not_preventable']}</td>"
            f"<td>{_f(r['worst_margin'])}{e(_unit(r))}</td></tr>"
        )
    parts.append("</table>")
    for cov in doc.get("coverage", []):
        covered = sum(1 for t in cov["tests"] if t["families"])
        parts.append(
            f"<h3 id='coverage'>Coverage of {e(cov['title'])}</h3><p class='small'>"
            f"{covered} of {len(cov['tests'])} tests exercised by this campaign (a scenario "
            f"names the test it implements with the tag <code>{e(cov['catalogue'])}:ID</code>)."
            f" Source: {e(cov['source'])}.</p><table><tr><th>test</th><th>name</th>"
            "<th>pass criterion</th><th>scenario families</th><th>runs</th><th>classes</th>"
            "<th>requirement ids checked</th></tr>"
            + "".join(
                f"<tr class='{'' if t['families'] else 'uncovered'}'><td>{e(t['id'])}</td>"
                f"<td>{e(t['name'])}</td><td>{e(t['criterion'])}</td><td>"
                f"{e(', '.join(t['families'])) or '<b>not covered</b>'}</td><td>{t['runs']}</td>"
                "<td>"
                + e(", ".join(f"{CLASS_LABELS[k]} {v}" for k, v in t["counts"].items() if v))
                + f"</td><td>{e(', '.join(t['requirements']))}</td></tr>"
                for t in cov["tests"]
            )
            + "</table>"
        )
    # 3. families
    parts.append("<h2 id='families'>3. Scenario families</h2>")
    runs_by_family: dict[str, list[dict]] = defaultdict(list)
    for r in doc["runs"]:
        runs_by_family[r["family"]].append(r)
    for fam in doc["families"]:
        fr = runs_by_family[fam["family"]]
        cnt = ", ".join(f"{k} {v}" for k, v in sorted(fam["counts"].items()))
        units = fam.get("units") or {}
        whole = fam.get("suite_parameters") or {}

        def span(name: str, v: dict[str, Any], units: dict = units) -> str:
            return (
                f"{_in_unit(v['min'], units.get(name))} … {_in_unit(v['max'], units.get(name))}"
                f" ({v['distinct']} values)"
            )

        prm = (
            "; ".join(
                f"{k} {span(k, v)}" + (f" [suite: {span(k, whole[k])}]" if k in whole else "")
                if "min" in v
                else f"{k} {', '.join(v['values'])}"
                for k, v in fam["parameters"].items()
            )
            or "none varied"
        )
        parts.append(
            f"<h3>{e(fam['family'])} <small>({e(str(fam['scenario_id']))}, "
            f"<code>{e(fam['file'])}</code>)</small></h3>"
            + (f"<p class='desc'>{e(fam['description'])}</p>" if fam.get("description") else "")
            + (
                "<p class='small'>Tags: " + ", ".join(e(t) for t in fam["tags"]) + "</p>"
                if fam.get("tags")
                else ""
            )
            + f"<p>{fam['runs']} runs: {e(cnt)}. Parameters: {e(prm)}.</p><div class='fam'>"
        )
        for m in KEY_METRICS:
            vals = [_num(r["metrics"].get(m)) for r in fr]
            finite = [v for v in vals if v is not None and math.isfinite(v)]
            if len(finite) >= 5:  # a distribution needs a few runs
                parts.append(
                    f"<div><div>{e(m)} ({len(finite)} finite of {len(vals)})</div>"
                    f"{_svg_histogram(finite)}</div>"
                )
        numeric = [k for k, v in fam["parameters"].items() if "min" in v and v["distinct"] > 1]
        numeric = sorted(numeric, key=lambda k: -fam["parameters"][k]["distinct"])[:4]
        pairs = [(a, b) for i, a in enumerate(numeric) for b in numeric[i + 1 :]]
        if pairs:
            parts.append(
                f"<div><div>parameter space by class, every pair of the {len(numeric)} varied "
                "parameters (green pass, orange fail, grey not preventable, pink error or "
                f"invalid){_thinned_note(fr)}</div><div class='fam'>"
            )
            shown = _thinned(fr)
            for a, b in pairs:
                pts = [
                    (float(r["params"][a]), float(r["params"][b]), r["classification"], r["name"])
                    for r in shown
                    if a in r["params"] and b in r["params"]
                ]
                parts.append(
                    _svg_scatter(
                        pts, a, b, 300 if len(pairs) == 1 else 230, units.get(a), units.get(b)
                    )
                )
            parts.append("</div></div>")
        parts.append("</div>")
    # runs table (data in JSON, drawn by JS: fast for 10,000 runs)
    units_of = {f["family"]: f.get("units") or {} for f in doc["families"]}
    detailed = {r["name"] for r in doc["failures"][:MAX_DETAILED_FAILURES]} | {
        r["name"] for r in doc["not_preventable"][:MAX_DETAILED_FAILURES]
    }
    data = [
        {
            "name": r["name"],
            "family": r["family"],
            "v": r["classification"],
            # a link to the run's details, where the report has them
            "link": _anchor(r["name"]) if r["name"] in detailed else None,
            # plain text: the page sets it as textContent (escaping it here would show &lt;)
            "params": " ".join(
                f"{k}={param_text(v, units_of.get(r['family'], {}).get(k))}"
                for k, v in sorted(r["params"].items())
            ),
            "ttc": _num(r["metrics"].get("min_ttc_s")),
            "thw": _num(r["metrics"].get("min_time_headway_s")),
            "dist": _num(r["metrics"].get("min_distance_m")),
            "decel": _num(r["metrics"].get("max_decel_mps2")),
            "faults": "; ".join(
                f"{f['fault']} {_f(f['start_s'], 3)}–{_f(f['end_s'], 3)} s" for f in r["faults"]
            ),
            **_smallest_margin(r["criteria"]),
        }
        for r in doc["runs"]
    ]
    data = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
        for d in data
    ]
    head = "".join(
        f"<th onclick=\"sortBy('{k}')\">{t}</th>"
        for k, t in (
            ("name", "run"),
            ("family", "family"),
            ("v", "verdict"),
            ("params", "parameters"),
            ("ttc", "min TTC s"),
            ("thw", "min THW s"),
            ("dist", "min dist m"),
            ("decel", "max decel m/s²"),
            ("margin", "smallest margin"),
            ("faults", "faults active"),
        )
    )
    parts.append(
        "<h2 id='runs'>All runs</h2><p><input id='filter' placeholder='filter: name, family, "
        "parameter' size='36'> <select id='verdict'><option value=''>any verdict</option>"
        + "".join(
            f"<option>{v}</option>" for v in ("pass", "fail", "error", "invalid", "not_preventable")
        )
        + "</select> <span id='count'></span> <span id='pager'><button onclick='go(-1)'>‹"
        "</button><button onclick='go(1)'>›</button></span></p>"
        f"<table id='runs-table'><thead><tr>{head}</tr></thead><tbody id='runs-body'></tbody>"
        "</table><script type='application/json' id='runs-data'>"
        # no '<' may reach the HTML parser from the data: '<!--' in a name or a parameter
        # would otherwise swallow the rest of the page
        + json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        + "</script>"
    )
    # 4. failures
    parts.append("<h2 id='failures'>4. Failed runs</h2>")
    if not doc["failures"]:
        parts.append("<p>No run failed.</p>")
    for r in doc["failures"][:MAX_DETAILED_FAILURES]:
        crit = failed_criteria(r)
        parts.append(
            f"<details class='failure' id='{_anchor(r['name'])}' open><summary>"
            f"<b>{e(r['name'])}</b> — "
            f"<span class='{e(r['verdict'])}'>{e(r['verdict'])}</span>: "
            f"{e(str(r['reason']))}</summary><p>Failed criteria: {e(crit) or '–'}<br>"
            f"Parameters: <code>{e(json.dumps(r['params']))}</code> seed {r['seed']}<br>"
            f"Reproduce: <code class='repro'>{e(r['reproduce'])}</code>"
            + (f"<br>Reference: {e(r['reference_note'])}" if r.get("reference_note") else "")
            + f"</p>{_failure_detail(folder, r)}</details>"
        )
    if len(doc["failures"]) > MAX_DETAILED_FAILURES:
        parts.append(
            f"<p>… {len(doc['failures']) - MAX_DETAILED_FAILURES} more failed runs "
            "in the table above and in report.json.</p>"
        )
    # 5. preventability
    ref = s.get("reference_agent")
    if doc.get("estimate"):
        parts.append(_estimate_html(doc["estimate"]))
    if doc.get("search"):
        parts.append(_search_html(doc["search"]))
    parts.append("<h2 id='preventability'>5. Preventability</h2>")
    if not ref:
        parts.append(
            "<p>No reference agent was run (<code>pground suite … --reference "
            "r157-driver</code> runs the UN R157 careful and competent human driver "
            "on every scenario).</p>"
        )
    else:
        parts.append(
            f"<p>Reference agent: <code>{e(ref)}</code>. A failed run is <b>not "
            "preventable</b> when the reference agent also failed it with a "
            "collision; such runs are listed here and not counted as failures.</p>"
        )
        if doc["not_preventable"]:
            parts.append(
                "<p>Each not-preventable run is shown beside the reference agent's own run of "
                "the same scenario, parameters and seed: the evidence that the reference "
                "could not avoid it either.</p>"
            )
            for r in doc["not_preventable"][:MAX_DETAILED_FAILURES]:
                rf = r["reference"] or {}
                parts.append(
                    f"<details class='np' id='{_anchor(r['name'])}'><summary>"
                    f"<b>{e(r['name'])}</b> — system: "
                    f"{e(str(r['reason']))}; reference <code>{e(str(rf.get('agent')))}</code>: "
                    f"{e(str(rf.get('reason')))}, impact speed "
                    f"{_f(rf.get('impact_speed_mps'), 3)} m/s</summary>"
                    "<div class='pair'><div><h4>system under test</h4>"
                    f"<p><code>{e(r['reproduce'])}</code></p>{_failure_detail(folder, r)}</div>"
                    "<div><h4>reference</h4>"
                    f"<p><code>{e(str(rf.get('reproduce')))}</code></p>"
                    f"{_failure_detail(folder, rf)}</div></div></details>"
                )
        else:
            parts.append("<p>Every failure was preventable.</p>")
        out_of_scope = sorted({r["family"] for r in doc["failures"] if r.get("reference_note")})
        if out_of_scope:
            parts.append(
                "<p>No reference model for the scenario type of "
                + ", ".join(f"<code>{e(f)}</code>" for f in out_of_scope)
                + ": their failures are failures (the reference agent's model covers "
                "other scenario types).</p>"
            )
    # 6. metric definitions
    used = {c["metric"] for r in doc["runs"] for c in r["criteria"]} | set(KEY_METRICS)
    parts.append(
        "<h2 id='metrics'>6. Metric definitions</h2><table><tr><th>metric</th>"
        "<th>unit</th><th>definition</th><th>source</th></tr>"
    )
    for m in doc["metric_definitions"]:
        if m["name"] in used:
            parts.append(
                f"<tr><td>{e(m['name'])}@v{m['version']}</td><td>{e(m['unit'])}</td>"
                f"<td><pre style='white-space:pre-wrap;margin:0'>"
                f"{e(m['definition'])}</pre></td><td>{e(m['source'])}</td></tr>"
            )
    parts.append("</table>")
    # 7. provenance
    p = doc["provenance"]
    parts.append(
        "<h2 id='provenance'>7. Provenance</h2>"
        f"<p>Evidence digest (SHA-256): <code id='evidence-digest'>{p['evidence_digest']}"
        "</code>: every stored run (verdict, metrics, criteria) and every file this report was "
        "built from. <code>digest.json</code> holds it and the root digest, which covers this "
        "report's own files too and is what <code>--sign</code> signs; <code>pground "
        "verify</code> recomputes both and names any file or run that changed.</p>"
        f"<p>Suite file SHA-256: <code>{e(str(p['suite_sha256']))}</code>. Agent source "
        f"SHA-256: <code>{e(', '.join(sut['source_sha256']))}</code>.</p>"
        + "".join(_identity_html(i) for i in sut.get("identity", []))
        + ""
        f"<p>Seeds: {e(p['seeds'])}.</p><table><tr><th>scenario file</th><th>SHA-256</th></tr>"
        + "".join(
            f"<tr><td>{e(k)}</td><td><code>{v}</code></td></tr>"
            for k, v in sorted(p["scenario_files"].items())
        )
        + "</table><table><tr><th>package</th><th>version</th></tr>"
        + "".join(
            f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>"
            for k, v in sorted((p["packages"] or {}).items())
        )
        + f"</table><p>Platform: {e(json.dumps(p['platform']))}. Command: "
        f"<code>{e(str(doc['campaign'].get('command')))}</code></p>"
    )
    # 8. credibility
    parts.append("<h2 id='credibility'>8. Simulator credibility and limits</h2>")
    for c in doc["credibility"]:
        parts.append(
            f"<h3>{e(c['domain'])}</h3><ul>"
            + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in c.get("models", {}).items())
            + "</ul>"
            + (f"<p>Validity: {e(c['validity'])}</p>" if c.get("validity") else "")
            + (
                "<p>Checked in every run (<code>validity_exceeded</code> events, metric "
                "<code>validity_exceedances</code>):</p><ul>"
                + "".join(f"<li>{e(x)}</li>" for x in c.get("checks", []))
                + "</ul>"
                if c.get("checks")
                else ""
            )
            + (
                f"<p><b>{c['left_validity']['runs']} of {c['left_validity']['of']} runs</b> left "
                "a stated validity range"
                + (
                    ": " + e(", ".join(c["left_validity"]["examples"]))
                    if c["left_validity"]["examples"]
                    else ""
                )
                + ".</p>"
                if c.get("left_validity")
                else ""
            )
            + "<p>Used in this campaign (sensor models and faults, per scenario family):</p><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in c.get("used", []))
            + "</ul><p>Known limitations:</p><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in c.get("limitations", []))
            + "</ul>"
        )
    cv = doc.get("convergence")
    if cv:
        flagged = set(cv["sensitive"])
        parts.append(
            "<h3 id='convergence'>Step-size convergence</h3><p class='small'>"
            + e(cv["method"])
            + (
                f". <b>Step-size sensitive: {e(', '.join(sorted(flagged)))}</b> — their "
                "verdicts depend on the time step."
                if flagged
                else ". Every verdict holds at the finer steps."
            )
            + "</p><table><tr><th>run</th><th>dt (s)</th><th>verdicts</th>"
            + "".join(f"<th>{e(m)}</th>" for m in ("collisions", "min_ttc_s", "min_distance_m"))
            + "</tr>"
            + "".join(
                f"<tr class='{'bad' if r.get('sensitive') else ''}'><td>{e(r['name'])}</td>"
                + (
                    f"<td colspan='5'>{e(r['error'])}</td>"
                    if r.get("error")
                    else "<td>"
                    + " / ".join(_f(x, 3) for x in r["dt_s"])
                    + "</td><td>"
                    + e(" / ".join(r["verdicts"]))
                    + "</td>"
                    + "".join(
                        "<td>" + " / ".join(_f(x) for x in r["metrics"][m]) + "</td>"
                        for m in ("collisions", "min_ttc_s", "min_distance_m")
                    )
                )
                + "</tr>"
                for r in cv["runs"]
            )
            + "</table>"
        )
    v = doc.get("verification")
    if v:
        parts.append(
            "<h3 id='verification'>Model verification (executed when this report was made)</h3>"
            "<p class='small'>The simulator's models against closed forms written from the "
            "published definitions (<code>pground selftest</code>); versions: "
            + e(", ".join(f"{k} {x}" for k, x in v["versions"].items()))
            + "</p><table><tr><th>check</th><th>model</th><th>expected</th><th>simulator</th>"
            "<th>tolerance</th><th>source</th><th>result</th></tr>"
            + "".join(
                f"<tr><td>{e(c['name'])}</td><td>{e(c['model'])}</td>"
                f"<td>{c['expected']:.10g} {e(c['unit'])}</td>"
                f"<td>{c['actual']:.10g} {e(c['unit'])}</td><td>{c['tolerance']:.3g}</td>"
                f"<td>{e(c['source'])}</td><td class='{'pass' if c['passed'] else 'fail'}'>"
                f"{'pass' if c['passed'] else 'FAIL'}</td></tr>"
                for c in v["checks"]
            )
            + "</table>"
        )
    parts.append(f"</main><script>{JS}</script></body></html>")
    return "".join(parts)


def write(folder: Path) -> dict[str, Path]:
    """(Re)write report.json, report.html, junit.xml and digest.json in ``folder``."""
    from metrics.report_schema import Report
    from sim.errors import UsageError

    folder = Path(folder)
    campaign = campaign_of(folder)
    if campaign is not None and (campaign / "signature.json").exists():
        raise UsageError(
            f"{folder} lies in the signed campaign {campaign}: a report written here would "
            f"change what its signature covers; report the campaign instead "
            f"(pground report {campaign})"
        )
    runs = stored_digests(folder)
    doc = build(folder, runs)
    Report.model_validate(doc)  # the document always matches its published schema
    out = {
        "json": folder / "report.json",
        "html": folder / "report.html",
        "junit": folder / "junit.xml",
        "digest": folder / "digest.json",
    }
    out["json"].write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    out["html"].write_text(render_html(doc, folder))
    out["junit"].write_text(junit(doc))
    write_digest(folder, runs)
    if campaign is not None and (campaign / "digest.json").exists():
        write_digest(campaign)  # the run's report files become part of the campaign's digest
    return out
