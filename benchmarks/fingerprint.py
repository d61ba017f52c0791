"""Fingerprints of volsim's results: a SHA-256 per fixed case, to show a speed-up changed nothing.

Each case builds a model, runs it and hashes its order table, its summary (less the timing keys),
its daily table and its yearly series. Run it before and after an optimisation and compare the
lines: any difference means the results changed.

    python benchmarks/fingerprint.py > before.txt
    python benchmarks/fingerprint.py | diff before.txt -

The cases: the seven policies of experiments/pairing-policies.toml on the baseline for 120 days,
the stress scenario for two policies, the M/M/c limit of benchmarks/mmc_throughput.py, two years
of the 2045 scenario, three years of the history scenario (with ageing and recruitment) and three
days of the Heping district (63 communities).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model import VolunteerModel

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
POLICIES = (
    "pairing+nearest",
    "nearest",
    "broadcast",
    "grid",
    "station",
    "random",
    "pairing+broadcast",
)
TIMING_KEYS = {"wall_seconds"}
MMC_KEYS = {
    "demand.daily_profile": "flat",
    "demand.max_wait_min": math.inf,
    "service.distribution": "exponential",
    "travel.speed_m_per_min": math.inf,
    "volunteers.always_available": True,
    "needs.book_non_urgent": False,
    "volunteers.accept_probability": 1.0,
}


def _mmc(servers: int, per_day: float, mean_min: float, days: int, seed: int) -> VolunteerModel:
    return VolunteerModel(
        policy="nearest",
        rng=seed,
        days=days,
        **MMC_KEYS,
        **{
            "demand.total_per_day": per_day,
            "service.mean_min": mean_min,
            "volunteers.count": servers,
        },
    )


def cases() -> dict[str, Callable[[], VolunteerModel]]:
    """Name → a function building the case's model."""
    baseline, stress = SCENARIOS / "chaoyangli.toml", SCENARIOS / "chaoyangli-stress.toml"
    found: dict[str, Callable[[], VolunteerModel]] = {}
    for policy in POLICIES:
        found[f"baseline-120d-{policy}"] = lambda p=policy: VolunteerModel(
            baseline, policy=p, rng=7, days=120
        )
    for policy in ("pairing+nearest", "broadcast"):
        found[f"stress-{policy}"] = lambda p=policy: VolunteerModel(stress, policy=p, rng=11)
    found["mmc-4-dense"] = lambda: _mmc(4, 0.75 * 4 * 1440, 1.0, 4, 0)
    found["mmc-4-sparse"] = lambda: _mmc(4, 0.75 * 4 / 60 * 1440, 60.0, 120, 1)
    found["mmc-20-validation"] = lambda: _mmc(20, 0.9 * 20 / 10 * 1440, 10.0, 5, 2)
    found["2045-2y"] = lambda: VolunteerModel(SCENARIOS / "chaoyangli-2045.toml", rng=3, days=730)
    found["history-3y"] = lambda: VolunteerModel(
        SCENARIOS / "chaoyangli-history.toml", rng=5, days=3 * 365
    )
    found["district-3d"] = lambda: VolunteerModel(
        SCENARIOS / "heping-district.toml", rng=13, days=3
    )
    return found


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    parts = [json.dumps(list(map(str, frame.columns))).encode()]
    for name in frame.columns:
        column = frame[name].to_numpy()
        if column.dtype == object:
            parts.append(json.dumps(column.tolist(), default=str).encode())
        else:
            parts.append(str(column.dtype).encode() + np.ascontiguousarray(column).tobytes())
    return b"\0".join(parts)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def fingerprint(model: VolunteerModel) -> dict[str, str]:
    """SHA-256 of each result of a finished run, and of them all."""
    summary = {k: v for k, v in model.summary().items() if k not in TIMING_KEYS}
    parts = {
        "orders": _frame_bytes(model.order_table()),
        "summary": json.dumps(summary, sort_keys=True, default=_plain).encode(),
        "daily": _frame_bytes(model.daily_table()),
        "yearly": _frame_bytes(model.yearly_table()),
    }
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in parts.items()}
    hashes["all"] = hashlib.sha256("".join(hashes.values()).encode()).hexdigest()
    return hashes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated case names (default: all)")
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    for name, build in cases().items():
        if wanted and name not in wanted:
            continue
        model = build()
        model.run()
        h = fingerprint(model)
        parts = " ".join(f"{k}={h[k][:12]}" for k in ("orders", "summary", "daily", "yearly"))
        print(f"{name:<28} {h['all']}  {parts}", flush=True)


if __name__ == "__main__":
    main()
