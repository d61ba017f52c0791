"""Scenario discovery: where in the sampled space of assumptions one policy beats another, and
which few assumptions, with their thresholds, decide it (PRIM, from ema-workbench).

Input is a results folder of an experiment with ``policy`` as a variable and sampled ranges
(``experiments/robustness.toml``). Each design point's metric is averaged over its seeds (the
same seeds for every policy: common random numbers). For each setting of the other listed
variables (the scenario), each pair of policies A, B and each headline metric:

* ``share_a_better`` (``share_b_better``): the share of sampled points where A's (B's) mean over
  seeds is strictly better (lower urgent p90 and unmet share, higher share within the window);
* ``share_a_clearly_better`` (``share_b_clearly_better``): the share where it is better by more
  than the seeds' noise, ``NOISE_SE`` standard errors of the point's mean paired difference (the
  seeds' spread of paired differences pooled over the pair's points, so two seeds suffice; with
  one seed per point the noise is not measured: NaN, and no comparison holds or is ``equal``);
* ``holds``: ``a`` (``b``) when the comparison holds across the space: A beats B at
  ``HOLDS_SHARE`` or more of the points and B beats A beyond the noise at fewer than
  ``NOISE_SHARE`` of them (docs/ODD.md §7.15 justifies both); ``equal`` when neither beats the
  other beyond the noise at ``NOISE_SHARE`` of the points or more (the seeds cannot tell them
  apart); empty otherwise;
* a PRIM box around where the usual winner (the policy better at more points; ties count for
  neither) loses, strictly: the assumptions it restricts, with their thresholds, its coverage
  (the share of those points inside the box) and density (the share of the box's points that
  are such points). The box is the one on PRIM's peeling trajectory with at most
  ``MAX_DIMENSIONS`` restrictions that has the best harmonic mean of coverage and density.
  PRIM sees only the ``CANDIDATES`` assumptions most rank-correlated with the outcome
  (:func:`candidates`). No box when the usual winner is never beaten.
* ``density_held_out`` and ``confirmed``: PRIM finds a box in any table, noise included, so
  the procedure is checked on points it did not see. The points fall in independent blocks (a
  Morris trajectory, a Sobol base row with its cross rows, one LHS point: :func:`block_ids`);
  candidates and PRIM run on the even blocks and their box is measured on the odd ones, and
  the other way round. ``density_held_out`` pools both halves: the share of held-out points
  inside the halves' boxes where the usual winner loses. The stated box is ``confirmed`` when
  that is at least ``CONFIRM_DENSITY`` and at least ``CONFIRM_LIFT`` times the share of all
  points where it loses, when on each half the box holds at least ``MIN_HELD_OUT_BLOCKS``
  held-out blocks and restricts at least one of the stated box's assumptions, and when the
  stated box's own density is at least ``CONFIRM_DENSITY``; only a confirmed box is stated as
  a condition in a report. A design of few blocks (Morris trajectories) confirms none.

``blocks`` counts the independent blocks among the points (below): a Morris design's shares
come from few trajectories and are rough; a Latin hypercube's points are all independent.

``limits`` holds the box as JSON (``[[key, low or null, high or null], ...]``) for the report's
sentences. ``volsim discover DIR`` writes ``DIR/discovery.csv`` (and ``.parquet``) and prints the
table; ``--sobol-design OUT.toml --top K`` also writes the Sobol follow-up over the K parameters
that matter most by Morris mu* (:func:`parameter_ranking`, :func:`write_sobol_design`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.experiment.design import MAX_RUNS, MAX_SEEDS
from sim.experiment.store import check_run_table
from sim.storage import check_file_writable, read_parquet

#: the headline metrics and whether larger is better
HEADLINE_METRICS = {
    "urgent_response_time_p90_min": False,
    "urgent_within_window_share": True,
    "urgent_unmet_share": False,
}
#: at most this many assumptions restricted in a reported box (a few, readable)
MAX_DIMENSIONS = 3
#: PRIM sees only this many assumptions, those most rank-correlated with the outcome
CANDIDATES = 4
#: PRIM's smallest box, as a share of the points
MASS_MIN = 0.05
#: a comparison holds when A beats B at this share of the sampled points or more ...
HOLDS_SHARE = 0.9
#: ... and B beats A beyond the seeds' noise at fewer than this share of them
NOISE_SHARE = 0.05
#: "beyond the noise": more than this many standard errors of the point's mean difference
NOISE_SE = 2.0
#: a box is confirmed when, on held-out points, the usual winner loses at this share or more of
#: the points inside it (the ranking flips there) ...
CONFIRM_DENSITY = 0.5
#: ... and at this many times its share of losses over all points (the box singles them out),
#: on both halves with at least this many held-out blocks inside the box
CONFIRM_LIFT = 1.5
MIN_HELD_OUT_BLOCKS = 5
#: the columns discovery adds to a row (the rest name the scenario)
FIELDS = (
    "metric",
    "a",
    "b",
    "points",
    "blocks",
    "share_a_better",
    "share_b_better",
    "share_a_clearly_better",
    "share_b_clearly_better",
    "holds",
    "box_holds",
    "conditions",
    "limits",
    "coverage",
    "density",
    "density_held_out",
    "confirmed",
)


def read_results(folder: str | Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The done runs of a results folder, its sampled (numeric) variables and its listed ones.

    Reads ``runs.parquet`` if the experiment finished writing its tables, else the run files.
    Refuses (InputError naming the file and key) a folder whose planned runs have not all run,
    a damaged table, a missing or non-numeric column, and a folder with nothing to compare (one
    policy, or none of the headline metrics).
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    manifest = _manifest(folder)
    variables = manifest["resolved"]["experiment"]["variables"]
    sampled = [name for name, spec in variables.items() if isinstance(spec, dict)]
    listed = [name for name, spec in variables.items() if not isinstance(spec, dict)]
    if "policy" not in listed:
        raise InputError(str(manifest_path), "variables.policy", "policy is not a variable")
    if not sampled:
        raise InputError(str(manifest_path), "variables", "no sampled {min, max} variable")
    try:
        planned = {run["run_id"] for run in manifest["runs"]}
    except (KeyError, TypeError):
        raise InputError(str(manifest_path), "runs", "missing or not a list of runs") from None
    table = folder / "runs.parquet"
    if table.is_file():
        runs, source = read_parquet(table), str(table)
    else:
        files = sorted((folder / "runs").glob("*.parquet"))
        runs = pd.concat([read_parquet(f) for f in files], ignore_index=True) if files else None
        source = str(folder / "runs")
    if runs is None or runs.empty or "status" not in runs:
        raise InputError(str(folder), None, "no runs yet")
    columns = ["run_id", "seed", *listed, *sampled]
    check_run_table(runs, source, variables["policy"], columns, HEADLINE_METRICS)
    missing = len(planned - set(runs["run_id"]))
    if missing:
        raise InputError(
            str(folder),
            None,
            f"{missing} of {len(planned)} planned runs have not run: finish the experiment "
            "(volsim experiment, which resumes) before discovery",
        )
    runs = runs[runs["status"] == "done"].copy()
    _check_comparable(runs, source, str(manifest_path), sampled)
    design = manifest["resolved"]["experiment"].get("design") or {}
    if "sample" in runs and runs["sample"].notna().all():  # a factorial design has none
        runs["block"] = block_ids(runs["sample"].to_numpy(), design, len(sampled))
    return runs, sampled, listed


def _check_comparable(runs: pd.DataFrame, source: str, manifest: str, sampled: list[str]) -> None:
    """The done runs hold two policies or more, numbers for every sampled value, and at least
    one headline metric (checked as numbers with the table; missing values allowed: a run with
    no urgent order)."""
    policies = sorted(runs["policy"].astype(str).unique())
    if not policies:
        raise InputError(source, "status", "no finished run")
    if len(policies) < 2:
        message = f"only {policies[0]} ran: nothing to compare"
        raise InputError(manifest, "variables.policy", message)
    for column in sampled:
        values = pd.to_numeric(runs[column], errors="coerce")
        if not np.isfinite(values.to_numpy(dtype=float)).all():
            raise InputError(source, column, "not a finite number in every finished run")
    if not any(m in runs for m in HEADLINE_METRICS):
        raise InputError(
            manifest,
            "experiment.metrics",
            f"none of the headline metrics ({', '.join(HEADLINE_METRICS)}): nothing to compare",
        )


def block_ids(sample: np.ndarray, design: dict[str, Any], dimensions: int) -> np.ndarray:
    """Each sample row's independent block: its Morris trajectory (``dimensions + 1`` rows), its
    Sobol base row with the rows crossed from it (``dimensions + 2`` rows, ``2 * dimensions + 2``
    with second-order indices, in SALib's order), else the row itself (LHS: independent)."""
    kind = design.get("kind")
    if kind == "morris":
        size = dimensions + 1
    elif kind == "sobol":
        size = 2 * dimensions + 2 if design.get("second_order", True) else dimensions + 2
    else:
        size = 1
    return np.asarray(sample, dtype=np.int64) // size


def paired_differences(
    runs: pd.DataFrame, sampled: list[str], listed: list[str], metric: str, a: str, b: str
) -> pd.DataFrame:
    """Per scenario, sampled point and seed where both ran: how much better A is than B on
    ``metric`` (positive: A better), over the seed-mean of each policy's runs at that point."""
    context = [name for name in listed if name != "policy"]
    keys = [*context, *sampled, "seed"]
    values = runs[runs["policy"].isin([a, b])].groupby([*keys, "policy"], dropna=False)[metric]
    wide = values.mean().unstack("policy")
    if a not in wide or b not in wide:
        return pd.DataFrame(columns=[*keys, "gain"])
    gain = wide[a] - wide[b] if HEADLINE_METRICS[metric] else wide[b] - wide[a]
    return gain.dropna().rename("gain").reset_index()


def point_gains(gains: pd.DataFrame, sampled: list[str]) -> pd.DataFrame:
    """Per sampled point: the mean gain over seeds and its standard error, from the variance
    of the per-seed gains pooled over every point (each point has only a few seeds)."""
    by_point = gains.groupby(sampled, dropna=False)["gain"]
    table = by_point.agg(gain="mean", n="count", var="var").reset_index()
    dof = (table["n"] - 1).clip(lower=0)
    pooled = (table["var"].fillna(0) * dof).sum() / dof.sum() if dof.sum() > 0 else math.nan
    table["se"] = np.sqrt(pooled / table["n"]) if np.isfinite(pooled) else math.nan
    return table


def verdict(share_a: float, share_b: float, clear_a: float, clear_b: float) -> str:
    """``a`` or ``b`` when that policy's advantage holds across the space, ``equal`` when
    neither is better beyond the seeds' noise almost anywhere, else empty (also when the noise
    is not measured, with one seed per point: the clear shares are then NaN)."""
    if share_a >= HOLDS_SHARE and clear_b < NOISE_SHARE:
        return "a"
    if share_b >= HOLDS_SHARE and clear_a < NOISE_SHARE:
        return "b"
    if clear_a < NOISE_SHARE and clear_b < NOISE_SHARE:
        return "equal"
    return ""


def compare(runs: pd.DataFrame, sampled: list[str], listed: list[str]) -> list[dict[str, Any]]:
    """The discovery table's rows (see the module docstring)."""
    context = [name for name in listed if name != "policy"]
    rows = []
    groups = runs.groupby(context, dropna=False, sort=True) if context else [((), runs)]
    for setting, frame in groups:
        setting = setting if isinstance(setting, tuple) else (setting,)
        policies = sorted(frame["policy"].unique(), key=str)
        for metric in [m for m in HEADLINE_METRICS if m in frame]:
            for a, b in itertools.combinations(policies, 2):
                gains = paired_differences(frame, sampled, [], metric, a, b)
                if gains.empty:
                    continue
                points = point_gains(gains, sampled)
                blocks = None  # without sample rows: every point independent
                if "block" in frame:
                    block = frame.groupby(sampled, dropna=False)["block"].first().reset_index()
                    blocks = points[sampled].merge(block, on=sampled, how="left")["block"]
                gain, se = points["gain"].to_numpy(), points["se"].to_numpy()
                # one seed per point: the noise is not measured, so nothing is "clearly" better
                noise = NOISE_SE * se if np.isfinite(se).all() else None
                shares = {
                    "share_a_better": float((gain > 0).mean()),
                    "share_b_better": float((gain < 0).mean()),
                    "share_a_clearly_better": (
                        math.nan if noise is None else float((gain > noise).mean())
                    ),
                    "share_b_clearly_better": (
                        math.nan if noise is None else float((gain < -noise).mean())
                    ),
                }
                row = dict(zip(context, setting, strict=True))
                row |= {"metric": metric, "a": a, "b": b, "points": len(points)}
                row["blocks"] = len(points) if blocks is None else int(pd.unique(blocks).size)
                row |= shares
                row["holds"] = verdict(*shares.values())
                row |= box_row(points[sampled], gain, blocks)
                rows.append(row)
    return rows


def box_row(x: pd.DataFrame, gain: np.ndarray, blocks: np.ndarray | None = None) -> dict[str, Any]:
    """The PRIM box around where the usual winner loses, as table fields: which outcome the box
    holds, its conditions, coverage and density, and its check on held-out blocks.

    ``gain``: per point, how much better A is than B (positive: A better, 0: a tie). The usual
    winner is the policy better at more points (ties count for neither, as in the report's
    sentences); the box is around the points where the other is strictly better. ``blocks``:
    each point's independent block (default: every point its own)."""
    gain = np.asarray(gain, dtype=float)
    a_mostly = (gain > 0).mean() >= (gain < 0).mean()
    interest = gain < 0 if a_mostly else gain > 0
    empty = {"box_holds": "", "conditions": "", "limits": "[]"}
    empty |= {"coverage": math.nan, "density": math.nan}
    empty |= {"density_held_out": math.nan, "confirmed": False}
    if not interest.any():  # the usual winner is never beaten
        return empty | {"conditions": "everywhere sampled"}
    box = find_box(x, interest.astype(int))
    if box is None:
        return empty
    limits, coverage, density = box
    blocks = np.arange(len(x)) if blocks is None else np.asarray(blocks)
    held_out, sound = held_out_density(x, interest, blocks, {name for name, _, _ in limits})
    confirmed = bool(
        sound
        and held_out >= CONFIRM_DENSITY
        and held_out >= CONFIRM_LIFT * interest.mean()
        and density >= CONFIRM_DENSITY
    )
    return {
        "box_holds": "b better" if a_mostly else "a better",
        "conditions": conditions_text(limits),
        "limits": json.dumps(limits),
        "coverage": coverage,
        "density": density,
        "density_held_out": held_out,
        "confirmed": confirmed,
    }


def held_out_density(
    x: pd.DataFrame, interest: np.ndarray, blocks: np.ndarray, restricted: set[str]
) -> tuple[float, bool]:
    """Two-fold check on independent blocks: candidates and PRIM run on the even (odd) blocks,
    the box they find measured on the odd (even) ones. Returns the share of held-out points
    inside the boxes that are cases of interest (pooled over both halves; NaN if none falls
    in a box) and whether the check is sound: on both halves a box was found, it holds at
    least ``MIN_HELD_OUT_BLOCKS`` held-out blocks, and it restricts at least one of
    ``restricted`` (the stated box's assumptions: the same assumptions decide on either
    half). A design of one block, or a half without cases (or without others), is not sound."""
    x = x.reset_index(drop=True)
    interest = np.asarray(interest, dtype=bool)
    blocks = np.asarray(blocks)
    fold = blocks % 2 == 1
    inside_count = hits = 0
    sound = True
    for held in (fold, ~fold):
        train = ~held
        if not held.any() or not interest[train].any() or interest[train].all():
            return math.nan, False
        box = find_box(x[train], interest[train].astype(int))
        if box is None:
            sound = False
            continue
        inside = np.ones(int(held.sum()), dtype=bool)
        test = x[held]
        for name, low, high in box[0]:
            if low is not None:
                inside &= test[name].to_numpy(dtype=float) >= low
            if high is not None:
                inside &= test[name].to_numpy(dtype=float) <= high
        inside_count += int(inside.sum())
        hits += int(interest[held][inside].sum())
        agrees = bool(restricted & {name for name, _, _ in box[0]})
        enough = len(np.unique(blocks[held][inside])) >= MIN_HELD_OUT_BLOCKS
        sound = sound and agrees and enough
    return (hits / inside_count if inside_count else math.nan), sound and inside_count > 0


def conditions_text(limits: list[list[Any]]) -> str:
    """A box's limits as text: ``key >= a``, ``key <= b``, ``a <= key <= b``; ``;`` between."""
    parts = []
    for name, low, high in limits:
        if low is not None and high is not None:
            parts.append(f"{low:.3g} <= {name} <= {high:.3g}")
        elif low is not None:
            parts.append(f"{name} >= {low:.3g}")
        else:
            parts.append(f"{name} <= {high:.3g}")
    return "; ".join(parts)


def candidates(x: pd.DataFrame, y: np.ndarray) -> pd.DataFrame:
    """The ``CANDIDATES`` columns of ``x`` most associated with ``y`` (absolute Spearman rank
    correlation; ties keep column order). PRIM peels greedily: given dozens of assumptions and
    a few hundred points it restricts many that only fit the noise, so it sees only these."""
    if x.shape[1] <= CANDIDATES:
        return x
    score = x.corrwith(pd.Series(y, index=x.index, dtype=float), method="spearman")
    keep = np.argsort(-score.abs().fillna(0.0).to_numpy(), kind="stable")[:CANDIDATES]
    return x.iloc[:, np.sort(keep)]


def find_box(x: pd.DataFrame, y: np.ndarray) -> tuple[list[list[Any]], float, float] | None:
    """One PRIM box for the cases ``y == 1``: its limits (``[key, low, high]``, None for a side
    it leaves open), coverage and density; None if PRIM finds none."""
    x = candidates(x.reset_index(drop=True).astype(float), np.asarray(y))
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
        low, high = float(limits[name].iloc[0]), float(limits[name].iloc[1])
        low0, high0 = float(initial[name].iloc[0]), float(initial[name].iloc[1])
        if low > low0 or high < high0:
            parts.append([name, low if low > low0 else None, high if high < high0 else None])
    step = trajectory.loc[best]
    return parts, float(step["coverage"]), float(step["density"])


def _manifest(folder: Path) -> dict[str, Any]:
    """An experiment's manifest; InputError for no results folder, a damaged manifest, or a
    ``volsim optimise`` folder (which has no experiment to discover in)."""
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(folder), None, "no manifest.json: not a results folder") from None
    except (OSError, ValueError) as error:
        raise InputError(str(path), None, f"unreadable manifest: {error}") from None
    if isinstance(manifest, dict) and manifest.get("kind") == "optimise":
        raise InputError(
            str(folder),
            None,
            "a volsim optimise folder, not an experiment's: discovery needs the results of "
            "volsim experiment with policy as a variable and sampled ranges",
        )
    node: Any = manifest
    for key in ("resolved", "experiment", "variables"):
        if not isinstance(node, dict) or key not in node:
            raise InputError(str(path), None, f"unreadable manifest: no {key!r}")
        node = node[key]
    if not isinstance(node, dict):
        raise InputError(str(path), "resolved.experiment.variables", "not a table of variables")
    return manifest


def discover(folder: str | Path) -> pd.DataFrame:
    """The discovery table of a results folder (read, averaged over seeds, compared)."""
    runs, sampled, listed = read_results(folder)
    return pd.DataFrame(compare(runs, sampled, listed), columns=None)


def write(folder: str | Path, table: pd.DataFrame) -> Path:
    """``discovery.parquet`` and ``discovery.csv`` in the folder, both whole or neither."""
    from sim.storage import write_files

    folder = Path(folder)
    csv = folder / "discovery.csv"
    write_files(
        {
            folder / "discovery.parquet": lambda tmp: table.to_parquet(tmp, index=False),
            csv: lambda tmp: table.to_csv(tmp, index=False),
        }
    )
    return csv


def print_table(table: pd.DataFrame) -> None:
    """The discovery table for people: who beats whom where, and what decides it."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    out = Table(title="Where policy A beats policy B over the plausible space (volsim discover)")
    context = [c for c in table.columns if c not in FIELDS]
    names = [*context, "metric", "a", "b", "points", "A better", "B better", "holds"]
    names += ["where it flips", "cov", "dens", "held out"]
    for name in names:
        out.add_column(name, overflow="fold")
    for row in table.to_dict("records"):
        cells = [escape(_label(row[c])) for c in context]
        cells += [row["metric"], row["a"], row["b"], str(row["points"])]
        cells += [f"{row['share_a_better']:.0%}", f"{row['share_b_better']:.0%}"]
        cells += [{"a": row["a"], "b": row["b"]}.get(row["holds"], "-")]
        cells += [escape(row["conditions"] or "-")]
        cells += [_share(row["coverage"]), _share(row["density"])]
        cells += [
            _share(row["density_held_out"]) + ("" if row["confirmed"] else " (not confirmed)")
        ]
        out.add_row(*cells)
    Console().print(out)


def _label(value: Any) -> str:
    """A context value for the table: a scenario file by its name, anything else as it is."""
    text = str(value)
    return Path(text).stem if text.endswith(".toml") else text


def _share(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0%}"


# --- which assumptions matter, and the Sobol follow-up -----------------------------------------

#: the file of a results folder with the Morris or Sobol indices (sim/experiment/runner.py)
SENSITIVITY = "sensitivity.parquet"


def read_sensitivity(folder: str | Path) -> pd.DataFrame:
    """The sensitivity indices of a Morris or Sobol results folder (InputError if none)."""
    path = Path(folder) / SENSITIVITY
    if not path.is_file():
        raise InputError(str(path), None, "missing: not a finished Morris or Sobol experiment")
    return read_parquet(path)


def parameter_ranking(
    sensitivity: pd.DataFrame, metrics: list[str] | None = None, index: str = "mu_star"
) -> pd.DataFrame:
    """The parameters by how much they matter over the headline metrics: ``score`` is the
    mean over every (policy, scenario, metric) combination of the parameter's index divided by
    the combination's largest (so metrics in different units weigh alike); highest first."""
    metrics = list(HEADLINE_METRICS) if metrics is None else metrics
    table = sensitivity[sensitivity["metric"].isin(metrics) & sensitivity[index].notna()]
    if table.empty:
        return pd.DataFrame(columns=["parameter", "score"])
    combos = [c for c in table.columns[: list(table.columns).index("metric")]] + ["metric"]
    largest = table.groupby(combos, dropna=False)[index].transform("max")
    share = (table[index] / largest.where(largest > 0)).fillna(0.0)
    score = share.groupby(table["parameter"]).mean().rename("score")
    return score.sort_values(ascending=False, kind="stable").reset_index()


def _toml_value(value: Any) -> str:
    """A number, string or list of them as TOML (strings as JSON strings, which TOML reads)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _rebase(path: str, source: Path | None, target_dir: Path) -> str:
    """A path written relative to ``source``'s folder, rewritten relative to ``target_dir``."""
    if source is None or Path(path).is_absolute():
        return path
    absolute = (source.parent / path).resolve()
    return Path(os.path.relpath(absolute, target_dir.resolve())).as_posix()


def _experiment_source(manifest: dict[str, Any], folder: Path, scenarios: list) -> Path | None:
    """The experiment file the folder was run from, where the design's relative scenario paths
    start; None if every path is absolute. Folders written before it was recorded absolute give
    it relative to where the experiment ran: refused if it is not found from here."""
    recorded = manifest.get("experiment_file")
    source = Path(recorded) if isinstance(recorded, str) and recorded else None
    if source is not None and source.is_file():
        return source
    if all(not isinstance(p, str) or Path(p).is_absolute() for p in scenarios if p is not None):
        return None
    raise InputError(
        str(folder / "manifest.json"),
        "experiment_file",
        f"{recorded!r} is not found from {Path.cwd()}, so the scenario paths cannot be "
        "rewritten for the design: run discover from the folder the experiment ran in",
    )


def sobol_design(
    folder: str | Path, out: str | Path, top: int, samples: int, seeds: int | None = None
) -> tuple[str, int]:
    """The text of a Sobol experiment over the ``top`` parameters the Morris results folder
    ranks highest (:func:`parameter_ranking`; all of them if fewer), the others at each
    scenario's values; the same policies, scenarios, metrics, baseline and root seed (seeds:
    the folder's unless given). Paths are rewritten for ``out``. Returns (text, parameters)."""
    folder, out = Path(folder), Path(out)
    # the folder's own files (manifest, tables, report, lock) are never .toml: not one of them
    if out.resolve().is_relative_to(folder.resolve()) and out.suffix.lower() != ".toml":
        raise InputError(
            "--sobol-design",
            str(out),
            f"would replace a file of the results folder {folder}: give a .toml file name",
        )
    check_file_writable(out, "--sobol-design")  # before any work (a read-only folder, a pipe)
    if top < 1:
        raise InputError("--top", None, f"must be 1 or more, got {top}")
    if samples < 1 or samples & (samples - 1):
        raise InputError("--samples", None, f"must be a power of two (1, 2, 4, ...), got {samples}")
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise InputError("--seeds", None, f"must be from 1 to {MAX_SEEDS:,}, got {seeds:,}")
    manifest = _manifest(folder)
    spec = manifest["resolved"]["experiment"]
    sensitivity = read_sensitivity(folder)
    if "mu_star" not in sensitivity:
        raise InputError(str(folder / SENSITIVITY), "mu_star", "not a Morris results folder")
    ranking = parameter_ranking(sensitivity).head(top)
    variables = spec["variables"]
    listed = {k: v for k, v in variables.items() if not isinstance(v, dict)}
    scenarios = [spec["experiment"].get("scenario"), *listed.get("scenario", [])]
    source = _experiment_source(manifest, folder, scenarios)
    if "scenario" in listed:
        listed["scenario"] = [_rebase(p, source, out.parent) for p in listed["scenario"]]
    experiment = spec["experiment"]
    given_seeds = seeds
    seeds = int(seeds or experiment.get("seeds") or len(manifest.get("seeds", [])) or 2)
    k = len(ranking)
    combos = math.prod(len(v) for v in listed.values())
    runs = samples * (k + 2) * combos * seeds
    if runs > MAX_RUNS:  # volsim experiment would refuse the design
        raise InputError(
            "--samples",
            None,
            f"{samples} × ({k} + 2) sample rows × {combos} combinations × {seeds} seeds = "
            f"{runs:,} runs, more than an experiment may plan ({MAX_RUNS:,}): fewer samples, "
            "seeds or --top",
        )
    cpu = _cpu_estimate(folder, listed, samples * (k + 2) * seeds)
    name = experiment.get("name", folder.name)
    lines = [
        f"# Sobol follow-up of {name}: first-order and total Sobol indices (SALib) of the {k}",
        "# assumptions that matter most by its Morris screening, every other assumption at each",
        "# scenario's own value. Generated by",
        f"#   volsim discover {folder.as_posix()} --sobol-design {out.as_posix()} --top {top} "
        f"--samples {samples}" + ("" if given_seeds is None else f" --seeds {given_seeds}"),
        "# from the Morris ranking of that results folder (mu* over the headline metrics, each",
        "# (policy, scenario, metric) scaled by its largest mu*, averaged; score after each key).",
        f"# {samples} × ({k} + 2) = {samples * (k + 2)} sample rows × {combos} policy and scenario "
        f"combinations × {seeds} seeds = {runs:,} runs",
    ]
    if cpu is not None:
        lines.append(
            f"# (about {cpu:,.0f} s of runs at that folder's mean wall time per run: "
            f"{cpu / 60 / 2:,.0f} minutes on two cores)."
        )
    lines += [
        "",
        "[experiment]",
        f"name = {_toml_value(str(name) + '-sobol')}",
        f"description = {_toml_value(f'Sobol indices of the {k} assumptions that matter most')}",
    ]
    if "scenario" in experiment:
        lines.append(
            f"scenario = {_toml_value(_rebase(experiment['scenario'], source, out.parent))}"
        )
    for key in ("days",):
        if experiment.get(key):
            lines.append(f"{key} = {_toml_value(experiment[key])}")
    lines.append(f"seeds = {seeds}")
    for key in ("root_seed", "baseline_policy", "metrics"):
        if experiment.get(key) is not None:
            lines.append(f"{key} = {_toml_value(experiment[key])}")
    overrides = spec.get("overrides") or {}
    if overrides:
        lines += ["", "[overrides]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in overrides.items()]
    lines += ["", "[design]", 'kind = "sobol"', f"samples = {samples}", "second_order = false"]
    lines += ["sample_seed = 0", "", "[variables]"]
    for key, values in listed.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(values)}")
    for parameter, score in ranking.itertuples(index=False):
        bounds = variables[parameter]
        lines.append(
            f"{_toml_key(parameter)} = {{ min = {bounds['min']!r}, max = {bounds['max']!r} }}"
            f"  # score {score:.2f}"
        )
    return "\n".join(lines) + "\n", k


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").isalnum() else json.dumps(key)


def _cpu_estimate(folder: Path, listed: dict[str, list], rows_seeds: int) -> float | None:
    """CPU seconds of a design with ``rows_seeds`` sample rows × seeds per combination of the
    listed variables, at the folder's mean time per run of each combination."""
    runs, _, _ = read_results(folder)
    if "wall_seconds" not in runs:
        return None
    keys = [k for k in listed if k in runs]
    per_run = runs.groupby(keys)["wall_seconds"].mean() if keys else runs["wall_seconds"].mean()
    total = (
        float(np.sum(per_run)) if keys else float(per_run) * math.prod(map(len, listed.values()))
    )
    return total * rows_seeds
