"""Scenario discovery: where in the sampled space of assumptions one policy beats another, and
which few assumptions, with their thresholds, decide it (PRIM, from ema-workbench).

Input is a results folder of an experiment with ``policy`` as a variable and sampled ranges
(``experiments/robustness.toml``). Each design point's metric is averaged over its seeds (the
same seeds for every policy: common random numbers). For each setting of the other listed
variables (the scenario), each pair of policies A, B and each headline metric:

* ``share_a_better``: the share of sampled points where A is strictly better than B (lower
  urgent p90 and unmet share, higher share within the window);
* a PRIM box around the *less common* outcome (where the usual winner loses): the assumptions it
  restricts, with their thresholds, its coverage (the share of those cases inside the box) and
  density (the share of the box's points that are such cases). The box is the one on PRIM's
  peeling trajectory with at most ``MAX_DIMENSIONS`` restrictions that has the best harmonic
  mean of coverage and density. No box when one policy wins everywhere sampled.

``volsim discover DIR`` writes ``DIR/discovery.csv`` (and ``.parquet``) and prints the table.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError

#: the headline metrics and whether larger is better
HEADLINE_METRICS = {
    "urgent_response_time_p90_min": False,
    "urgent_within_window_share": True,
    "urgent_unmet_share": False,
}
#: at most this many assumptions restricted in a reported box (a few, readable)
MAX_DIMENSIONS = 3
#: PRIM's smallest box, as a share of the points
MASS_MIN = 0.05


def read_results(folder: str | Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The done runs of a results folder, its sampled (numeric) variables and its listed ones.

    Reads ``runs.parquet`` if the experiment finished writing its tables, else the run files.
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        variables = manifest["resolved"]["experiment"]["variables"]
    except FileNotFoundError:
        raise InputError(str(folder), None, "no manifest.json: not a results folder") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(str(manifest_path), None, f"unreadable manifest: {error}") from None
    sampled = [name for name, spec in variables.items() if isinstance(spec, dict)]
    listed = [name for name, spec in variables.items() if not isinstance(spec, dict)]
    if "policy" not in listed:
        raise InputError(str(manifest_path), "variables.policy", "policy is not a variable")
    if not sampled:
        raise InputError(str(manifest_path), "variables", "no sampled {min, max} variable")
    table = folder / "runs.parquet"
    if table.is_file():
        runs = pd.read_parquet(table)
    else:
        files = sorted((folder / "runs").glob("*.parquet"))
        runs = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else None
    if runs is None or runs.empty or "status" not in runs:
        raise InputError(str(folder), None, "no runs yet")
    runs = runs[runs["status"] == "done"]
    return runs, sampled, listed


def point_means(runs: pd.DataFrame, sampled: list[str], listed: list[str]) -> pd.DataFrame:
    """One row per sampled point, setting of the listed variables and policy: metric means over
    seeds. Points are identified by their sampled values (a Morris design repeats some)."""
    metrics = [m for m in HEADLINE_METRICS if m in runs]
    keys = [*listed, *sampled]
    return runs.groupby(keys, dropna=False)[metrics].mean().reset_index()


def compare(means: pd.DataFrame, sampled: list[str], listed: list[str]) -> list[dict[str, Any]]:
    """The discovery table's rows (see the module docstring)."""
    context = [name for name in listed if name != "policy"]
    rows = []
    groups = means.groupby(context, dropna=False) if context else [((), means)]
    for setting, frame in groups:
        setting = setting if isinstance(setting, tuple) else (setting,)
        metrics = [m for m in HEADLINE_METRICS if m in frame]
        wide = frame.pivot_table(
            index=sampled, columns="policy", values=metrics, aggfunc="first", dropna=False
        )
        policies = sorted(frame["policy"].unique(), key=str)
        for metric in metrics:
            larger_better = HEADLINE_METRICS[metric]
            for a, b in itertools.combinations(policies, 2):
                ya, yb = wide[(metric, a)], wide[(metric, b)]
                both = ya.notna() & yb.notna()
                if not both.any():
                    continue
                better = (ya > yb) if larger_better else (ya < yb)
                x = wide.index.to_frame(index=False)[both.to_numpy()]
                wins = better[both].to_numpy()
                row = dict(zip(context, setting, strict=True))
                row |= {"metric": metric, "a": a, "b": b, "points": int(both.sum())}
                row |= {"share_a_better": float(wins.mean())}
                row |= box_row(x, wins)
                rows.append(row)
    return rows


def box_row(x: pd.DataFrame, wins: np.ndarray) -> dict[str, Any]:
    """The PRIM box around the less common outcome of ``wins`` (A better than B), as table
    fields: which outcome the box holds, its conditions, coverage and density."""
    a_mostly = wins.mean() >= 0.5
    interest = ~wins if a_mostly else wins
    empty = {"box_holds": "", "conditions": "", "coverage": math.nan, "density": math.nan}
    if not interest.any():  # the usual winner wins at every point
        return empty | {"conditions": "everywhere sampled"}
    box = find_box(x, interest.astype(int))
    if box is None:
        return empty
    conditions, coverage, density = box
    holds = "b better or equal" if a_mostly else "a better"
    return {
        "box_holds": holds,
        "conditions": conditions,
        "coverage": coverage,
        "density": density,
    }


def find_box(x: pd.DataFrame, y: np.ndarray) -> tuple[str, float, float] | None:
    """One PRIM box for the cases ``y == 1``: its conditions as text (``key >= a``,
    ``key <= b``; ``;`` between them), coverage and density; None if PRIM finds none."""
    x = x.reset_index(drop=True).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema-workbench warns of optional parts it has not
        from ema_workbench.analysis import prim

        logging.getLogger("EMA").setLevel(logging.ERROR)
        finder = prim.Prim(x, np.asarray(y), mass_min=MASS_MIN)
        box = finder.find_box()
    if box is None:
        return None
    trajectory = box.peeling_trajectory
    best, best_score = None, -1.0
    for i, step in trajectory.iterrows():
        if step["res_dim"] > MAX_DIMENSIONS or step["res_dim"] == 0:
            continue
        coverage, density = step["coverage"], step["density"]
        score = 2 * coverage * density / (coverage + density) if coverage + density else 0.0
        if score > best_score:
            best, best_score = i, score
    if best is None:
        return None
    limits = box.box_lims[best]
    initial = finder.box_init
    parts = []
    for name in limits.columns:
        low, high = limits[name].iloc[0], limits[name].iloc[1]
        low0, high0 = initial[name].iloc[0], initial[name].iloc[1]
        if low > low0 and high < high0:
            parts.append(f"{low:.3g} <= {name} <= {high:.3g}")
        elif low > low0:
            parts.append(f"{name} >= {low:.3g}")
        elif high < high0:
            parts.append(f"{name} <= {high:.3g}")
    step = trajectory.loc[best]
    return "; ".join(parts), float(step["coverage"]), float(step["density"])


def discover(folder: str | Path) -> pd.DataFrame:
    """The discovery table of a results folder (read, averaged over seeds, compared)."""
    runs, sampled, listed = read_results(folder)
    means = point_means(runs, sampled, listed)
    return pd.DataFrame(compare(means, sampled, listed))


def write(folder: str | Path, table: pd.DataFrame) -> Path:
    """``discovery.parquet`` and ``discovery.csv`` in the folder, each whole or not at all."""
    from sim.storage import write_parquet

    folder = Path(folder)
    write_parquet(table, folder / "discovery.parquet")
    csv = folder / "discovery.csv"
    tmp = csv.with_name(f".{csv.name}.tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(csv)
    return csv


def print_table(table: pd.DataFrame) -> None:
    """The discovery table for people: who beats whom where, and what decides it."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = Table(title="Where policy A beats policy B over the plausible space (volsim discover)")
    context = [c for c in table.columns if c not in _FIELDS]
    names = [*context, "metric", "a", "b", "points", "A better", "where it flips", "cov", "dens"]
    for name in names:
        out.add_column(name, overflow="fold")
    for row in table.to_dict("records"):
        cells = [escape(_label(row[c])) for c in context]
        cells += [row["metric"], row["a"], row["b"], str(row["points"])]
        cells += [f"{row['share_a_better']:.0%}"]
        cells += [escape(row["conditions"] or "-")]
        cells += [_share(row["coverage"]), _share(row["density"])]
        out.add_row(*cells)
    Console().print(out)


_FIELDS = {
    "metric",
    "a",
    "b",
    "points",
    "share_a_better",
    "box_holds",
    "conditions",
    "coverage",
    "density",
}


def _label(value: Any) -> str:
    """A context value for the table: a scenario file by its name, anything else as it is."""
    text = str(value)
    return Path(text).stem if text.endswith(".toml") else text


def _share(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0%}"
