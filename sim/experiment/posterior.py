"""Calibration posteriors in experiments: each run takes one accepted parameter set.

An experiment's ``[posterior]`` table names a file of accepted parameter sets (the
``accepted.csv`` or ``accepted.parquet`` that ``volsim calibrate`` writes; lines starting with
``#`` are comments) and the scenario keys to take from it. Every run takes one set, chosen with
probability proportional to the file's ``weight`` column (ABC importance weights; equal weights
if there is none), so an experiment's spread over seeds is seed noise plus what the calibration
leaves open.

The set depends only on the experiment's root seed and the run's seed, never on the design
point: every policy and every point of one seed runs the same set, so comparisons stay paired.
The k-th seed of the experiment takes the set at quantile ``frac(u0 + k * φ)`` of the weights'
cumulative sum (``u0`` from the root seed, φ the golden ratio): a low-discrepancy sequence, so
twenty seeds already spread over the sets in proportion to their weights, and a longer seed list
(sequential replications) keeps the sets of its prefix.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.scenario import Scenario

#: the run table's column naming the set a run took (its row in the file, from 0)
SET_COLUMN = "posterior_set"
#: the golden ratio's fractional part: the step of the low-discrepancy sequence
_STEP = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class Posterior:
    """Accepted parameter sets: ``values`` (one row per set, one column per key) and their
    normalised ``weights``."""

    path: Path
    keys: tuple[str, ...]
    values: pd.DataFrame
    weights: np.ndarray
    sha256: str
    _cumulative: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cumulative", np.cumsum(self.weights))

    def choose(self, root_seed: int, position: int | None, seed: int) -> int:
        """The set (row) of the run with ``seed``, the experiment's ``position``-th seed (None:
        a seed outside the experiment's list, which takes a pseudo-random quantile)."""
        start = np.random.default_rng([root_seed, 0x9057]).random()
        if position is None:
            u = np.random.default_rng([root_seed, seed, 0x9057]).random()
        else:
            u = (start + position * _STEP) % 1.0
        row = int(np.searchsorted(self._cumulative, u * self._cumulative[-1], side="right"))
        return min(row, len(self.weights) - 1)

    def overrides(self, row: int) -> dict[str, Any]:
        """The scenario keys of set ``row``, typed as the scenario wants them."""
        out: dict[str, Any] = {}
        for key in self.keys:
            value = float(self.values.iloc[row][key])
            if scenario_module.key_type(key) is int and value.is_integer():
                value = int(value)
            out[key] = value
        return out

    def describe(self) -> dict[str, Any]:
        """What an experiment's hash and report need: the file, its contents' hash, the keys,
        the number of sets."""
        return {
            "file": str(self.path),
            "sha256": self.sha256,
            "keys": list(self.keys),
            "sets": len(self.values),
        }


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, comment="#")


def load_posterior(
    path: Path, keys: list[str] | None, scenario: Scenario, source: str
) -> Posterior:
    """Read and check a posterior file; every problem is an InputError naming the file (a
    missing or unreadable file, no rows, a key it lacks or the scenario refuses, a value or
    weight that is not a finite number, weights that are negative or all zero, a key listed
    twice)."""
    where = str(path)
    if not path.is_file():
        raise InputError(source, "posterior.file", f"no such file: {path}")
    try:
        table = _read(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except Exception as error:  # a damaged file: pandas and pyarrow raise many kinds
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(where, None, f"not a readable table ({reason})") from None
    if keys is None:
        keys = [c for c in table.columns if scenario_module.key_type(str(c)) is not None]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise InputError(source, "posterior.keys", f"{twice[0]!r} is listed twice")
    if not keys:
        raise InputError(where, None, "no column is a scenario key (e.g. dynamics.x)")
    if len(table) == 0:
        raise InputError(where, None, "no parameter sets (the calibration accepted none)")
    for key in keys:
        if key not in table.columns:
            raise InputError(where, key, "no such column")
        column = pd.to_numeric(table[key], errors="coerce")
        if not np.isfinite(column.to_numpy(dtype=float)).all():
            raise InputError(where, key, "a value that is not a finite number")
        table[key] = column
    if "weight" in table.columns:
        weights = pd.to_numeric(table["weight"], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise InputError(where, "weight", "weights must be finite, >= 0 and not all 0")
    else:
        weights = np.ones(len(table))
    values = table[list(keys)].reset_index(drop=True)
    posterior = Posterior(path, tuple(keys), values, weights / weights.sum(), digest)
    for row in range(len(values)):
        try:
            scenario_module.with_overrides(scenario, posterior.overrides(row))
        except InputError as error:
            raise InputError(where, error.key, f"set {row}: {error.message}") from None
    return posterior
