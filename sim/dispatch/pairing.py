"""花甲助耄耋: each old-old elder living alone or in an empty nest has one or two young-old
helpers (active volunteers aged 60-69) from the same or a nearby stairwell, whom she phones
first (channel ``phone``: it reaches a helper at home, day or night).

Pairs are formed greedily, elders in id order, each taking the nearest helpers within
``max_distance_m`` (ties: fewest elders so far) who have fewer than ``max_elders_per_helper``
elders (its table, ``[dispatch.pairing]``). Pairing alone serves only paired elders (the report
says so); what the community practises is pairs first, then the route every other elder has:
a chain such as ``pairing+nearest``.
"""

import itertools

import numpy as np

from sim.dispatch.base import Policy
from sim.policy_registry import PairingParams
from sim.population import pairing_eligible
from sim.space import reachable_within


class PairingPolicy(Policy):
    name = "pairing"
    description = "the elder phones her young-old helpers first (花甲助耄耋)"
    serves_all_elders = False
    Params = PairingParams

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.pairs: dict[int, list[int]] = {}
        self.form_pairs()

    def eligible_elders(self) -> np.ndarray:
        return np.flatnonzero(pairing_eligible(self.ctx.population))

    def helpers(self) -> np.ndarray:
        pop, p = self.ctx.population, self.params
        age = pop.age_years
        return np.flatnonzero(
            pop.active & (age >= p.helper_min_age_years) & (age <= p.helper_max_age_years)
        )

    def form_pairs(self) -> None:
        """Keep pairs whose elder is still eligible and whose helper still volunteers (pairs
        break when either dies, moves, or the helper stops or reaches 80); give every eligible
        elder short of helpers new ones aged 60-69."""
        pop, p = self.ctx.population, self.params
        helpers = self.helpers()
        eligible = self.eligible_elders().tolist()
        still_eligible, active = set(eligible), pop.active
        self.pairs = {
            e: [h for h in hs if active[h]] for e, hs in self.pairs.items() if e in still_eligible
        }
        kept = np.fromiter(itertools.chain.from_iterable(self.pairs.values()), dtype=np.int64)
        load = np.bincount(kept, minlength=pop.size)
        # helpers who may take another elder: once none may, the elders short of helpers stay so
        spare = int(np.count_nonzero(load[helpers] < p.max_elders_per_helper))
        space = self.ctx.layout.space
        # helpers by stairwell, so each elder looks only at stairwells within reach
        by_stairwell = np.argsort(pop.stairwell[helpers], kind="stable")
        bounds = np.searchsorted(
            pop.stairwell[helpers][by_stairwell], np.arange(space.n_places + 1)
        )
        for elder in eligible:
            have = self.pairs.setdefault(elder, [])
            need = p.helpers_per_elder - len(have)
            if need <= 0 or not spare:
                continue
            near, _ = space.within(pop.stairwell[elder], p.max_distance_m)
            here = [by_stairwell[bounds[s] : bounds[s + 1]] for s in near.tolist()]
            candidates = helpers[np.concatenate(here)] if here else helpers[:0]
            d = space.distances_m_from(pop.stairwell[elder], pop.stairwell[candidates])
            ok = (d <= reachable_within(p.max_distance_m)) & (
                load[candidates] < p.max_elders_per_helper
            )
            ok &= ~np.isin(candidates, have)
            chosen = candidates[ok][np.lexsort((candidates[ok], load[candidates[ok]], d[ok]))][
                :need
            ]
            have.extend(chosen.tolist())
            load[chosen] += 1
            spare -= int(np.count_nonzero(load[chosen] == p.max_elders_per_helper))

    def paired_share(self) -> float:
        """Share of eligible elders with at least one helper."""
        elders = self.eligible_elders().tolist()
        return sum(bool(self.pairs.get(e)) for e in elders) / len(elders) if elders else 1.0

    def dispatch(self, o: int) -> bool:
        book = self.book
        for h in self.pairs.get(book.elder[o], ()):
            if self.can_ask(o, h):
                book.offer(o, h, self.channel_name)
                return True
        return False
