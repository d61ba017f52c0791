"""Wall time of one simulated year of the Chaoyangli baseline, per dispatch policy.

For each policy (the six, and pairing with broadcast as fallback) the baseline scenario is built
and run ``--runs`` times (seeds 0, 1, ...: common random numbers across policies), and the
median of each figure is printed:

- set-up: building the model (layout, population, Mesa agents, policy);
- run: ``model.wall_seconds``, the simulation's own time over all ``step()`` calls (and the
  process CPU time of ``model.run()``, which a busy machine inflates less);
- events/s: events run by volsim's event queue per second of run time.

The target is under 1 s of run time per simulated year on one core.

    python benchmarks/run_year.py [--runs 5] [--days 365] [--policies nearest,pairing]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sim.model import VolunteerModel

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "chaoyangli.toml"
POLICIES = (
    "pairing",
    "nearest",
    "broadcast",
    "grid",
    "station",
    "random",
    "pairing+broadcast",
)
TARGET_SECONDS_PER_YEAR = 1.0


def time_policy(policy: str, runs: int, days: int) -> dict[str, float]:
    """Median set-up and run seconds, events and orders over ``runs`` seeds."""
    setups, walls, cpus, events, requests, served = [], [], [], [], [], []
    for seed in range(runs):
        started = time.perf_counter()
        model = VolunteerModel(SCENARIO, policy=policy, rng=seed, days=days)
        setups.append(time.perf_counter() - started)
        cpu_started = time.process_time()
        model.run()
        cpus.append(time.process_time() - cpu_started)
        walls.append(model.wall_seconds)
        events.append(model.events.events_run)
        summary = model.summary()
        requests.append(summary["requests"])
        served.append(summary["served"])
    wall = statistics.median(walls)
    return {
        "setup_s": statistics.median(setups),
        "run_s": wall,
        "run_cpu_s": statistics.median(cpus),
        "events": statistics.median(events),
        "events_per_s": statistics.median(e / w for e, w in zip(events, walls, strict=True)),
        "orders": statistics.median(requests),
        "served_share": statistics.median(s / r for s, r in zip(served, requests, strict=True)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per policy (median)")
    parser.add_argument("--days", type=int, default=365, help="simulated days per run")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated")
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    years = args.days / 365

    print(f"Chaoyangli baseline ({SCENARIO.name}), {args.days} simulated days")
    print(f"median of {args.runs} runs (seeds 0-{args.runs - 1}) per policy, one core\n")
    header = (
        f"{'policy':<18} {'set-up s':>9} {'run s':>8} {'cpu s':>7} {'run s/yr':>9} {'events':>9} "
        f"{'events/s':>10} {'orders':>7} {'served':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for policy in policies:
        try:
            r = time_policy(policy, args.runs, args.days)
        except Exception as error:  # a broken policy should not hide the others' figures
            print(f"{policy:<18} FAILED: {type(error).__name__}: {error}")
            continue
        per_year = r["run_s"] / years
        verdict = "ok" if per_year < TARGET_SECONDS_PER_YEAR else "MISSED"
        print(
            f"{policy:<18} {r['setup_s']:>9.3f} {r['run_s']:>8.3f} {r['run_cpu_s']:>7.3f} "
            f"{per_year:>9.3f} "
            f"{r['events']:>9,.0f} {r['events_per_s']:>10,.0f} {r['orders']:>7,.0f} "
            f"{r['served_share']:>7.1%}  {verdict}"
        )
    print(f"\ntarget: run time < {TARGET_SECONDS_PER_YEAR:.0f} s per simulated year on one core")
    print("(set-up is counted separately; run = model.wall_seconds, the simulation's own time;")
    print(" cpu = process CPU seconds of model.run(); run s/yr = run s scaled to 365 days)")


if __name__ == "__main__":
    main()
