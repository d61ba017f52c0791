"""A speed change measured side by side: the same case run alternately in a git worktree of an
earlier commit and in this checkout, each in a fresh process, so that both meet the same
machine load; prints each run, the medians and their ratio (this checkout / the earlier one).

    python benchmarks/side_by_side.py b0894f6                       # 20 years, 3 rounds
    python benchmarks/side_by_side.py b0894f6 --case mmc-dense --repeats 5

Cases (CPU seconds of the run, or orders per CPU second for the M/M/c limits):
``20y`` 20 years of chaoyangli-2045 under pairing+nearest; ``5y`` 5 years under nearest;
``district`` 30 days of Heping District; ``mmc-dense`` and ``mmc-sparse`` the M/M/4 cases of
mmc_throughput.py (4,320 and 72 orders a day). Each run also prints what it served, which
should be the same on both sides when the change keeps results.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_RUN = (
    "from sim.model import VolunteerModel as M; import time; "
    "m = M({scenario!r}, policy={policy!r}, rng=0{days}); t = time.process_time(); m.run(); "
    "print(time.process_time() - t, m.summary()['served'])"
)
_MMC = (
    "import sys; sys.path.insert(0, 'benchmarks'); from mmc_throughput import volsim_mmc; "
    "import time; t = time.process_time(); r = volsim_mmc(4, {rate}, {mu}, {customers}, 0); "
    "print(r[3] / (time.process_time() - t), r[3])"
)
CASES = {
    "20y": _RUN.format(
        scenario="scenarios/chaoyangli-2045.toml", policy="pairing+nearest", days=""
    ),
    "5y": _RUN.format(
        scenario="scenarios/chaoyangli-2045.toml", policy="nearest", days=", days=1825"
    ),
    "district": _RUN.format(
        scenario="scenarios/heping-district.toml", policy="nearest", days=", days=30"
    ),
    "mmc-dense": _MMC.format(rate=3.0, mu=1.0, customers=60_000),
    "mmc-sparse": _MMC.format(rate=0.05, mu=1 / 60, customers=30_000),
}


def run_case(code: str, folder: Path) -> tuple[float, str]:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if out.returncode:
        sys.exit(f"{folder}: the case failed:\n{out.stderr[-2000:]}")
    value, served = out.stdout.split()
    return float(value), served


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (any git revision)")
    parser.add_argument("--case", choices=CASES, default="20y")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="volsim-side-") as tmp:
        before = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(before), args.rev],
            check=True,
        )
        try:
            values: dict[str, list[float]] = {"before": [], "now": []}
            for round_ in range(args.repeats):
                for name, folder in (("before", before), ("now", ROOT)):
                    value, served = run_case(CASES[args.case], folder)
                    values[name].append(value)
                    print(
                        f"round {round_ + 1} {name:<6} {value:12.3f}  served {served}", flush=True
                    )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)])
    unit = "orders per CPU s" if args.case.startswith("mmc") else "CPU s"
    b, n = statistics.median(values["before"]), statistics.median(values["now"])
    print(f"{args.case}: median {unit}: {args.rev} {b:.3f}, now {n:.3f}, now/before {n / b:.3f}")


if __name__ == "__main__":
    main()
