"""The tables of an optimise folder: every trial, the front (or the best), the re-check's
best, written as Parquet and CSV."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.store import OPTIMISE_TABLE_NAMES, ResultsFolder
from sim.optimise.study import Search, complete
from sim.storage import write_error, write_files

#: the tables an optimise folder holds (Parquet and CSV)
TABLES = OPTIMISE_TABLE_NAMES


def front(search: Search, study: Any) -> list[Any]:
    """Distinct candidates, best first: the whole Pareto front along the first objective
    (several objectives), or every trial by its value (one objective)."""
    if len(search.objectives) > 1:
        chosen = sorted(study.best_trials, key=lambda t: (t.values, t.number))
    else:
        sign = search.objectives[0].sign
        chosen = sorted(complete(study), key=lambda t: (sign * t.values[0], t.number))
    unique: dict[str, Any] = {}
    for trial in chosen:
        unique.setdefault(trial.user_attrs.get("overrides", ""), trial)
    return list(unique.values())


def candidates(search: Search, study: Any) -> list[Any]:
    """The trials to re-check: the best ``recheck_top`` (one objective), or that many spread
    evenly along the Pareto front, its two ends included (several)."""
    chosen = front(search, study)
    top = max(search.recheck_top, 1)
    if len(search.objectives) == 1 or len(chosen) <= top:
        return chosen[:top]
    picks = sorted({round(i) for i in np.linspace(0, len(chosen) - 1, top)})
    return [chosen[i] for i in picks]


def interval_text(n: int, low: float, high: float) -> str:
    """The re-check's 95% interval in words (one seed has none)."""
    return f"95% CI {low:.4g} to {high:.4g}" if n >= 2 else "one seed: no interval"


def best(search: Search, recheck: pd.DataFrame) -> dict[str, Any] | None:
    """One objective: the candidate with the best mean on the fresh seeds; ``interval`` says
    its 95% interval in words (``ci_low`` and ``ci_high`` are NaN without one)."""
    if len(search.objectives) > 1 or not (len(recheck) and recheck["mean"].notna().any()):
        return None
    sign = search.objectives[0].sign
    row = recheck.loc[(sign * recheck["mean"]).idxmin()]
    low, high, n = float(row["ci_low"]), float(row["ci_high"]), int(row["n"])
    return {
        "trial": int(row["trial"]),
        "overrides": json.loads(row["overrides"]),
        "metric": row["metric"],
        "mean": float(row["mean"]),
        "n": n,
        "ci_low": low,
        "ci_high": high,
        "interval": interval_text(n, low, high),
        "search_mean": float(row["search_mean"]),
    }


def trials_table(search: Search, study: Any) -> pd.DataFrame:
    """One row per trial: number, state, lever parameters, overrides and objective means."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        row = {"trial": trial.number, "state": trial.state.name}
        row.update({f"param.{k}": v for k, v in trial.params.items()})
        row["overrides"] = trial.user_attrs.get("overrides", "")
        row["error"] = trial.user_attrs.get("error", "")
        values = trial.values or [math.nan] * len(search.objectives)
        row.update({o.metric: v for o, v in zip(search.objectives, values, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def write_tables(search, study, folder: ResultsFolder, recheck: pd.DataFrame) -> None:
    """The tables as Parquet and CSV, all or none; a fault (a full disk) is an OutputError
    naming the file, a place that takes no files an InputError."""
    trials = trials_table(search, study)
    best = front(search, study) if complete(study) else []
    if len(search.objectives) == 1:
        best = best[: max(search.recheck_top, 1)]
    order = {t.number: i for i, t in enumerate(best)}
    best_rows = trials[trials["trial"].isin(order)] if len(trials) else trials
    if len(best_rows):
        best_rows = best_rows.sort_values("trial", key=lambda c: c.map(order))
    writers = {}
    for name, frame in (("trials", trials), ("front", best_rows), ("recheck", recheck)):
        writers[folder.path / f"{name}.parquet"] = _writer(frame, "parquet")
        writers[folder.path / f"{name}.csv"] = _writer(frame, "csv")
    try:
        write_files(writers)  # all or none: the tables of one moment of the study
    except OSError as error:  # a full disk: one line naming the file
        raise write_error(error, folder.path / "trials.parquet", "the tables") from None


def _writer(frame: pd.DataFrame, kind: str) -> Callable[[str], None]:
    if kind == "csv":
        return lambda tmp: frame.to_csv(tmp, index=False)
    return lambda tmp: frame.to_parquet(tmp, index=False)
