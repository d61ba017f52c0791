"""Wall time of a 20-year Chaoyangli run (2026-2045) with ageing, deaths, moves and recruitment.

Builds ``VolunteerModel("scenarios/chaoyangli-2045.toml", policy=..., rng=seed)`` and runs all
7,300 days, for the scenario's own policy (pairing with the centre's nearest volunteer as
fallback) and for ``nearest``, seeds 0, 1, 2 (common random numbers across policies), and
prints the median of:

- set-up: building the model (layout, population, Mesa agents, policy);
- run: ``model.run()``, all 7,300 days;

each as wall time (``time.perf_counter``) and as process CPU time (``time.process_time``,
which a busy machine inflates less). The target (issue 10) is a whole run (set-up + run) under
4 s of wall time on one core; before issue 10 it took 11-12 s (printed beside it).

    python benchmarks/run_20_years.py            # 2 policies x 3 seeds, a few minutes
    python benchmarks/run_20_years.py --quick    # 2 policies x 1 seed
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from sim.model import VolunteerModel

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "chaoyangli-2045.toml"
POLICIES = (None, "nearest")  # None: the scenario's own policy (pairing+nearest)
TARGET_SECONDS = 4.0
#: a whole run before issue 10 (commit d1ecacb, seeds 0-2, one core), for comparison
BEFORE_SECONDS = "11-12"


def time_runs(policy: str | None, seeds: list[int]) -> dict[str, float | str]:
    """Median set-up and run times (wall and CPU) over ``seeds``, and what the runs ended with."""
    setup_wall, setup_cpu, run_wall, run_cpu = [], [], [], []
    residents, active, name = [], [], ""
    for seed in seeds:
        wall, cpu = time.perf_counter(), time.process_time()
        model = VolunteerModel(SCENARIO, policy=policy, rng=seed)
        setup_wall.append(time.perf_counter() - wall)
        setup_cpu.append(time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        model.run()
        run_wall.append(time.perf_counter() - wall)
        run_cpu.append(time.process_time() - cpu)
        summary = model.summary()
        name = summary["policy"]
        residents.append(summary["residents_final"])
        active.append(summary["active_volunteers_final"])
    return {
        "policy": name,
        "setup_s": statistics.median(setup_wall),
        "setup_cpu_s": statistics.median(setup_cpu),
        "run_s": statistics.median(run_wall),
        "run_cpu_s": statistics.median(run_cpu),
        "total_s": statistics.median(s + r for s, r in zip(setup_wall, run_wall, strict=True)),
        "residents": statistics.median(residents),
        "active": statistics.median(active),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed (0) instead of three")
    args = parser.parse_args(argv)
    seeds = [0] if args.quick else [0, 1, 2]

    print(f"Chaoyangli 2026-2045 ({SCENARIO.name}): 7,300 simulated days per run")
    what = "seed 0" if args.quick else f"median of {len(seeds)} runs (seeds 0-{seeds[-1]})"
    print(f"{what} per policy; load average before: {os.getloadavg()[0]:.1f}\n")
    header = (
        f"{'policy':<16} {'set-up s':>9} {'set-up cpu':>11} {'run s':>8} {'run cpu s':>10} "
        f"{'total s':>8} {'before s':>9} {'residents':>10} {'active':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for policy in POLICIES:
        r = time_runs(policy, seeds)
        verdict = "ok" if r["total_s"] < TARGET_SECONDS else "MISSED"
        if verdict == "MISSED" and r["setup_cpu_s"] + r["run_cpu_s"] < TARGET_SECONDS:
            verdict += " (cpu ok: a busy machine?)"
        print(
            f"{r['policy']:<16} {r['setup_s']:>9.3f} {r['setup_cpu_s']:>11.3f} "
            f"{r['run_s']:>8.2f} {r['run_cpu_s']:>10.2f} {r['total_s']:>8.2f} {BEFORE_SECONDS:>9} "
            f"{r['residents']:>10,.0f} {r['active']:>7,.0f}  {verdict}"
        )
    print(f"\ntarget: a 20-year run (set-up + run) < {TARGET_SECONDS:.0f} s wall time on one core")
    print(f"load average after: {os.getloadavg()[0]:.1f} (the machine has {os.cpu_count()} cores)")
    print("(wall: time.perf_counter; cpu: time.process_time of this process)")


if __name__ == "__main__":
    main()
