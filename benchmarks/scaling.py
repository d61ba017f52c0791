"""How time and memory grow with the residents: 0.5×, 1×, 2×, 4× and 16× Chaoyangli, and the
Heping district (63 communities, 355,000 residents), one simulated year each.

Each size runs in its own subprocess (so peak RSS is its own): 0.5× is one community at half
Chaoyangli's residents, buildings, stairwells, service points and area; 1× is
scenarios/chaoyangli.toml; k× (k ≥ 2) is a district of k Chaoyangli communities side by side
(sim.district: the KD-tree space, orders inside their community); the district is
scenarios/heping-district.toml. Printed per size: residents, stairwells, set-up seconds, run
seconds scaled to a simulated year (``model.wall_seconds`` × 365 / days), peak RSS, and the
ratio of time and memory to the size before it (doubling the residents should cost at most
2.2× of each). Targets for the district: under 60 s a simulated year on one core, under 2 GB.

    python benchmarks/scaling.py [--days 365] [--sizes 0.5,1,2,4,16,district] [--policy nearest]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAOYANGLI = ROOT / "scenarios" / "chaoyangli.toml"
DISTRICT = ROOT / "scenarios" / "heping-district.toml"
SIZES = ("0.5", "1", "2", "4", "16", "district")
TARGET_DISTRICT_S = 60.0
TARGET_DISTRICT_MB = 2048.0
TARGET_DOUBLING = 2.2


def scenario_for(size: str):
    """The scenario of one size (see the module docstring)."""
    from sim.scenario import load, with_overrides

    if size == "district":
        return load(DISTRICT)
    base = load(CHAOYANGLI)
    k = float(size)
    if k == 1:
        return base
    p = base.population
    row = {
        "name": "Chaoyangli",
        "residents": round(p.residents * min(k, 1.0)),
        "area_km2": base.community.width_m * base.community.height_m / 1e6 * min(k, 1.0),
        "share_aged_60_plus": p.share_aged_60_plus,
        "share_aged_80_plus": p.share_aged_80_plus,
        "share_aged_90_plus": p.share_aged_90_plus,
        "registered_share": base.volunteers.registered_share_of_residents,
    }
    rows = [{**row, "name": f"Chaoyangli {i + 1}"} for i in range(max(1, round(k)))]
    return with_overrides(base, {"district.communities": rows})


def measure(size: str, days: int, policy: str) -> dict:
    """Build and run one size here (called in the subprocess)."""
    from sim.model import VolunteerModel

    started = time.perf_counter()
    model = VolunteerModel(scenario_for(size), policy=policy, days=days, rng=1)
    setup_s = time.perf_counter() - started
    model.run()
    return {
        "size": size,
        "residents": int(model.population.residents),
        "stairwells": model.layout.n_stairwells,
        "space": type(model.layout.space).__name__,
        "setup_s": setup_s,
        "run_s_per_year": model.wall_seconds * 365 / days,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "orders": len(model.orders.status),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--policy", default="nearest")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.days, args.policy)))
        return
    print(f"one simulated year per size ({args.days} days run, scaled), policy {args.policy}")
    header = "size       residents  stairwells  space        set-up s  run s/yr  peak MB"
    print(header + "  ×time  ×mem")
    previous = None
    for size in args.sizes.split(","):
        command = [sys.executable, __file__, "--one", size, "--days", str(args.days)]
        command += ["--policy", args.policy]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            print(f"{size:<10} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        ratio = ""
        if previous is not None:
            grow = r["residents"] / previous["residents"]
            t = r["run_s_per_year"] / previous["run_s_per_year"]
            m = r["peak_rss_mb"] / previous["peak_rss_mb"]
            ratio = f"  {t:5.2f}  {m:4.2f}  (residents ×{grow:.2f})"
        print(
            f"{size:<10} {r['residents']:>9,}  {r['stairwells']:>10,}  {r['space']:<11} "
            f"{r['setup_s']:>9.1f}  {r['run_s_per_year']:>8.1f}  {r['peak_rss_mb']:>7.0f}{ratio}",
            flush=True,
        )
        if size == "district":
            ok_t = r["run_s_per_year"] < TARGET_DISTRICT_S
            ok_m = r["peak_rss_mb"] < TARGET_DISTRICT_MB
            print(
                f"district target: run < {TARGET_DISTRICT_S:.0f} s/yr {'met' if ok_t else 'MISSED'}"
                f", peak < {TARGET_DISTRICT_MB:.0f} MB {'met' if ok_m else 'MISSED'}"
            )
        previous = r


if __name__ == "__main__":
    main()
