"""Oriented boxes: broad phase + shapely narrow phase equal a scalar reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.core.geometry import (
    aabb_half_extents,
    box_corners,
    boxes_intersect,
    candidate_pairs,
    project_to_segments,
)


def sat_separation(a: np.ndarray, b: np.ndarray) -> float:
    """Scalar separating-axis test on two convex quadrilaterals (the reference): the largest
    gap along any edge normal; > 0 separated, < 0 overlapping."""
    gap = -np.inf
    for poly in (a, b):
        for k in range(4):
            edge = poly[(k + 1) % 4] - poly[k]
            axis = np.array([-edge[1], edge[0]]) / np.hypot(*edge)
            pa, pb = a @ axis, b @ axis
            gap = max(gap, pb.min() - pa.max(), pa.min() - pb.max())
    return gap


fleets = st.integers(2, 25).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-30, 30), min_size=n, max_size=n),
        st.lists(st.floats(-30, 30), min_size=n, max_size=n),
        st.lists(st.floats(-math.pi, math.pi), min_size=n, max_size=n),
        st.lists(st.floats(0.3, 12), min_size=n, max_size=n),
        st.lists(st.floats(0.3, 3), min_size=n, max_size=n),
    )
)


@given(fleets)
def test_vectorised_collisions_equal_scalar_reference(fleet):
    """Pairs found by sweep-and-prune + shapely == all pairs by the scalar SAT test (pairs
    within 1e-6 m of just touching are left out: rounding decides those)."""
    x, y, h, length, width = (np.array(v) for v in fleet)
    n = x.size
    valid = np.ones(n, dtype=bool)
    hx, hy = aabb_half_extents(h, length, width)
    i, j = candidate_pairs(x, y, hx, hy, valid)
    corners = box_corners(x, y, h, length, width)
    hit = boxes_intersect(corners[i], corners[j])
    sep = {
        (a, b): sat_separation(corners[a], corners[b])
        for a, b in itertools.combinations(range(n), 2)
    }
    clear = {p for p, g in sep.items() if abs(g) > 1e-6}
    fast = {(int(a), int(b)) for a, b in zip(i[hit], j[hit], strict=True)} & clear
    slow = {p for p in clear if sep[p] < 0}
    assert fast == slow


@given(fleets)
def test_invalid_entities_never_collide(fleet):
    x, y, h, length, width = (np.array(v) for v in fleet)
    valid = np.zeros(x.size, dtype=bool)
    valid[0] = True
    hx, hy = aabb_half_extents(h, length, width)
    i, _ = candidate_pairs(x, y, hx, hy, valid)
    assert i.size == 0


@given(
    st.floats(-100, 100),
    st.floats(-100, 100),
    st.floats(-math.pi, math.pi),
    st.floats(0.5, 20),
    st.floats(0.5, 5),
)
def test_box_corners_keep_size_and_centre(cx, cy, h, length, width):
    """Corners are a rectangle of the given size around the given centre."""
    c = box_corners(*(np.array([v]) for v in (cx, cy, h, length, width)))[0]
    assert np.allclose(c.mean(axis=0), [cx, cy])
    assert math.isclose(np.linalg.norm(c[0] - c[1]), length, rel_tol=1e-9)
    assert math.isclose(np.linalg.norm(c[1] - c[2]), width, rel_tol=1e-9)


def test_projection_onto_a_segment():
    """Closed form: (3, 4) onto the x axis from 0 to 10 -> fraction 0.3, distance 4, left."""
    frac, d2, cross = project_to_segments(
        np.array([3.0]),
        np.array([4.0]),
        np.array([[0.0]]),
        np.array([[0.0]]),
        np.array([[10.0]]),
        np.array([[0.0]]),
    )
    assert frac[0, 0] == 0.3 and d2[0, 0] == 16.0 and cross[0, 0] > 0
