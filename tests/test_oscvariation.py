"""OpenSCENARIO variation files: the run counts of the 15 OSC-ALKS files after the templates'
constraints against a plain re-implementation written from the standard (stdlib XML and
Python's own arithmetic), stochastic draws against their distributions' moments, errors
as file:line, and a sample of the cut-in variation as a campaign with a report."""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from sim.errors import ScenarioError
from sim.formats.oscvariation import load_variation
from sim.runner.suite import load_suite
from tests.conftest import pground

OSC = Path(__file__).resolve().parents[2] / "shared/standards/osc-alks/logical_scenarios"
VARIATIONS = sorted(OSC.glob("*_variation*.xosc"))
needs_alks = pytest.mark.skipif(not VARIATIONS, reason="../shared/standards/osc-alks absent")
LARGE = ("4_4_1", "4_5_1", "4_5_2", "4_2_2")  # 6,000-52,500 combinations: the slow set


# ---------------------------------------------------------------- an independent count
def _expr(text: str):
    """A ${...} or $name attribute as a Python function of the parameters (test only: the
    files are the standard's, trusted)."""
    if text.startswith("${"):
        body = re.sub(r"\$([A-Za-z_]\w*)", r"p['\1']", text[2:-1])
        code = compile(body, "<osc>", "eval")
        return lambda p: eval(code, {"sqrt": math.sqrt}, {"p": p})
    if text.startswith("$"):
        return lambda p: p[text[1:]]
    return lambda p: text


def reference_count(variation: Path) -> tuple[int, int]:
    """(combinations, combinations meeting every declaration's constraints): each
    ConstraintGroup is a conjunction, a declaration passes if any of its groups does."""
    root = ET.parse(variation).getroot()
    pvd = root.find("ParameterValueDistribution")
    template = (variation.parent / pvd.find("ScenarioFile").get("filepath")).resolve()
    decls = ET.parse(template).getroot().findall("ParameterDeclarations/ParameterDeclaration")
    types = {d.get("name"): d.get("parameterType") for d in decls}

    def typed(name, raw):
        t = types[name]
        if t == "string":
            return raw
        x = float(raw)
        return x if t == "double" else int(math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1))

    axes = []
    for d in pvd.find("Deterministic"):
        if d.tag == "DeterministicSingleParameterDistribution":
            name = d.get("parameterName")
            rng = d.find("DistributionRange")
            if rng is not None:
                step = float(rng.get("stepWidth"))
                lo = float(rng.find("Range").get("lowerLimit"))
                hi = float(rng.find("Range").get("upperLimit"))
                values, x = [], lo
                while x <= hi + 1e-9:
                    values.append(x)
                    x = lo + len(values) * step
                axes.append([{name: typed(name, str(v))} for v in values])
            else:
                axes.append(
                    [{name: typed(name, e.get("value"))} for e in d.find("DistributionSet")]
                )
        else:
            sets = d.find("ValueSetDistribution").findall("ParameterValueSet")
            axes.append(
                [
                    {
                        a.get("parameterRef"): typed(a.get("parameterRef"), a.get("value"))
                        for a in s.findall("ParameterAssignment")
                    }
                    for s in sets
                ]
            )
    rules = {
        "equalTo": lambda a, b: a == b, "notEqualTo": lambda a, b: a != b,
        "greaterThan": lambda a, b: a > b, "greaterOrEqual": lambda a, b: a >= b,
        "lessThan": lambda a, b: a < b, "lessOrEqual": lambda a, b: a <= b,
    }  # fmt: skip
    checks = []
    for d in decls:
        groups = [
            [(rules[c.get("rule")], _expr(c.get("value"))) for c in g.findall("ValueConstraint")]
            for g in d.findall("ConstraintGroup")
        ]
        if groups:
            checks.append((d.get("name"), groups))
    defaults = {}
    for d in decls:
        defaults[d.get("name")] = typed(d.get("name"), str(_expr(d.get("value"))(defaults)))
    total = ok = 0
    for combo in itertools.product(*axes):
        p = dict(defaults)
        for part in combo:
            p.update(part)
        total += 1

        def num(v):
            try:
                return float(v)
            except ValueError:
                return v

        ok += all(
            any(all(rule(num(p[name]), num(f(p))) for rule, f in g) for g in groups)
            for name, groups in checks
        )
    return total, ok


@needs_alks
@pytest.mark.parametrize(
    "variation",
    [
        pytest.param(v, marks=pytest.mark.slow) if any(k in v.name for k in LARGE) else v
        for v in VARIATIONS
    ],
    ids=lambda v: v.name[14:20] + ("-ref" if "reference" in v.name else ""),
)
def test_variation_counts_match_an_independent_count(variation):
    vs = load_variation(variation)
    total, ok = reference_count(variation)
    assert (vs.total, len(vs.runs)) == (total, ok)
    assert vs.dropped == total - ok


@pytest.mark.slow
@needs_alks
def test_documented_counts():
    """The counts the README states (runs after constraints / combinations)."""
    want = {"4_4_1": (52500, 29750), "4_3_1": (2400, 2100), "4_1_2": (300, 300)}
    for key, (total, runs) in want.items():
        vs = load_variation(next(v for v in VARIATIONS if key in v.name))
        assert (vs.total, len(vs.runs)) == (total, runs)


# ---------------------------------------------------------------- stochastic draws
TEMPLATE = """<?xml version="1.0"?>
<OpenSCENARIO><FileHeader revMajor="1" revMinor="2" description="t" author="t"/>
<ParameterDeclarations>
  <ParameterDeclaration name="u" parameterType="double" value="0"/>
  <ParameterDeclaration name="n" parameterType="double" value="0"/>
  <ParameterDeclaration name="l" parameterType="double" value="1"/>
  <ParameterDeclaration name="k" parameterType="integer" value="0"/>
  <ParameterDeclaration name="h" parameterType="double" value="0"/>
  <ParameterDeclaration name="c" parameterType="string" value="car"/>
  <ParameterDeclaration name="g" parameterType="double" value="1">
    <ConstraintGroup><ValueConstraint rule="greaterThan" value="0"/></ConstraintGroup>
  </ParameterDeclaration>
</ParameterDeclarations></OpenSCENARIO>
"""


def _stochastic(tmp_path: Path, runs: int, seed: str = 'randomSeed="7"', extra: str = ""):
    (tmp_path / "t.xosc").write_text(TEMPLATE)
    v = tmp_path / "v.xosc"
    v.write_text(
        f"""<?xml version="1.0"?>
<OpenSCENARIO><FileHeader revMajor="1" revMinor="2" description="v" author="t"/>
<ParameterValueDistribution><ScenarioFile filepath="t.xosc"/>
<Stochastic numberOfTestRuns="{runs}" {seed}>
  <StochasticDistribution parameterName="u"><UniformDistribution>
    <Range lowerLimit="2" upperLimit="5"/></UniformDistribution></StochasticDistribution>
  <StochasticDistribution parameterName="n"><NormalDistribution expectedValue="1" variance="4">
    <Range lowerLimit="1" upperLimit="100"/></NormalDistribution></StochasticDistribution>
  <StochasticDistribution parameterName="l"><LogNormalDistribution expectedValue="3"
    variance="2"/></StochasticDistribution>
  <StochasticDistribution parameterName="k"><PoissonDistribution expectedValue="4"/>
  </StochasticDistribution>
  <StochasticDistribution parameterName="h"><Histogram>
    <HistogramBin weight="1"><Range lowerLimit="0" upperLimit="1"/></HistogramBin>
    <HistogramBin weight="3"><Range lowerLimit="1" upperLimit="2"/></HistogramBin>
  </Histogram></StochasticDistribution>
  <StochasticDistribution parameterName="c"><ProbabilityDistributionSet>
    <Element value="car" weight="0.8"/><Element value="truck" weight="0.2"/>
  </ProbabilityDistributionSet></StochasticDistribution>
</Stochastic>{extra}
</ParameterValueDistribution></OpenSCENARIO>
"""
    )
    return v


def test_stochastic_draws_have_their_distributions_moments(tmp_path):
    """20,000 draws: every sample mean within 4 standard errors of its closed form
    (uniform (a+b)/2; normal truncated to [μ, ∞): μ + σ·√(2/π); log-normal with the stated
    mean; Poisson λ; histogram bin shares 1:3; set weights 0.8/0.2)."""
    n = 20_000
    vs = load_variation(_stochastic(tmp_path, n))
    col = {k: np.array([r[k] for r in vs.runs]) for k in "unlkh"}

    def near(x, mean, sd):
        assert abs(x.mean() - mean) < 4 * sd / math.sqrt(n), (x.mean(), mean)

    near(col["u"], 3.5, 3 / math.sqrt(12))
    near(col["n"], 1 + 2 * math.sqrt(2 / math.pi), 2 * math.sqrt(1 - 2 / math.pi))
    assert col["n"].min() >= 1
    near(col["l"], 3.0, math.sqrt(2))
    near(col["k"], 4.0, 2.0)
    assert col["k"].dtype.kind == "i"
    share = (col["h"] >= 1).mean()
    assert abs(share - 0.75) < 4 * math.sqrt(0.75 * 0.25 / n)
    trucks = np.mean([r["c"] == "truck" for r in vs.runs])
    assert abs(trucks - 0.2) < 4 * math.sqrt(0.16 / n)
    assert vs.stochastic == {"runs": n, "seed": 7}


def test_stochastic_draws_are_seeded(tmp_path):
    a = load_variation(_stochastic(tmp_path, 50)).runs
    assert a == load_variation(_stochastic(tmp_path, 50)).runs
    b = load_variation(_stochastic(tmp_path, 50, seed=""), seed=3).runs
    assert b != a and b == load_variation(_stochastic(tmp_path, 50, seed=""), seed=3).runs


def test_a_runaway_variation_is_refused_quickly(tmp_path):
    """A range with a tiny step (or a product of ranges) past the bounds is refused at
    once, not expanded."""
    (tmp_path / "t.xosc").write_text(TEMPLATE)
    v = tmp_path / "v.xosc"
    axes = "".join(
        f'<DeterministicSingleParameterDistribution parameterName="{n}"><DistributionRange '
        f'stepWidth="1"><Range lowerLimit="0" upperLimit="99"/></DistributionRange>'
        "</DeterministicSingleParameterDistribution>"
        for n in "unlh"
    )
    v.write_text(
        '<?xml version="1.0"?><OpenSCENARIO><FileHeader revMajor="1" revMinor="2"/>'
        '<ParameterValueDistribution><ScenarioFile filepath="t.xosc"/>'
        f"<Deterministic>{axes}</Deterministic></ParameterValueDistribution></OpenSCENARIO>"
    )
    with pytest.raises(ScenarioError, match="100,000,000 combinations: more than 1,000,000"):
        load_variation(v)
    tiny = v.read_text().replace('stepWidth="1"', 'stepWidth="1e-6"', 1)
    v.write_text(tiny)
    with pytest.raises(ScenarioError, match="steps: more than 100,000"):
        load_variation(v)


def test_deterministic_times_stochastic_and_constraints(tmp_path):
    """3 deterministic values of g (one fails g > 0) x 10 draws = 30 combinations, 20 runs."""
    det = """
<Deterministic><DeterministicSingleParameterDistribution parameterName="g">
  <DistributionSet><Element value="-1"/><Element value="2"/><Element value="3"/>
  </DistributionSet></DeterministicSingleParameterDistribution></Deterministic>"""
    vs = load_variation(_stochastic(tmp_path, 10, extra=det))
    assert (vs.total, vs.dropped, len(vs.runs)) == (30, 10, 20)
    assert "30 combinations" in vs.summary and "10 dropped" in vs.summary


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('parameterName="k"', 'parameterName="zz"', "parameter 'zz' is not declared"),
        ('expectedValue="4"', 'expectedValue="four"', "expectedValue='four' is not a number"),
        ('<PoissonDistribution expectedValue="4"/>', "<Gamma/>", "Gamma is not supported"),
        ('variance="4"', 'variance="-4"', "a negative variance"),
        ('lowerLimit="2" upperLimit="5"', 'lowerLimit="6" upperLimit="5"', "exceeds upperLimit"),
    ],
)
def test_bad_distributions_are_named(tmp_path, old, new, message):
    v = _stochastic(tmp_path, 5)
    text = v.read_text()
    line = next(i for i, t in enumerate(text.splitlines(), 1) if old in t)
    v.write_text(text.replace(old, new))
    with pytest.raises(ScenarioError) as exc:
        load_variation(v)
    assert any(p.startswith(f"{v}:{line}:") and message in p for p in exc.value.problems), (
        exc.value.problems
    )


# ---------------------------------------------------------------- campaigns
@needs_alks
def test_variation_file_as_a_suite():
    suite = load_suite(next(v for v in VARIATIONS if "4_6_2" in v.name))
    assert len(suite.entries) == 2 and suite.entries[0].path.suffix == ".xosc"
    assert "2 combinations" in suite.description


@needs_alks
def test_suite_dry_run_prints_the_count():
    r = pground("suite", next(v for v in VARIATIONS if "4_3_1" in v.name), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "2,400 combinations" in r.stdout and "300 dropped" in r.stdout
    assert "2100 runs" in r.stdout


@pytest.mark.slow
@needs_alks
def test_a_200_run_sample_of_the_cut_in_variation_runs_as_a_campaign(tmp_path):
    """The issue's acceptance run: 200 of the 29,750 cut-in runs, with a report; the
    variation file also holds unavoidable cut-ins (4.4_2), so some runs fail."""
    cut_in = next(v for v in VARIATIONS if "4_4_1" in v.name)
    out = tmp_path / "camp"
    r = pground("suite", cut_in, "--sample", "200", "--out", out, "--workers", "2",
                "--no-progress", timeout=900)  # fmt: skip
    assert r.returncode in (0, 1), r.stderr
    report = json.loads((out / "report.json").read_text())
    counts = report["summary"]["counts"]
    assert sum(counts.values()) == 200 and counts.get("error", 0) == 0
    assert counts["pass"] > 100
    assert (out / "report.html").is_file() and (out / "junit.xml").is_file()


@needs_alks
def test_a_yaml_suite_varies_a_template_and_the_reference_judges_preventability(tmp_path):
    """A suite entry may name an OpenSCENARIO template: its parameters vary as ours, and the
    R157 reference driver (in scope: the template is an ALKS one) re-runs each point."""
    template = OSC / "concrete_scenarios" / "alks_scenario_4_4_1_cut_in_no_collision_template.xosc"
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "schema_version: 1\nname: osc-sweep\nscenarios:\n"
        f"  - path: {template}\n    name: cutin\n    grid:\n"
        "      CutInVehicle_HeadwayDistanceTrigger_dx0_m: {values: [5, 20]}\n"
        "      CutInVehicle_RelativeInitSpeed_Ve0_Vo0_kph: {values: [-30, -10]}\n"
    )
    out = tmp_path / "camp"
    r = pground("suite", suite, "--out", out, "--no-progress", "--reference", "r157-driver")
    assert r.returncode in (0, 1), r.stderr
    counts = json.loads((out / "report.json").read_text())["summary"]["counts"]
    assert sum(counts.values()) == 4 and counts.get("error", 0) == 0
    assert counts.get("not_preventable", 0) >= 1  # the 5 m, 30 km/h cut-in: nobody avoids it


@pytest.mark.slow
@needs_alks
def test_a_search_over_a_template_writes_counterexamples_in_both_formats(tmp_path):
    """`pground search` over a template's parameters: each counterexample is our YAML and an
    OpenSCENARIO + OpenDRIVE pair, and both replay the failing run bit for bit."""
    from sim.runner.run import run_loaded
    from sim.scenario import load_scenario

    template = OSC / "concrete_scenarios" / "alks_scenario_4_4_1_cut_in_no_collision_template.xosc"
    suite = tmp_path / "search.yaml"
    suite.write_text(
        "schema_version: 1\nname: osc-search\nscenarios:\n"
        f"  - path: {template}\n    name: cutin\n    sample:\n      n: 10\n      parameters:\n"
        "        CutInVehicle_HeadwayDistanceTrigger_dx0_m: {uniform: [2, 40]}\n"
        "        CutInVehicle_RelativeInitSpeed_Ve0_Vo0_kph: {uniform: [-40, -5]}\n"
    )
    out = tmp_path / "search"
    r = pground("search", suite, "--budget", "30", "--out", out, "--no-progress", timeout=600)
    assert r.returncode in (0, 1), r.stderr
    yml, xosc = out / "counterexamples" / "cutin-1.yaml", out / "counterexamples" / "cutin-1.xosc"
    a, b = run_loaded(load_scenario(yml)), run_loaded(load_scenario(xosc))
    assert a.verdict == b.verdict == "fail"
    assert a.result.log.digest() == b.result.log.digest()
