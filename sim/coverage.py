"""The 15-minute circle as elders meet it: the share of elders with a reachable, willing volunteer
within 15 minutes, sampled every simulated hour.

For an elder at stairwell s, each volunteer who could be asked now adds a chance to accept:
an on-duty volunteer within budget at stairwell t, within a 15-minute walk (after a phone call's
answer delay), accepts with base · exp(−d(s, t) / scale); one off duty at home in the elder's own
stairwell (reachable by a knock or a call, at night too) with base · off_duty_multiplier. The
elder is covered with probability 1 − Π(1 − p) over them. The share is the elders' mean.

Unlike "anyone on duty" (every stairwell of Chaoyangli is within 15 minutes of every other),
this varies at the community's scale: by hour (duty), by stairwell (how many volunteers live in
it, who is off duty at night), and with budgets used up. It is the community's potential,
whatever the policy: a policy decides how much of it is used.

Only pairs of stairwells within the 15-minute walk count, so the product runs over the space's
sparse neighbour lists (:meth:`sim.space.Space.pairs_within`): its cost follows the pairs within
reach, not stairwells squared. Where most pairs are within reach (one small community, such as
Chaoyangli, where all are) the same numbers are kept as a dense block: faster there, and the
very same sums as before.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from sim.metrics import CIRCLE_MIN
from sim.roster import Roster
from sim.scenario import Scenario
from sim.space import Space

#: a probability below 1 so that log(1 − p) stays finite
_P_MAX = 1.0 - 1e-12
#: at most this many remembered shares (then they are forgotten and found again)
_KNOWN_MAX = 4096
#: pairs within reach above this share of all pairs, and few stairwells: a dense block
_DENSE_SHARE = 0.5
_DENSE_MAX_PLACES = 4000


def reach_pairs(space: Space, reach_m: float) -> sp.csr_matrix | np.ndarray:
    """Distances of the pairs of stairwells within ``reach_m`` (inf outside it): a dense array
    for a small space where most pairs are within reach, else a sparse matrix of the pairs."""
    pairs = space.pairs_within(reach_m)
    n = space.n_places
    if n <= _DENSE_MAX_PLACES and pairs.nnz > _DENSE_SHARE * n * n:
        dense = np.full((n, n), math.inf)
        coo = pairs.tocoo()
        dense[coo.row, coo.col] = coo.data
        return dense
    return pairs


class SparseProduct:
    """``matrix @ x`` for a sparse matrix and an x that changes in a few places between calls:
    the last product plus the changed columns' part (all of it again when many changed, which
    also keeps a float sum from drifting). ``product @ x`` reads like the matrix's own."""

    #: above this share of changed entries, the whole product again
    FULL_SHARE = 0.125

    def __init__(self, matrix: sp.spmatrix) -> None:
        self._csr = sp.csr_matrix(matrix)
        csc = sp.csc_matrix(matrix)
        self._indptr, self._indices, self._data = csc.indptr, csc.indices, csc.data
        self._n = matrix.shape[0]
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if self._x is None or self._x.shape != x.shape:
            y = self._csr @ x
        else:
            changed = np.flatnonzero(x != self._x)
            if len(changed) > self.FULL_SHARE * len(x):
                y = self._csr @ x
            elif len(changed) == 0:
                return self._y
            else:  # the changed columns' entries, straight from the CSC arrays
                starts = self._indptr[changed]
                lengths = self._indptr[changed + 1] - starts
                first = np.cumsum(lengths) - lengths
                at = np.arange(lengths.sum()) + np.repeat(starts - first, lengths)
                step = np.repeat((x[changed] - self._x[changed]).astype(np.float64), lengths)
                part = np.bincount(self._indices[at], self._data[at] * step, self._n)
                y = self._y + part.astype(self._y.dtype)
        self._x, self._y = x.copy(), y
        return y


class CommunityReach:
    """The reach of a district whose communities each lie within reach end to end and whose
    boundaries orders do not cross: ``reach @ x`` sums ``x`` over each stairwell's community."""

    def __init__(self, community: np.ndarray) -> None:
        self._community = community
        self._n = int(community.max()) + 1

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self._community, weights=x, minlength=self._n)[self._community]


def within_reach(space: Space, reach_m: float) -> SparseProduct | CommunityReach | None:
    """(S, S) 0/1 reach of stairwells within ``reach_m`` of each other, as something to
    multiply a vector by: None if every stairwell reaches every other, a
    :class:`CommunityReach` if exactly those of the same community do, else a
    :class:`SparseProduct` of the pairs."""
    if space.all_within(reach_m):
        return None
    pairs = space.pairs_within(reach_m)
    blocks = not space.single_community and space.cross_boundary_m <= 0
    if blocks and pairs.nnz == int((np.bincount(space.community) ** 2).sum()):
        return CommunityReach(space.community)
    return SparseProduct(
        sp.csr_matrix(
            (np.ones(pairs.nnz, dtype=np.int64), pairs.indices, pairs.indptr), shape=pairs.shape
        )
    )


class WillingCoverage:
    """Computes the share from the roster's state (remembered by state, which recurs)."""

    def __init__(self, scenario: Scenario, space: Space) -> None:
        a = scenario.acceptance
        speed = scenario.travel.speed_m_per_min
        walk_min = max(0.0, CIRCLE_MIN - scenario.channels.phone.answer_delay_mean_min)
        reach_m = math.inf if speed == math.inf else walk_min * speed
        fixed = scenario.volunteers.accept_probability
        pairs = reach_pairs(space, reach_m)
        distance_m = pairs if isinstance(pairs, np.ndarray) else pairs.data
        if fixed is not None:
            p_on = np.where(distance_m <= reach_m, fixed, 0.0)
            p_off = fixed
        else:
            p_on = a.base_probability * np.exp(-distance_m / a.distance_scale_m)
            p_on = np.where(distance_m <= reach_m, p_on, 0.0)
            p_off = a.base_probability * a.off_duty_multiplier
        log_miss_on = np.log1p(-np.minimum(p_on, _P_MAX))
        #: dense: small, states recur (remembered); sparse: a district, updated in place
        self._remember = isinstance(pairs, np.ndarray)
        if not self._remember:
            matrix = sp.csr_matrix((log_miss_on, pairs.indices, pairs.indptr), pairs.shape)
            log_miss_on = SparseProduct(matrix)
        self._log_miss_on = log_miss_on
        self._log_miss_off = math.log1p(-min(p_off, _P_MAX))
        # shares already computed, by the (free, idle) counts per stairwell, for the current
        # elders: the same few states recur hour after hour when volunteers are few, and a
        # look-up gives the very same number as the matrix product
        self._known: dict[bytes, float] = {}
        self._known_for: np.ndarray | None = None
        self._elders = np.zeros(0)
        self._total: np.integer | int = 0

    def shares(self, keys: list[bytes], elders_by_stairwell: np.ndarray) -> list[float]:
        """The share in each of these states (keys of :meth:`Roster.count_key`, the (free,
        idle) counts per stairwell), for these elders.

        One community's states not yet known are converted together and each found once (a
        day's hourly samples cost one product per new state, not one per sample), then looked
        up. A district's are taken one by one, each product updating the last
        (:class:`SparseProduct`)."""
        if elders_by_stairwell is not self._known_for or len(self._known) > _KNOWN_MAX:
            self._known = {}
            self._known_for = elders_by_stairwell  # the model replaces, never edits, it
            self._total = elders_by_stairwell.sum()
            # as floats once: numpy would convert the counts at every product (the same
            # numbers, so the same result)
            self._elders = elders_by_stairwell.astype(np.float64)
        if self._total == 0:
            return [1.0] * len(keys)
        if not self._remember:
            found, last, value = [], None, 0.0
            for key in keys:  # a state lasts hours: its share is found once
                if key != last:
                    value, last = self._share_one(key), key
                found.append(value)
            return found
        known = self._known
        new = list(dict.fromkeys(key for key in keys if key not in known))
        if new:
            # counts straight to floats (exact), a row per state; then each state's product as
            # if it were computed alone (a matrix product of them all could differ in the last
            # bit, and a share would then depend on which others were computed with it), as is
            # each state's sum over its elders; the rest, entry by entry, for all states at once
            # (the very same numbers as one by one)
            counts = np.frombuffer(b"".join(new), dtype=np.int64).reshape(len(new), 2, -1)
            on_all, idle_all = counts.astype(np.float64).transpose(1, 0, 2)
            # (ndarray.dot: the same BLAS calls as ``@``, called with less overhead)
            products, log_miss_on = np.empty_like(on_all), self._log_miss_on
            for on, product in zip(on_all, products, strict=True):
                log_miss_on.dot(on, out=product)
            covered = self._covered(products, on_all, idle_all)
            shares = np.array(list(map(self._elders.dot, covered))) / self._total
            known.update(zip(new, shares.tolist(), strict=True))
        return [known[key] for key in keys]

    def _share_one(self, key: bytes) -> float:
        on, idle = Roster.counts_from_key(key)
        on, idle = on.astype(np.float64), idle.astype(np.float64)
        covered = self._covered(self._log_miss_on @ on, on, idle)
        # a plain sum: a BLAS dot of a district's length can stall on busy cores
        return float(np.add.reduce(self._elders * covered) / self._total)

    def _covered(self, log_miss_on: np.ndarray, on: np.ndarray, idle: np.ndarray) -> np.ndarray:
        """Each stairwell's chance that someone asked now would accept, from the on-duty part
        of its log chance that nobody would (``log_miss_on @ on``) and the free (on duty) and
        idle counts per stairwell, as floats: one state, or a row per state."""
        return -np.expm1(log_miss_on + self._log_miss_off * (idle - on))
