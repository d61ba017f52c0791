"""How fast the experiment runner is: the flagship's wall time, parallel efficiency and overhead.

    python benchmarks/experiment_speed.py            # flagship (420 one-year runs), its
                                                     # reports, parallel efficiency
    python benchmarks/experiment_speed.py --quick    # a smaller design for a quick look

Parallel efficiency is measured side by side in one run: the same runs with 1 worker, then with
2, each into a fresh folder (median of --repeats). Overhead is the runner's share of the
workers' time: 1 − Σ(run wall_seconds) / (elapsed × workers), where each run's wall_seconds
covers building, running and summarising the model and writing its file; the rest is
scheduling, process start-up, reading the runs back and writing the summaries.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.experiment.design import load_experiment
from sim.experiment.runner import RunOptions, run_experiment
from sim.report import write_report

FLAGSHIP = Path(__file__).resolve().parents[1] / "experiments" / "pairing-policies.toml"


def timed_run(
    seeds: int | None, days: int | None, workers: int, report: bool = False
) -> tuple[float, float, int]:
    """(elapsed seconds, summed run seconds, runs) of one fresh experiment run; with
    ``report``, also print how long its reports take."""
    experiment = load_experiment(FLAGSHIP, seeds=seeds, days=days)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run_experiment(experiment, Path(folder), RunOptions(workers=workers))
        elapsed = time.perf_counter() - started
        runs = pd.read_parquet(Path(folder) / "runs.parquet")
        failed = runs[runs["status"] != "done"]
        if len(failed):
            raise SystemExit(f"{len(failed)} runs failed, e.g. {failed['error'].iloc[0]}")
        if report:
            for lang in ("zh", "en"):
                began = time.perf_counter()
                write_report(Path(folder), lang=lang)
                print(f"report ({lang}): {time.perf_counter() - began:.1f} s (target < 30 s)")
    return elapsed, float(runs["wall_seconds"].sum()), len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 90 days")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-flagship", action="store_true")
    args = parser.parse_args()
    seeds, days = (2, 90) if args.quick else (None, None)
    if not args.skip_flagship:
        elapsed, busy, runs = timed_run(seeds, days, workers=2, report=True)
        overhead = 1 - busy / (elapsed * 2)
        print(f"flagship: {runs} runs in {elapsed:.1f} s with 2 workers (target < 180 s)")
        print(f"  runner overhead {overhead:.1%} of worker time (target < 5%)")
    # efficiency: the same runs (3 seeds, one year unless --quick) on 1 and 2 workers
    eff_seeds, eff_days = (2, 60) if args.quick else (3, None)
    one, two = [], []
    for _ in range(args.repeats):
        one.append(timed_run(eff_seeds, eff_days, workers=1)[0])
        two.append(timed_run(eff_seeds, eff_days, workers=2)[0])
    t1, t2 = statistics.median(one), statistics.median(two)
    print(
        f"efficiency: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s (medians of {args.repeats}): "
        f"speed-up {t1 / t2:.2f}, efficiency {t1 / (2 * t2):.0%} (target >= 85%)"
    )


if __name__ == "__main__":
    main()
