"""The Poisson model of where to recruit (van den Berg, Henderson, Jagtenberg & Li, Management
Science 71(2):992-1008, 2025), on volsim's community, beside volsim's own optimum.

Their model: volunteers are a Poisson point process whose intensity follows where they were
recruited; each accepts an alert independently with probability p; an incident is reached in
time if at least one accepting volunteer is within reach. Recruiting N volunteers over grids
g with counts n_g puts, at stairwell s, a Poisson number with mean
``mu_s = sum_g n_g e_s / E_g`` (e_s residents of volunteer age at s, E_g in grid g: volsim
recruits uniformly among them). An order from stairwell j is reached with probability
``1 - exp(-p sum_{s: d(s,j) <= r} mu_s)``; weighting by each stairwell's order rate w_j gives
the share of orders reached in time, a concave function of n, maximised over
``sum n_g = N`` (SLSQP; the integers by largest remainders).

``python -m sim.optimise.poisson DIR`` compares it with a ``volsim optimise`` folder searched
with ``recruit=grid:N`` on the setting of docs/ODD.md §7.16: it writes
``DIR/poisson/comparison.csv``, ``allocations.csv`` and ``fig-poisson.png/.svg``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.optimise.study import stored_scenario
from sim.population import apportion
from sim.scenario import Scenario
from sim.storage import write_files


def stairwell_weights(scenario: Scenario, seeds: list[int]) -> dict[str, np.ndarray]:
    """Per stairwell, averaged over the seeds' populations: the order rate per day (``w``) and
    the residents who could be recruited (``e``: of volunteer age, not already active); and the
    layout's distances and grids."""
    from sim.model import VolunteerModel

    w = e = None
    for seed in seeds:
        model = VolunteerModel(scenario, days=1, rng=seed)
        pop, layout = model.population, model.layout
        n = layout.n_stairwells
        clients, rates = model.demand.elder_rates_per_day(pop)
        w_seed = np.bincount(pop.stairwell[clients], weights=rates, minlength=n)
        v = scenario.volunteers
        free = pop.present & ~pop.active
        free &= (pop.age_years >= v.min_age_years) & (pop.age_years <= v.max_age_years)
        e_seed = np.bincount(pop.stairwell[free], minlength=n).astype(float)
        w = w_seed if w is None else w + w_seed
        e = e_seed if e is None else e + e_seed
    return {
        "w": w / len(seeds),
        "e": e / len(seeds),
        "distance_m": layout.distance_m,
        "grid": layout.stairwell_grid,
    }


def reach_matrix(weights: dict[str, np.ndarray], reach_m: float) -> np.ndarray:
    """(stairwells, grids): expected recruits within reach of stairwell j per recruit in g."""
    grid, e = weights["grid"], weights["e"]
    grids = int(grid.max()) + 1
    share = e / np.maximum(np.bincount(grid, weights=e, minlength=grids)[grid], 1e-12)
    within = (weights["distance_m"] <= reach_m).astype(float)
    return within @ (share[:, None] * (grid[:, None] == np.arange(grids)[None, :]))


def reached_share(n_by_grid: np.ndarray, matrix: np.ndarray, w: np.ndarray, p: float) -> float:
    """The Poisson model's share of orders with an accepting volunteer within reach."""
    return float(np.sum(w * (1 - np.exp(-p * matrix @ n_by_grid))) / np.sum(w))


def fixed_count_share(n_by_grid: np.ndarray, matrix: np.ndarray, w: np.ndarray, p: float) -> float:
    """The same, with exactly n_g recruits per grid (each at a stairwell drawn by e_s/E_g):
    ``1 - prod_g (1 - p M_jg)^n_g``. It is never below the Poisson share (1 - x <= e^-x)."""
    miss = np.prod((1 - p * matrix) ** n_by_grid[None, :], axis=1)
    return float(np.sum(w * (1 - miss)) / np.sum(w))


def optimum(matrix: np.ndarray, w: np.ndarray, p: float, total: int) -> np.ndarray:
    """The Poisson model's best recruitment by grid (continuous), maximised over the simplex."""
    from scipy.optimize import minimize

    grids = matrix.shape[1]

    def loss(n: np.ndarray) -> tuple[float, np.ndarray]:
        rate = np.exp(-p * matrix @ n)
        value = -np.sum(w * (1 - rate)) / np.sum(w)
        gradient = -(p * (w * rate) @ matrix) / np.sum(w)
        return value, gradient

    start = np.full(grids, total / grids)
    result = minimize(
        loss,
        start,
        jac=True,
        method="SLSQP",
        bounds=[(0, total)] * grids,
        constraints=[{"type": "eq", "fun": lambda n: n.sum() - total}],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    return np.clip(result.x, 0, None)


def _simulate(scenario: Scenario, by_grid: list[int], seeds: list[int], metric: str) -> np.ndarray:
    from sim.model import VolunteerModel

    chosen = scenario_module.with_overrides(scenario, {"volunteers.recruits_by_grid": by_grid})
    values = []
    for seed in seeds:
        model = VolunteerModel(chosen, rng=seed)
        model.run()
        values.append(model.summary()[metric])
    return np.array(values, dtype=float)


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    from scipy import stats

    mean = float(values.mean())
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def compare(folder: Path, reach_m: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison of an optimise folder's best recruitment with the Poisson optimum."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    resolved = manifest["resolved"]
    scenario = stored_scenario(resolved["scenario"], str(folder / "manifest.json"))
    metric = resolved["objectives"][0][0]
    grid_levers = [t for t in resolved["levers"] if t.startswith("recruit=grid:")]
    if len(grid_levers) != 1 or len(resolved["levers"]) != 1:
        raise InputError(str(folder), "levers", "expected one lever, recruit=grid:N")
    try:
        total = int(grid_levers[0].removeprefix("recruit=grid:").split("@")[0])
    except ValueError:
        raise InputError(str(folder), "levers", "expected recruit=grid:N, one count") from None
    p = scenario.volunteers.accept_probability
    if p is None:
        raise InputError(
            str(folder), "volunteers.accept_probability", "the comparison needs a fixed p"
        )
    if manifest.get("best") is None:
        raise InputError(str(folder), "best", "no re-checked best: finish the search first")
    weights = stairwell_weights(scenario, manifest["search_seeds"])
    matrix = reach_matrix(weights, reach_m)
    grids = matrix.shape[1]
    continuous = optimum(matrix, weights["w"], p, total)
    plans: dict[str, np.ndarray] = {
        "poisson": apportion(total, continuous),
        "volsim": np.array(_pad(manifest["best"]["overrides"][_KEY], grids)),
        "even": apportion(total, np.ones(grids)),
        "by_residents": apportion(total, np.bincount(weights["grid"], weights["e"], grids)),
    }
    fresh = manifest["fresh_seeds"]
    rows, simulated = [], {}
    for name, plan in plans.items():
        simulated[name] = _simulate(scenario, plan.tolist(), fresh, metric)
        mean, low, high = _interval(simulated[name])
        rows.append(
            {
                "plan": name,
                "poisson_share": reached_share(plan, matrix, weights["w"], p),
                "fixed_count_share": fixed_count_share(plan, matrix, weights["w"], p),
                f"{metric}_mean": mean,
                "ci_low": low,
                "ci_high": high,
                "n_seeds": len(fresh),
                "by_grid": json.dumps(plan.tolist()),
            }
        )
    table = pd.DataFrame(rows)
    diff = simulated["volsim"] - simulated["poisson"]
    mean, low, high = _interval(diff)
    table.attrs["paired"] = {"volsim_minus_poisson": mean, "ci_low": low, "ci_high": high}
    allocations = pd.DataFrame({name: plan for name, plan in plans.items()})
    allocations.insert(0, "grid", np.arange(grids))
    allocations["poisson_continuous"] = continuous
    return table, allocations


_KEY = "volunteers.recruits_by_grid"


def _pad(values: list[int], size: int) -> list[int]:
    return list(values) + [0] * (size - len(values))


def figure(table: pd.DataFrame, allocations: pd.DataFrame, metric: str) -> Any:
    """The allocations beside the shares they reach (a matplotlib Figure, not yet saved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    width = 0.2
    grids = allocations["grid"].to_numpy()
    for i, name in enumerate(("poisson", "volsim", "even", "by_residents")):
        left.bar(grids + (i - 1.5) * width, allocations[name], width, label=name)
    left.set_xlabel("grid")
    left.set_ylabel("volunteers recruited")
    left.set_xticks(grids)
    left.legend(fontsize=8)
    y = np.arange(len(table))
    mean = table[f"{metric}_mean"].to_numpy()
    right.errorbar(
        mean,
        y,
        xerr=[mean - table["ci_low"], table["ci_high"] - mean],
        fmt="o",
        capsize=3,
        label="volsim, fresh seeds (95% CI)",
    )
    right.scatter(table["poisson_share"], y, marker="x", color="#b2182b", label="Poisson model")
    right.scatter(
        table["fixed_count_share"], y, marker="+", s=60, color="#1b7837", label="fixed count"
    )
    right.set_yticks(y, table["plan"])
    right.set_xlabel(metric)
    right.legend(fontsize=8, loc="lower left")
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.optimise.poisson", description=__doc__)
    parser.add_argument("dir", help="a volsim optimise folder searched with recruit=grid:N")
    parser.add_argument("--reach-m", type=float, required=True, help="the reach r in metres")
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    try:
        table, allocations = compare(folder, args.reach_m)
    except (InputError, OSError, KeyError, ValueError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    metric = next(c for c in table.columns if c.endswith("_mean")).removesuffix("_mean")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False))
        print(allocations.to_string(index=False))
    paired = table.attrs["paired"]
    print(
        "volsim best − Poisson optimum, paired on the fresh seeds: "
        f"{paired['volsim_minus_poisson']:.4f} "
        f"(95% CI {paired['ci_low']:.4f} to {paired['ci_high']:.4f})"
    )
    out = folder / "poisson"
    fig = figure(table, allocations, metric)
    writers = {
        out / "comparison.csv": lambda tmp: table.to_csv(tmp, index=False),
        out / "allocations.csv": lambda tmp: allocations.to_csv(tmp, index=False),
        out / "paired.json": lambda tmp: Path(tmp).write_text(
            json.dumps(paired, indent=1), encoding="utf-8"
        ),
        **{
            out / f"fig-poisson.{kind}": lambda tmp, kind=kind: fig.savefig(
                tmp, dpi=130, format=kind
            )
            for kind in ("png", "svg")
        },
    }
    try:  # all five files or none, each atomically (sim.storage)
        out.mkdir(exist_ok=True)
        write_files(writers)
    except InputError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{parser.prog}: error: {error.filename or out}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["compare", "optimum", "reach_matrix", "reached_share", "stairwell_weights"]
