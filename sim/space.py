"""Where things are: the one place the model asks for walking distances, in metres.

A place is a stairwell (楼门), indexed as in :class:`sim.community.Layout`. The model asks a
:class:`Space` four things: the distance from one place to many (:meth:`Space.distances_m_from`),
places nearest first (:meth:`Space.rings`, for the roster's nearest-first searches), places within
a radius (:meth:`Space.within`), and every pair within a radius as a sparse matrix
(:meth:`Space.pairs_within`, for hourly coverage). Nobody else holds a stairwell-by-stairwell
matrix.

Two implementations give the very same numbers (one formula, :func:`lane_m`):

- :class:`DenseSpace`, for one community (Chaoyangli's 164 stairwells): the full matrix, built
  once, and each place's nearest-first order kept as Python lists (the roster's hot path).
- :class:`TreeSpace`, for a district: a ``scipy.spatial.cKDTree`` over the places; memory and
  time follow the places and their neighbours within a radius, never places × places.

Communities: each place belongs to one. Between places of different communities the distance is
``inf`` (unreachable: orders stay inside their community) unless the scenario's
``district.cross_boundary_m`` allows it and the two are at most that far apart.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

#: a single community with at most this many stairwells gets the dense space (auto choice)
DENSE_MAX_PLACES = 2000
#: the first ring a tree space's nearest-first search looks in holds about this many places
_RING_PLACES = 48


def lane_m(dx_cells: np.ndarray, dy_cells: np.ndarray, cell_size_m: float, metric: str):
    """Walking distance in metres from cell offsets: along the lanes (Manhattan) or straight
    (Euclidean). The one formula of both spaces, so they agree to the last bit."""
    if metric == "euclidean":
        return np.sqrt(dx_cells**2 + dy_cells**2) * cell_size_m
    return (np.abs(dx_cells) + np.abs(dy_cells)) * cell_size_m


def reachable_within(radius_m: float) -> float:
    """The largest distance to keep for a radius of ``radius_m``: itself, or the largest finite
    number for an infinite radius, so that ``d <= reachable_within(r)`` never keeps a place
    another community makes unreachable (at inf), whatever the radius."""
    return min(radius_m, sys.float_info.max)


class Space:
    """Distances between places (cells of one lattice, ``cell_size_m`` apart), by community."""

    def __init__(
        self,
        xy_cells: np.ndarray,
        cell_size_m: float,
        metric: str = "manhattan",
        community: np.ndarray | None = None,
        cross_boundary_m: float = 0.0,
    ) -> None:
        self.xy_cells = np.asarray(xy_cells, dtype=np.int64)
        self.cell_size_m = float(cell_size_m)
        self.metric = metric
        n = len(self.xy_cells)
        self.community = (
            np.zeros(n, dtype=np.int64) if community is None else np.asarray(community, np.int64)
        )
        self.cross_boundary_m = float(cross_boundary_m)
        # the farthest an across-boundary pair may be (below 0: none, not even at 0 m)
        self._cross_m = self.cross_boundary_m if self.cross_boundary_m > 0 else -1.0
        self.single_community = bool(n == 0 or (self.community == self.community[0]).all())
        self._pairs: dict[float, sp.csr_matrix] = {}
        self._x = self.xy_cells[:, 0].tolist()
        self._y = self.xy_cells[:, 1].tolist()
        self._c = self.community.tolist()

    @property
    def n_places(self) -> int:
        return len(self.xy_cells)

    @property
    def xy_m(self) -> np.ndarray:
        """(n, 2) coordinates in metres (a cell's corner)."""
        return self.xy_cells * self.cell_size_m

    def _raw_m(self, place: int, places: np.ndarray) -> np.ndarray:
        delta = self.xy_cells[places] - self.xy_cells[place]
        return lane_m(delta[..., 0], delta[..., 1], self.cell_size_m, self.metric)

    def _bounded(self, place: int, places: np.ndarray, d: np.ndarray) -> np.ndarray:
        """``d`` with inf where a place is across a community boundary too far to cross."""
        if self.single_community:
            return d
        other = self.community[places] != self.community[place]
        if other.any():
            d = np.where(other & (d > self._cross_m), math.inf, d)
        return d

    def distances_m_from(self, place: int, places: np.ndarray) -> np.ndarray:
        """Walking distance from ``place`` to each of ``places`` (inf: not reachable)."""
        return self._bounded(place, places, self._raw_m(place, np.asarray(places)))

    def distance_m(self, a: int, b: int) -> float:
        """Walking distance between two places (inf: not reachable)."""
        dx, dy = self._x[a] - self._x[b], self._y[a] - self._y[b]
        if self.metric == "euclidean":
            d = float(np.sqrt(np.float64(dx * dx + dy * dy)) * self.cell_size_m)
        else:
            d = (abs(dx) + abs(dy)) * self.cell_size_m
        if self._c[a] != self._c[b] and d > self._cross_m:
            return math.inf
        return d

    def row(self, place: int):
        """Something indexable by place giving the distance from ``place`` (for a few look-ups
        in a loop)."""
        return _Row(self, place)

    def within(self, place: int, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Places at most ``radius_m`` from ``place`` and their distances, nearest first (ties:
        the lower index)."""
        raise NotImplementedError

    def rings(self, place: int) -> Iterator[tuple[list[int], list[float]]]:
        """Every reachable place, nearest first (ties: lower index), as successive runs of
        (places, distances): every distance of a run is beyond the previous run's."""
        raise NotImplementedError

    def pairs_within(self, radius_m: float) -> sp.csr_matrix:
        """(n, n) sparse matrix holding the distance of every reachable pair at most
        ``radius_m`` apart (explicit zeros included, a place with itself too). Kept for the
        radius last asked (coverage asks twice); treat as read-only."""
        found = self._pairs.get(radius_m)
        if found is None:
            self._pairs = {radius_m: self._pairs_within(radius_m)}
            found = self._pairs[radius_m]
        return found

    def _pairs_within(self, radius_m: float) -> sp.csr_matrix:
        raise NotImplementedError

    def all_within(self, radius_m: float) -> bool:
        """Whether every place reaches every other within ``radius_m``."""
        if not self.single_community and self.cross_boundary_m < radius_m:
            return False
        span = self.xy_cells.max(axis=0) - self.xy_cells.min(axis=0) if self.n_places else [0, 0]
        far = lane_m(np.float64(span[0]), np.float64(span[1]), self.cell_size_m, self.metric)
        if far <= radius_m:
            return True
        return self.pairs_within(radius_m).nnz == self.n_places**2


class _Row:
    """Distances from one place, computed when looked up."""

    __slots__ = ("_place", "_space")

    def __init__(self, space: Space, place: int) -> None:
        self._space, self._place = space, place

    def __getitem__(self, other: int) -> float:
        return self._space.distance_m(self._place, other)


class DenseSpace(Space):
    """One community: the (n, n) matrix, each place's nearest-first order cached as lists."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        delta = self.xy_cells[:, None, :] - self.xy_cells[None, :, :]
        matrix = lane_m(delta[..., 0], delta[..., 1], self.cell_size_m, self.metric)
        if not self.single_community:
            other = self.community[:, None] != self.community[None, :]
            matrix[other & (matrix > self._cross_m)] = math.inf
        self._matrix = matrix
        self._rows = matrix.tolist()
        #: each place's distances as Python lists (fast single look-ups; one community only)
        self.rows_m = self._rows
        self._rings: dict[int, tuple[tuple[list[int], list[float]]]] = {}

    def distances_m_from(self, place: int, places: np.ndarray) -> np.ndarray:
        return self._matrix[place, places]

    def distance_m(self, a: int, b: int) -> float:
        return self._rows[a][b]

    def row(self, place: int) -> list[float]:
        return self._rows[place]

    def within(self, place: int, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        row = self._matrix[place]
        order = np.argsort(row, kind="stable")
        d = row[order]
        keep = d <= reachable_within(radius_m)
        return order[keep], d[keep]

    def rings(self, place: int) -> tuple[tuple[list[int], list[float]]]:
        found = self._rings.get(place)
        if found is None:
            row = self._matrix[place]
            order = np.argsort(row, kind="stable")
            order = order[np.isfinite(row[order])]
            found = ((order.tolist(), row[order].tolist()),)
            self._rings[place] = found
        return found

    def _pairs_within(self, radius_m: float) -> sp.csr_matrix:
        rows, cols = np.nonzero(self._matrix <= reachable_within(radius_m))
        n = self.n_places
        return sp.csr_matrix((self._matrix[rows, cols], (rows, cols)), shape=(n, n))


class TreeSpace(Space):
    """A district: a KD-tree finds the places near a place; the formula gives the distance."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._p = 2.0 if self.metric == "euclidean" else 1.0
        self._tree = cKDTree(self.xy_cells.astype(np.float64)) if self.n_places else None
        # the first ring's radius: about _RING_PLACES places at the mean density
        if self.n_places:
            span = np.maximum(self.xy_cells.max(axis=0) - self.xy_cells.min(axis=0) + 1, 1)
            per_cell = self.n_places / float(span[0] * span[1])
            self._ring0_m = math.sqrt(_RING_PLACES / per_cell) * self.cell_size_m
        else:
            self._ring0_m = self.cell_size_m
        self._first_ring: dict[int, tuple[list[int], list[float]]] = {}

    def _candidates(self, place: int, radius_m: float) -> np.ndarray:
        if self._tree is None:
            return np.zeros(0, dtype=np.int64)
        if not math.isfinite(radius_m):
            return np.arange(self.n_places)
        # the tree works in cells; a hair wider, then the exact formula decides
        r = radius_m / self.cell_size_m * (1 + 1e-9) + 1e-9
        return np.asarray(self._tree.query_ball_point(self.xy_cells[place], r, p=self._p), np.int64)

    def _sorted(self, place: int, places: np.ndarray, low_m: float, high_m: float):
        d = self.distances_m_from(place, places)
        keep = (d > low_m) & (d <= high_m)
        places, d = places[keep], d[keep]
        order = np.lexsort((places, d))
        return places[order], d[order]

    def within(self, place: int, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
        candidates = self._candidates(place, radius_m)
        return self._sorted(place, candidates, -1.0, reachable_within(radius_m))

    def _reach_m(self) -> float:
        """How far any reachable place can be: the district's extent (along the lanes)."""
        if not hasattr(self, "_extent_m"):
            span = self.xy_cells.max(axis=0) - self.xy_cells.min(axis=0)
            self._extent_m = float((span[0] + span[1]) * self.cell_size_m)
        return self._extent_m

    def rings(self, place: int):
        if not self.single_community and self.cross_boundary_m <= 0:
            # orders stay inside the community: its places in one run, kept (per-community
            # blocks: memory follows the sum of communities' squares, linear in their number)
            found = self._first_ring.get(place)
            if found is None:
                places = self._community_places(self.community[place])
                d = self.distances_m_from(place, places)
                order = np.lexsort((places, d))
                found = self._first_ring[place] = (places[order].tolist(), d[order].tolist())
            return (found,)
        return self._ring_walk(place)

    def _ring_walk(self, place: int) -> Iterator[tuple[list[int], list[float]]]:
        first = self._first_ring.get(place)
        r = self._ring0_m
        if first is None:
            places, d = self.within(place, r)
            first = self._first_ring[place] = (places.tolist(), d.tolist())
        yield first
        far = self._reach_m()
        low = r
        while low < far:
            high = low * 2
            if self.single_community or self.cross_boundary_m > 0:
                candidates = self._candidates(place, high)
            else:  # only the place's own community can be reached
                candidates = self._community_places(self.community[place])
            places, d = self._sorted(place, candidates, low, high)
            if len(places):
                yield places.tolist(), d.tolist()
            low = high

    def _community_places(self, c: int) -> np.ndarray:
        if not hasattr(self, "_members"):
            order = np.argsort(self.community, kind="stable")
            bounds = np.searchsorted(self.community[order], np.arange(self.community.max() + 2))
            self._members = [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        return self._members[c]

    def _pairs_within(self, radius_m: float) -> sp.csr_matrix:
        n = self.n_places
        if n == 0:
            return sp.csr_matrix((0, 0))
        if not math.isfinite(radius_m):
            radius_m = self._reach_m()
        r = radius_m / self.cell_size_m * (1 + 1e-9) + 1e-9
        if self.single_community:
            parts = [self._tree.query_pairs(r, p=self._p, output_type="ndarray")]
        else:  # community by community (blocks), then pairs across a boundary near enough
            parts = []
            for c in np.unique(self.community).tolist():
                members = self._community_places(c)
                local = cKDTree(self.xy_cells[members].astype(np.float64))
                parts.append(members[local.query_pairs(r, p=self._p, output_type="ndarray")])
            if self.cross_boundary_m > 0:
                r_cross = min(radius_m, self.cross_boundary_m) / self.cell_size_m
                cross = self._tree.query_pairs(
                    r_cross * (1 + 1e-9) + 1e-9, p=self._p, output_type="ndarray"
                )
                parts.append(cross[self.community[cross[:, 0]] != self.community[cross[:, 1]]])
        pairs = np.concatenate([part.reshape(-1, 2) for part in parts]).astype(np.int64)
        i = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
        j = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
        delta = self.xy_cells[i] - self.xy_cells[j]
        d = lane_m(delta[:, 0], delta[:, 1], self.cell_size_m, self.metric)
        if not self.single_community:
            other = self.community[i] != self.community[j]
            d = np.where(other & (d > self._cross_m), math.inf, d)
        keep = d <= reachable_within(radius_m)
        return sp.csr_matrix((d[keep], (i[keep], j[keep])), shape=(n, n))


def make_space(
    xy_cells: np.ndarray,
    cell_size_m: float,
    metric: str = "manhattan",
    community: np.ndarray | None = None,
    cross_boundary_m: float = 0.0,
    kind: str = "auto",
) -> Space:
    """The space for a layout: dense for one small community, a KD-tree otherwise."""
    if kind == "auto":
        single = community is None or len(np.unique(community)) <= 1
        kind = "dense" if single and len(xy_cells) <= DENSE_MAX_PLACES else "tree"
    cls = DenseSpace if kind == "dense" else TreeSpace
    return cls(xy_cells, cell_size_m, metric, community, cross_boundary_m)
