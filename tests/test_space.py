"""The space (sim.space): both implementations give the same distances, rings and neighbours."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.space import DenseSpace, TreeSpace, make_space


@st.composite
def layouts(draw):
    n = draw(st.integers(1, 60))
    side = draw(st.integers(2, 30))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, side, (n, 2))
    communities = draw(st.integers(1, 3))
    community = rng.integers(0, communities, n)
    cross_m = draw(st.sampled_from([0.0, 25.0, 80.0]))
    metric = draw(st.sampled_from(["manhattan", "euclidean"]))
    cell_m = draw(st.sampled_from([10.0, 7.5]))
    return xy, cell_m, metric, community, cross_m


@settings(max_examples=60, deadline=None)
@given(layouts(), st.floats(0, 400))
def test_dense_and_tree_spaces_agree(layout, radius_m):
    xy, cell_m, metric, community, cross_m = layout
    dense = DenseSpace(xy, cell_m, metric, community, cross_m)
    tree = TreeSpace(xy, cell_m, metric, community, cross_m)
    n = len(xy)
    everyone = np.arange(n)
    for s in range(n):
        d = dense.distances_m_from(s, everyone)
        assert np.array_equal(d, tree.distances_m_from(s, everyone))
        pairwise = [(dense.distance_m(s, t), tree.distance_m(s, t)) for t in range(n)]
        assert all(a == b for a, b in pairwise)
        for space in (dense, tree):
            places, dist = space.within(s, radius_m)
            expect = np.lexsort((everyone, d))
            expect = expect[d[expect] <= radius_m]
            assert places.tolist() == expect.tolist()
            assert np.array_equal(dist, d[expect])
        # nearest first, every reachable place once, ties to the lower index
        rings = [(p, q) for p, q in tree.rings(s)]
        flat = [p for ps, _ in rings for p in ps]
        dense_flat = [p for ps, _ in dense.rings(s) for p in ps]
        assert flat == dense_flat == [int(p) for p in np.lexsort((everyone, d)) if d[p] < math.inf]
    a, b = dense.pairs_within(radius_m), tree.pairs_within(radius_m)
    assert (a != b).nnz == 0 and a.nnz == b.nnz


def test_other_community_is_out_of_reach_unless_near_the_boundary():
    xy = np.array([[0, 0], [1, 0], [5, 0]])
    community = np.array([0, 1, 1])
    closed = TreeSpace(xy, 10.0, "manhattan", community, 0.0)
    assert closed.distance_m(0, 1) == math.inf
    assert closed.distance_m(1, 2) == 40.0
    open_ = TreeSpace(xy, 10.0, "manhattan", community, 15.0)
    assert open_.distance_m(0, 1) == 10.0  # across the boundary, near enough
    assert open_.distance_m(0, 2) == math.inf  # across, too far
    assert [p for ps, _ in open_.rings(0) for p in ps] == [0, 1]


def test_auto_choice():
    xy = np.stack([np.arange(10), np.zeros(10, dtype=int)], axis=1)
    assert isinstance(make_space(xy, 10.0), DenseSpace)
    assert isinstance(make_space(xy, 10.0, community=np.arange(10) % 2), TreeSpace)


@pytest.mark.parametrize("dense", [True, False])
def test_an_infinite_radius_never_reaches_across_a_closed_boundary(dense):
    """Places of another community are at inf; no radius, not even inf, reaches them."""
    xy = np.array([[0, 0], [1, 0], [5, 0], [6, 0]])
    community = np.array([0, 0, 1, 1])
    space = (DenseSpace if dense else TreeSpace)(xy, 10.0, "manhattan", community, 0.0)
    places, d = space.within(0, math.inf)
    assert places.tolist() == [0, 1] and np.isfinite(d).all()
    pairs = space.pairs_within(math.inf).tocoo()
    assert (community[pairs.row] == community[pairs.col]).all()
