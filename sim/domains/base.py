"""The contract between the engine and a transport domain (road, rail, air, water, plugins).

The engine knows nothing about roads or tracks: it asks each domain runtime for observations,
hands it actions, steps it, asks for footprints (for cross-domain collisions) and events, and
records the arrays it exposes. Everything inside a runtime is structure-of-arrays; no method
below loops over entities in Python except where it talks to one agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from pydantic import BaseModel

if TYPE_CHECKING:
    from sim.core.events import Event
    from sim.scenario.model import ScenarioBase

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Footprints:
    """Oriented boxes of one domain's entities at the current tick.

    All arrays have shape (capacity,): centre ``cx_m``/``cy_m``, ``heading_rad``, ``length_m``,
    ``width_m``, ``speed_mps`` and ``valid``. Domains off the ground (air) also give the
    vertical centre ``z_m`` and ``height_m``; ground domains leave them None and count as
    standing on z = 0 with height ``GROUND_HEIGHT_M``.
    """

    cx_m: np.ndarray
    cy_m: np.ndarray
    heading_rad: np.ndarray
    length_m: np.ndarray
    width_m: np.ndarray
    speed_mps: np.ndarray
    valid: np.ndarray
    z_m: np.ndarray | None = None
    height_m: np.ndarray | None = None


#: Vertical extent given to ground entities (m): the 4 m height limit of road vehicles in most
#: of Europe (Directive 96/53/EC) covers every road, rail-less ground and surface entity.
GROUND_HEIGHT_M = 4.0


@dataclass(frozen=True)
class EntityMeta:
    """Static facts of one domain's entities, by slot (what the log needs besides arrays)."""

    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    controlled: np.ndarray  # (capacity,) bool
    length_m: np.ndarray
    width_m: np.ndarray
    goals: tuple[dict[str, Any] | None, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # per-slot lists a viewer may use


class DomainRuntime(Protocol):
    """One domain's live state for one run (built by :meth:`Domain.build`)."""

    name: str
    meta: EntityMeta

    def log_fields(self) -> Mapping[str, tuple[np.dtype, int]]:
        """Name -> (dtype, width) of every array the recorder stores each tick (width is the
        capacity for per-entity fields, or e.g. the signal count)."""
        ...

    def state(self) -> Mapping[str, np.ndarray]:
        """Current value of every log field, shape (width,)."""
        ...

    def map_summary(self) -> dict[str, Any]:
        """JSON-serialisable description of the map (for the run folder and viewers)."""
        ...

    def briefing(self, slot: int) -> Any:
        """Static, read-only brief for the agent controlling ``slot``."""
        ...

    def observe(self, slot: int, tick: int) -> Any:
        """What the sensors of ``slot`` report at ``tick`` (never the world itself)."""
        ...

    def apply_action(self, slot: int, action: Any) -> None:
        """Validate and store ``slot``'s action; raise ``ActionInvalid`` for NaN/wrong type.
        Values beyond the entity's limits are clipped, and the runtime records that."""
        ...

    def hold_action(self, slot: int) -> None:
        """Keep ``slot``'s previous command (fault policy 'hold')."""
        ...

    def step(self, tick: int) -> list[Event]:
        """Background behaviours, manoeuvres and integration from ``tick`` to ``tick + 1``;
        returns events of scripted actions (e.g. a manoeuvre starting)."""
        ...

    def footprints(self) -> Footprints:
        """Current oriented boxes, for collision detection across domains."""
        ...

    def monitor(self, tick: int) -> list[Event]:
        """Domain rule checks at ``tick`` (after the step); collisions are the engine's."""
        ...

    def goals_reached(self) -> bool:
        """True when every controlled entity with a goal has reached it (and one has a goal)."""
        ...

    # Optional: ``fallback_action(slot)``, the domain's safe command for the agent-fault
    # policy 'fallback' (brake to a stop, level off, stop engines); without it, 'hold'.
    #
    # Optional, for infrastructure shared between domains (a level crossing): the engine
    # calls ``publish() -> dict[str, Any]`` on every runtime that has it, merges the dicts and
    # hands the result to ``receive(bus)`` of every runtime that has it, each tick before the
    # monitors. Keys are namespaced strings, e.g. "level_crossing:LC1".


class Domain(Protocol):
    """A domain plugin: its scenario schema, a factory for runtimes, and its drawing code.

    ``draw_module`` names a module (imported only by the viewer, so it may import pygame)
    with: ``LEGEND`` (list of (label, rgb)); ``bounds(dom) -> (xmin, ymin, xmax, ymax)``;
    ``draw_static(surface, camera, dom)`` (the map, cached per camera position);
    ``draw_frame(surface, camera, dom, row, *, selected) -> (N, 2) screen centres`` and
    ``describe(dom, row, slot) -> list[str]``. ``dom`` is the domain's entry of the log's
    metadata (ids, kinds, sizes, ``map`` = its ``map_summary()``), ``row`` maps every log
    field to its values at one tick; ``camera.to_screen`` maps world metres to pixels.
    Optional: ``legend(dom)`` (a legend that depends on the map, instead of ``LEGEND``) and
    ``draw_tracks(surface, camera, dom, arrays)`` (what the whole run shows, drawn with the
    map). Text goes through ``sim.viewer.text.label``.
    """

    name: str
    entity_model: type[BaseModel]
    map_model: type[BaseModel]
    draw_module: str

    def check(self, scenario: ScenarioBase) -> list[tuple[Loc, str]]:
        """Semantic problems (dangling references, impossible placements) as (loc, message)."""
        ...

    def build(
        self,
        scenario: ScenarioBase,
        entity_indices: Sequence[int],
        *,
        ref_id: str,
        seed: np.random.SeedSequence,
    ) -> DomainRuntime:
        """Compile the map and fleet once; pydantic models never enter the tick.

        ``entity_indices`` index ``scenario.entities``; ``ref_id`` is the default reference
        entity of relative triggers (the first controlled one)."""
        ...


class ActionInvalid(ValueError):
    """An agent's action has the wrong type or shape, or holds NaN/inf."""


class ActionNonFinite(ActionInvalid):
    """An agent's action holds NaN or inf (a fault of its own kind in the events)."""


def clip_events(
    tick: int,
    time_s: float,
    ids: Sequence[str],
    mask: np.ndarray,
    prev: np.ndarray,
    names: Mapping[int, str],
) -> list[Event]:
    """``action_clipped`` events where a clip mask rises (bit -> limit name)."""
    from sim.core.events import Event

    out = []
    for a in np.flatnonzero((mask != 0) & (prev == 0)):
        limits = [name for bit, name in names.items() if mask[a] & bit]
        out.append(Event(tick, time_s, "action_clipped", (ids[a],), {"limits": limits}))
    return out


def radius_goals(
    tick: int,
    time_s: float,
    ids: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    goal_xy: np.ndarray,
    goal_r: np.ndarray,
    done: np.ndarray,
    valid: np.ndarray,
    speed: np.ndarray,
) -> list[Event]:
    """``goal_reached`` for entities first within their goal radius (marks ``done``)."""
    from sim.core.events import Event

    todo = np.flatnonzero(~done & valid)
    if todo.size == 0:
        return []
    d = np.hypot(x[todo] - goal_xy[todo, 0], y[todo] - goal_xy[todo, 1])
    out = []
    for a in todo[d <= goal_r[todo]]:
        done[a] = True
        out.append(Event(tick, time_s, "goal_reached", (ids[a],), {"speed_mps": float(speed[a])}))
    return out


def all_goals_done(controlled: np.ndarray, has_goal: np.ndarray, done: np.ndarray) -> bool:
    """True when some controlled entity has a goal and every such entity has reached it."""
    c = controlled & has_goal
    return bool(c.any()) and bool(done[c].all())
