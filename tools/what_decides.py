"""One-at-a-time checks of which assumption decides the policy comparison (docs/ODD.md §7.14).

Each case changes one assumed parameter; every policy runs seeds 0-3 of the scenario; the mean
urgent p90 response (min) and share of urgent orders reached within 15 minutes are printed.

    python tools/what_decides.py scenarios/chaoyangli.toml
"""

import itertools
import statistics
import sys
from multiprocessing import Pool

from sim.model import VolunteerModel

SEEDS = range(4)
CASES = {
    "baseline": {},
    "app reaches only on-duty": {"channels.app.reaches_off_duty": False},
    "broadcast.k=1": {"dispatch.broadcast.k": 1},
    "off_duty_multiplier=0.1": {"acceptance.off_duty_multiplier": 0.1},
    "off_duty_multiplier=0.6": {"acceptance.off_duty_multiplier": 0.6},
    "on_shift_multiplier=1.0": {"acceptance.on_shift_multiplier": 1.0},
    "focal_call delay 1 min": {"channels.focal_call.answer_delay_mean_min": 1.0},
    "centre reaches off duty": {"channels.centre_call.reaches_off_duty": True},
}
POLICIES = ["nearest", "broadcast", "grid", "station", "pairing+nearest"]


def one(args):
    case, policy, seed = args
    model = VolunteerModel(sys.argv[1], policy=policy, rng=seed, **CASES[case])
    model.run()
    s = model.summary()
    return case, policy, s["urgent_response_time_p90_min"], s["urgent_within_window_share"]


if __name__ == "__main__":
    jobs = list(itertools.product(CASES, POLICIES, SEEDS))
    with Pool(2) as pool:
        rows = pool.map(one, jobs)
    for case in CASES:
        cells = []
        for policy in POLICIES:
            r = [x for x in rows if x[0] == case and x[1] == policy]
            p90 = statistics.mean(x[2] for x in r)
            within = statistics.mean(x[3] for x in r)
            cells.append(f"{policy} {p90:5.1f}/{within:.3f}")
        print(f"{case:28s} " + " | ".join(cells))
