"""Standard formats: how long a translation, a variation expansion and an export take (not a
timed test).

    python benchmarks/bench_formats.py [--osc ../shared/standards/osc-alks] [--json FILE]

- translate: ``load_xosc`` of each of the 15 OSC-ALKS templates, first in a fresh cache
  (catalogs parsed, the road read and compiled) and then again (catalogs and roads cached by
  path, size and mtime, as every run of a campaign and every point of `pground validate`
  finds them); median over the templates, best of 3.
- expand: ``load_variation`` of the cut-in variation (52,500 combinations, each checked
  against the template's constraints): seconds and microseconds per combination.
- export: ``export_xosc`` of the 15 imported templates (XML built and written).
- round trip: one template imported, written out and imported again, with the runs' log
  digests compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from sim.formats import openscenario
from sim.formats.export import export_xosc
from sim.formats.openscenario import load_xosc
from sim.formats.oscvariation import load_variation
from sim.runner.run import run_loaded
from sim.scenario import load_scenario


def best(f, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--osc", default=str(Path(__file__).resolve().parents[2] / "shared"
                                         / "standards" / "osc-alks"))  # fmt: skip
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    osc = Path(args.osc) / "logical_scenarios"
    templates = sorted((osc / "concrete_scenarios").glob("*_template.xosc"))
    if not templates:
        raise SystemExit(f"no OSC-ALKS templates under {osc}")

    def cold(p: Path) -> None:
        openscenario._CACHE.clear()
        load_xosc(p)

    cold_ms = statistics.median(best(lambda p=p: cold(p)) for p in templates) * 1e3
    warm_ms = statistics.median(best(lambda p=p: load_xosc(p)) for p in templates) * 1e3
    cut_in = osc / "alks_scenario_4_4_1_cut_in_no_collision_variation.xosc"
    t = time.perf_counter()
    vs = load_variation(cut_in)
    expand_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        loaded = [load_scenario(p) for p in templates]
        t = time.perf_counter()
        for lo, p in zip(loaded, templates, strict=True):
            export_xosc(lo.scenario, Path(tmp) / p.name)
        export_ms = (time.perf_counter() - t) / len(templates) * 1e3
        src = templates[9]
        back = load_scenario(Path(tmp) / src.name)
        same = run_loaded(loaded[9]).result.log.digest() == run_loaded(back).result.log.digest()
    out = {
        "translate_cold_ms_median": round(cold_ms, 2),
        "translate_cached_ms_median": round(warm_ms, 2),
        "cut_in_variation": {
            "combinations": vs.total,
            "runs": len(vs.runs),
            "seconds": round(expand_s, 2),
            "us_per_combination": round(expand_s / vs.total * 1e6, 1),
        },
        "export_ms_per_template": round(export_ms, 2),
        "round_trip_same_digest": {src.name: same},
    }
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
