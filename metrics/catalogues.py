"""Regulation test catalogues, for the report's coverage table: which of a regulation's
tests a campaign exercised. A scenario file says which test it implements with a tag
``<catalogue>:<test id>`` (e.g. ``r157-annex5:4.4_1``).

UN R157 Annex 5 (ALKS test specifications), as the open OSC-ALKS scenario set numbers and
reads it (asam-oss/OSC-ALKS-scenarios, LogicalScenarios/, and ../shared/reference/
regulatory.md §1.3).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueTest:
    id: str
    name: str
    criterion: str


@dataclass(frozen=True)
class Catalogue:
    key: str  # the tag prefix
    title: str
    source: str
    tests: tuple[CatalogueTest, ...]


R157_ANNEX5 = Catalogue(
    key="r157-annex5",
    title="UN R157 (ALKS) Annex 5 test specifications",
    source="UN Regulation No. 157 Annex 5 §4; OSC-ALKS-scenarios (asam-oss) test numbering",
    tests=(
        CatalogueTest("4.1_1", "Free driving / lane keeping", "no lane-marking crossing"),
        CatalogueTest("4.1_2", "Swerving lead vehicle", "stays in lane, no over-reaction"),
        CatalogueTest("4.1_3", "Side vehicle close beside", "stays in lane (5.2.2)"),
        CatalogueTest("4.2_1", "Fully blocking stationary target", "no collision"),
        CatalogueTest("4.2_2", "Partially blocking target", "no collision"),
        CatalogueTest("4.2_3", "Crossing pedestrian", "no collision"),
        CatalogueTest("4.2_4", "Multiple blocking targets", "no collision"),
        CatalogueTest("4.3_1", "Follow lead, comfortable", "gap ≥ d_min after settling"),
        CatalogueTest("4.3_2", "Lead emergency brake", "no collision"),
        CatalogueTest("4.4_1", "Cut-in, avoidable", "no collision where avoidable"),
        CatalogueTest("4.4_2", "Cut-in, unavoidable", "mitigation (impact speed)"),
        CatalogueTest("4.5_1", "Cut-out reveals stationary target", "no collision"),
        CatalogueTest("4.5_2", "Cut-out, multiple targets", "no collision"),
        CatalogueTest("4.6_1", "Forward detection range", "detected at the declared range"),
        CatalogueTest("4.6_2", "Lateral detection range", "adjacent lanes covered"),
    ),
)

CATALOGUES: dict[str, Catalogue] = {c.key: c for c in (R157_ANNEX5,)}


def implemented(tags: list[str]) -> dict[str, set[str]]:
    """Catalogue key -> test ids a scenario's tags say it implements."""
    out: dict[str, set[str]] = {}
    for tag in tags:
        key, _, test = tag.partition(":")
        if key in CATALOGUES and test:
            out.setdefault(key, set()).add(test)
    return out
