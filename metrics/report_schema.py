"""The schema of ``report.json`` (format ``proving-ground-report/2``), as pydantic models:
every report is validated against it when written; ``pground schema --report`` prints it as
JSON Schema. Numbers that JSON cannot hold (inf, nan) are written as the strings "inf",
"-inf", "nan"."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Number = float | int | Literal["inf", "-inf", "nan"] | None


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(_M):
    estimate: Number
    low: Number
    high: Number


class PassRate(Interval):
    confidence: float
    n: int = Field(description="runs judged (pass + fail; errors and not preventable excluded)")
    method: str


class EventRate(_M):
    label: str
    count: int
    per_km: Interval | None = None
    per_hour: Interval | None = None


class Summary(_M):
    runs: int
    counts: dict[str, int] = Field(
        description="runs per class (sim.errors.CLASSES: pass, fail, not_preventable, error, "
        "invalid), as in the terminal, summary.json, junit.xml and pground diff"
    )
    reference_agent: str | None
    pass_rate: PassRate | None
    failure_rate_upper_95: Number = Field(description="1 − 0.05^(1/n) when no run failed")
    not_a_rate: str | None = Field(
        None,
        description="why pass_rate is left out: the runs were chosen by a search or by "
        "importance/subset sampling, so their share of passes is no rate of anything",
    )
    exposure: dict[str, float] = Field(description="km, hours, encounters")
    event_rates: dict[str, EventRate]


class Requirement(_M):
    requirement: str | None
    metric: str
    op: str
    value: Number
    families: list[str]
    runs: int
    passed: int
    failed: int = Field(description="criterion failed in runs that are failures of the system")
    not_preventable: int = Field(0, description="criterion failed in not-preventable runs")
    worst_margin: Number


class Family(_M):
    family: str
    scenario_id: str | None
    description: str | None = Field(None, description="the scenario file's description (ODD)")
    tags: list[str] = Field(default_factory=list)
    units: dict[str, str] = Field(
        default_factory=dict, description="parameter -> the unit the suite file writes it in"
    )
    suite_parameters: dict[str, dict[str, Any]] | None = Field(
        None, description="for a sampled campaign: the whole suite's parameter ranges"
    )
    file: str
    file_sha256: str
    runs: int
    counts: dict[str, int]
    parameters: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, Number]]


class Criterion(_M):
    metric: str
    op: str
    expected: Number
    actual: Number
    margin: Number
    passed: bool
    requirement: str | None
    unit: str
    note: str
    scale: Number | None = None  # present where the scenario states a robustness scale


class Run(_M):
    name: str
    family: str
    verdict: Literal["pass", "fail", "error", "invalid"]
    classification: Literal["pass", "fail", "not_preventable", "error", "invalid"] = Field(
        description="the run's class: its verdict, or not_preventable for a failure the "
        "reference agent could not avoid either"
    )
    preventable: bool
    reference_verdict: str | None
    reference_note: str | None = Field(
        None, description="'no reference model for this scenario type' where it applies"
    )
    reference: dict[str, Any] | None = Field(
        None,
        description="for a not-preventable run: the reference agent's own run (verdict, "
        "reason, collisions, impact speed, log digest, run folder, reproduce command)",
    )
    status: str | None
    reason: str | None
    params: dict[str, Any]
    seed: int
    metrics: dict[str, Number]
    criteria: list[Criterion]
    log_sha256: str | None
    run_dir: str | None
    reproduce: str = Field(description="a pground command that reproduces the run")
    faults: list[dict[str, Any]] = Field(
        default_factory=list,
        description="faults active in the run: fault id, kind, start_s, end_s",
    )


class MetricDefinition(_M):
    name: str
    version: int
    unit: str
    domains: list[str]
    definition: str
    source: str


class Provenance(_M):
    evidence_digest: str = Field(
        description="SHA-256 over the stored runs and the files the report was built from "
        "(every file of the folder but the report's own outputs); digest.json's signed root "
        "digest covers these and the report files too"
    )
    suite_sha256: str | None
    scenario_files: dict[str, str]
    packages: dict[str, str] | None
    platform: dict[str, Any] | None
    seeds: str
    evidence_files: dict[str, str]


class Credibility(_M):
    domain: str
    models: dict[str, str] = Field(default_factory=dict)
    validity: str | None = None
    limitations: list[str] = Field(default_factory=list)
    checks: list[str] = Field(
        default_factory=list, description="the validity limits checked in every run"
    )
    left_validity: dict[str, Any] | None = Field(
        None, description="runs that left a stated validity range: runs, of, examples"
    )
    used: list[str] = Field(
        default_factory=list,
        description="what this campaign's runs used, per scenario family: declared sensor "
        "models and faults (read from the resolved scenarios)",
    )


class Report(_M):
    """A Proving Ground campaign report."""

    format: Literal["proving-ground-report/2"]
    generated_by: str
    date: str
    system_under_test: dict[str, Any]
    campaign: dict[str, Any]
    summary: Summary
    requirements: list[Requirement]
    coverage: list[dict[str, Any]] = Field(
        default_factory=list,
        description="per regulation test catalogue the families name (tags "
        "'<catalogue>:<test id>'): each test, its families, runs by class, requirement ids",
    )
    families: list[Family]
    runs: list[Run]
    failures: list[Run]
    not_preventable: list[Run]
    metric_definitions: list[MetricDefinition]
    provenance: Provenance
    credibility: list[Credibility]
    convergence: dict[str, Any] | None = Field(
        None,
        description="the step-size study of `--convergence` (convergence.json): runs re-run "
        "at dt/2 and dt/4, verdicts and key metrics, the step-size sensitive ones",
    )
    estimate: dict[str, Any] | None = Field(
        None,
        description="`pground estimate` in this folder (estimate.json without its points): "
        "method, seed, the operating distribution with sources, the proposal or levels, the "
        "estimate of each event with its interval, relative error, equivalent Monte Carlo "
        "runs and warnings; every point and weight is in estimate.json",
    )
    search: dict[str, Any] | None = Field(
        None,
        description="`pground search` in this folder (search.json): method, seed, budget, "
        "the searched dimensions, every candidate with its robustness, the failure modes "
        "with their representatives and extents, and the counterexample files",
    )
    verification: dict[str, Any] | None = Field(
        None,
        description="pground selftest at report time: each model check's expected and "
        "simulated value, tolerance, source, and the versions",
    )
