"""Calibration of the 1988-2023 history by ABC-SMC (approximate Bayesian computation).

The tuned values of ``scenarios/chaoyangli-history.toml`` (the recruitment effort's path and
rates, and the households who arrive) are drawn from uniform priors (:data:`PRIORS`) and each
draw is simulated once, with seed ``index % SEEDS`` (the same few seeds for every generation:
common random numbers). A draw is accepted if every pattern of :data:`TARGETS` (the registry
counts a published source gives, and the residents) is within its tolerance. The first
generation draws from the priors (plain rejection ABC); each next one moves the previous one's
best draws by a Gaussian kernel with twice their covariance (Beaumont et al. 2009; Filippi et
al. 2013). The accepted draws of every generation are pooled, each weighted by prior density /
the density of the mixture of all generations' proposals (multiple importance sampling with the
balance heuristic: :func:`pooled_weights`); they approximate the posterior, and their spread is
what the data leave open (docs/ODD.md §7.11).

A history run places no orders, so :func:`simulate` steps only the people and the volunteers
(:meth:`sim.dynamics.Dynamics.end_of_day` each day): the same draws, in the same order, as
``VolunteerModel.run()``, a few times faster (tests/test_calibration.py checks they agree).

:func:`command` (``volsim calibrate``) writes one JSON file per simulated draw into
``DIR/runs`` as it finishes (atomically), so a rerun after a kill simulates only the draws not
yet done (a generation's draws follow from the seed and the previous generation's files; a
damaged file, unreadable or with a field of the wrong type or range, is named and redone);
then ``samples.parquet`` (every draw), ``accepted.parquet`` / ``accepted.csv`` and
``summary.csv`` / ``summary.json`` (weighted mean, median and 90% interval per parameter).

The folder is an experiment's results folder in what matters (:class:`CalibrationFolder`):
``manifest.json`` identifies the calibration by the sha256 of what determines its draws (the
resolved scenario's contents, the priors, targets, seed, samples and generations), so a folder
of another calibration is refused, as is one with files but no manifest (its draws' provenance
is unknown); a second calibration into a folder one is writing to is refused by the same
``.lock`` as experiments. Ctrl-C or SIGTERM ends it (one line, exit status 130): pool workers
ignore the terminal's signals (sim.experiment.runner's initialiser) and are stopped, and the
temporary files of draws cut short are removed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shlex
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError, OutputError
from sim.experiment.design import MAX_RUNS, canonical_json
from sim.experiment.runner import Stop, end_pool, new_pool, signals_blocked
from sim.experiment.store import ResultsFolder, exists_or_link, kind_problem
from sim.scenario import Scenario
from sim.storage import (
    check_file_writable,
    check_writable,
    json_safe,
    remove_created,
    write_error,
    write_files,
    write_json,
    writing,
)

#: the draws are simulated with seeds 0 .. SEEDS-1 in turn (common random numbers)
SEEDS = 10
#: the draws of a default calibration, over GENERATIONS generations of ABC-SMC
DEFAULT_SAMPLES = 150
GENERATIONS = 3
#: a generation passes on its draws within tolerance, or its best quarter if more
KEEP_SHARE = 0.25
#: a history run's seconds per simulated year on one core (36 years in about 5 s, measured)
SECONDS_PER_YEAR_ESTIMATE = 0.15


@dataclass(frozen=True)
class Prior:
    """A uniform prior over a scenario key (dotted) between ``low`` and ``high``."""

    key: str
    low: float
    high: float
    why: str = ""


@dataclass(frozen=True)
class Target:
    """A pattern: ``column`` of the yearly series at the end of ``year`` is ``observed``, within
    ``tolerance`` (a share of ``observed``)."""

    name: str
    column: str
    year: int
    observed: float
    tolerance: float
    source: str = ""


PRIORS: tuple[Prior, ...] = (
    Prior("dynamics.recruitment_effort", 0.02, 0.20, "effort in 1988, today's = 1"),
    Prior("dynamics.recruitment_effort_midpoint_year", 1995.0, 2022.0, "halfway up the rise"),
    Prior("dynamics.recruitment_effort_rise_years", 1.0, 20.0, "10% to 90% of the rise"),
    Prior("dynamics.recruit_spontaneous_per_year", 0.0, 0.02, "joining with no ties"),
    Prior("dynamics.recruit_per_active_neighbour_per_year", 0.0, 0.30, "per active neighbour"),
    Prior("dynamics.arriving_households_per_year", 55.0, 90.0, "households moving in"),
)

#: 13 volunteers in 1988 is the starting state; the row of year Y is the end of Y, so the end
#: of 2023 is March 2024's count (3,885) to the article's (3,966): their midpoint, ±10%
TARGETS: tuple[Target, ...] = (
    Target("registry_2015", "registered_volunteers", 2015, 1163, 0.30, "profile, about 2015"),
    Target("registry_2024", "registered_volunteers", 2023, 3925.5, 0.10, "3,885 (2024), 3,966"),
    Target("residents_2024", "residents", 2023, 4900, 0.05, "the article, about 4,900"),
)


# --- the ABC machinery (any simulator) --------------------------------------------------
def draw_prior(priors: Iterable[Prior], n: int, seed: int) -> pd.DataFrame:
    """``n`` draws from independent uniform priors, one column per key (reproducible)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({p.key: rng.uniform(p.low, p.high, n) for p in priors})


def distance(stats: dict[str, Any], targets: Iterable[Target]) -> float:
    """The largest miss over the targets, in units of each target's tolerance: 1 or less means
    every pattern is within its tolerance; a missing or non-finite statistic is infinitely far."""
    worst = 0.0
    for t in targets:
        value = stats.get(t.name)
        if value is None or not math.isfinite(value):
            return math.inf
        worst = max(worst, abs(value - t.observed) / (t.tolerance * t.observed))
    return worst


def survivors(table: pd.DataFrame, keep_share: float, epsilon: float = 1.0) -> pd.DataFrame:
    """The particles a generation passes on: distance within ``epsilon``, or within the
    ``keep_share`` quantile of the distances if that is wider (an adaptive tolerance)."""
    finite = table["distance"][np.isfinite(table["distance"])]
    cut = max(epsilon, float(np.quantile(finite, keep_share))) if len(finite) else epsilon
    return table[table["distance"] <= cut]


def _kernel_cov(previous: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Twice the particles' weighted covariance (Filippi et al. 2013): the kernel follows
    ridges along which parameters trade off (kept positive definite)."""
    w = previous["weight"].to_numpy() / previous["weight"].sum()
    x = previous[keys].to_numpy()
    d = x - w @ x
    cov = 2 * (w[:, None] * d).T @ d
    return cov + np.diag(np.maximum(1e-9 * np.diag(cov), 1e-12))


def propose(
    priors: tuple[Prior, ...], previous: pd.DataFrame | None, n: int, seed: int
) -> pd.DataFrame:
    """``n`` draws of a generation with their importance weights: from the priors for the
    first (``previous`` None), else particles of ``previous`` (weighted by ``weight``) moved by
    a Gaussian kernel and kept inside the priors' ranges."""
    if previous is None or len(previous) == 0:
        draws = draw_prior(priors, n, seed)
        draws["weight"] = 1.0
        return draws
    rng = np.random.default_rng([seed, len(previous), n])
    keys = [p.key for p in priors]
    low = np.array([p.low for p in priors])
    high = np.array([p.high for p in priors])
    x = previous[keys].to_numpy()
    w = previous["weight"].to_numpy() / previous["weight"].sum()
    cov = _kernel_cov(previous, keys)
    out = np.empty((n, len(keys)))
    for i in range(n):
        for _ in range(1000):
            candidate = rng.multivariate_normal(x[rng.choice(len(x), p=w)], cov)
            if ((candidate >= low) & (candidate <= high)).all():
                break
        out[i] = np.clip(candidate, low, high)
    draws = pd.DataFrame(out, columns=keys)
    draws["weight"] = importance_weights(priors, previous, draws)
    return draws


def importance_weights(
    priors: tuple[Prior, ...], previous: pd.DataFrame | None, draws: pd.DataFrame
) -> np.ndarray:
    """Prior density / the density of the proposal the draws came from (1 for draws from the
    prior): weights that make draws of every generation comparable, so accepted draws of all
    generations can be pooled. The kernel's truncation to the priors' ranges is ignored."""
    if previous is None or len(previous) == 0:
        return np.ones(len(draws))
    keys = [p.key for p in priors]
    x = previous[keys].to_numpy()
    w = previous["weight"].to_numpy() / previous["weight"].sum()
    cov = _kernel_cov(previous, keys)
    d = draws[keys].to_numpy()[:, None, :] - x[None, :, :]
    squared = np.einsum("ijk,kl,ijl->ij", d, np.linalg.inv(cov), d)
    norm = math.sqrt((2 * math.pi) ** len(keys) * np.linalg.det(cov))
    kernel = np.exp(-0.5 * squared) / norm
    proposal = (w[None, :] * kernel).sum(axis=1)
    prior = 1.0 / np.prod([p.high - p.low for p in priors])
    return prior / np.maximum(proposal, 1e-300)


def pooled_weights(
    priors: tuple[Prior, ...],
    draws: pd.DataFrame,
    proposals: list[tuple[int, pd.DataFrame | None]],
) -> np.ndarray:
    """Weights that pool the draws of every generation: prior density / the mixture
    Σ_g (n_g / N) q_g of the generations' proposal densities (``proposals``: each generation's
    number of draws and the particles it was proposed from, None for the prior). Multiple
    importance sampling with the balance heuristic (Veach & Guibas 1995; Owen & Zhou 2000):
    unbiased like weighting each draw by its own proposal alone, but no weight exceeds
    N / n_0, so one draw from a wide kernel cannot carry most of the posterior."""
    total = sum(n for n, _ in proposals)
    mixture = np.zeros(len(draws))
    for n, previous in proposals:
        mixture += n / total / importance_weights(priors, previous, draws)
    return 1.0 / mixture


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of weighted draws, (Σw)² / Σw²."""
    weights = np.asarray(weights, dtype=float)
    return float(weights.sum() ** 2 / (weights**2).sum()) if len(weights) else 0.0


def abc_smc(
    simulate: Callable[[dict[str, float], int], dict[str, Any]],
    priors: Iterable[Prior],
    targets: Iterable[Target],
    draws_per_generation: int,
    generations: int = 2,
    seed: int = 0,
    keep_share: float = 0.25,
) -> pd.DataFrame:
    """ABC-SMC in this process (rejection ABC when ``generations`` is 1): every generation's
    draws with ``generation``, ``distance``, ``weight`` and ``accepted`` (distance <= 1)."""
    priors, targets = tuple(priors), tuple(targets)
    previous, tables, proposals = None, [], []
    for g in range(generations):
        table = propose(priors, previous, draws_per_generation, seed + g)
        proposals.append((len(table), previous))
        keys = [p.key for p in priors]
        table["distance"] = [
            distance(simulate(row, i % SEEDS), targets)
            for i, row in enumerate(table[keys].to_dict("records"))
        ]
        table["generation"] = g
        tables.append(table)
        previous = survivors(table, keep_share)
    table = pd.concat(tables, ignore_index=True)
    table["proposal_weight"] = table["weight"]
    table["weight"] = pooled_weights(priors, table, proposals)
    table["accepted"] = table["distance"] <= 1.0
    return table


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: list[float]) -> np.ndarray:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    cum = (cum - 0.5 * weights[order]) / cum[-1]
    return np.interp(q, cum, values[order])


def summarise(accepted: pd.DataFrame, priors: Iterable[Prior]) -> pd.DataFrame:
    """Per parameter: the prior's range, the accepted draws' (weighted) mean, median and 90%
    interval, and the interval's width as a share of the prior's (1: the data say nothing)."""
    rows = []
    for p in priors:
        values = accepted[p.key].to_numpy(dtype=float)
        w = (
            accepted["weight"].to_numpy(dtype=float)
            if "weight" in accepted
            else np.ones(len(values))
        )
        if len(values):
            q05, q50, q95 = _weighted_quantiles(values, w, [0.05, 0.5, 0.95])
            mean = float(np.average(values, weights=w))
        else:
            q05 = q50 = q95 = mean = math.nan
        rows.append(
            {
                "parameter": p.key,
                "prior_low": p.low,
                "prior_high": p.high,
                "accepted": len(values),
                "mean": mean,
                "median": float(q50),
                "q05": float(q05),
                "q95": float(q95),
                "interval_share_of_prior": float((q95 - q05) / (p.high - p.low)),
            }
        )
    return pd.DataFrame(rows)


# --- the history model ---------------------------------------------------------------------
def simulate(
    scenario: str | Path | Scenario,
    params: dict[str, float],
    seed: int,
    check: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One history run with ``params`` (dotted keys) and ``seed``: the target statistics and
    the registry and residents at the end of each year. ``check`` is called before every
    simulated day (it may raise to end the run)."""
    from sim.dynamics import DAYS_PER_YEAR
    from sim.model import VolunteerModel

    model = VolunteerModel(scenario, rng=seed, **params)
    dynamics = model.dynamics
    for day in range(model.days):
        if check is not None:
            check()
        arrived, _ = dynamics.end_of_day(day, last=day + 1 == model.days)
        if len(arrived):
            model.roster.grow(len(arrived))
        if (day + 1) % DAYS_PER_YEAR == 0:
            dynamics.end_of_year()
            model._record_year(day)  # the yearly row, as VolunteerModel.run() records it
    yearly = model.yearly_table().set_index("year")
    stats: dict[str, Any] = {}
    for t in TARGETS:
        has = t.year in yearly.index
        stats[t.name] = float(yearly.loc[t.year, t.column]) if has else math.nan
    stats["registered_by_year"] = {
        int(y): int(v) for y, v in yearly["registered_volunteers"].items()
    }
    stats["residents_by_year"] = {int(y): int(v) for y, v in yearly["residents"].items()}
    return stats


def load_scenario(scenario: str | Path | Scenario) -> Scenario:
    """The resolved scenario (a file is read once: every draw simulates these contents); an
    InputError if it places orders (the fast path of :func:`simulate` would then differ from a
    full run)."""
    from sim.scenario import load

    params = scenario if isinstance(scenario, Scenario) else load(scenario)
    demand = params.demand
    rates = [v for k, v in demand.model_dump().items() if k.startswith("orders_per_year_")]
    if demand.total_per_day is not None or any(rates):
        raise InputError(str(scenario), "demand", "calibration runs place no orders: set 0")
    return params


def check_scenario(scenario: str | Path | Scenario) -> int:
    """The scenario's simulated days; an InputError if it places orders."""
    return load_scenario(scenario).simulation.days


# --- the resumable command -------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    generation: int
    index: int
    #: the resolved scenario (or its file)
    scenario: Scenario | str
    params: dict[str, float]
    weight: float
    seed: int
    path: str


class Unwritten(Exception):
    """A draw's record could not be written (a full disk): its path and why (picklable, so a
    pool worker's reaches the command, which says it as one line: an OutputError)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path, self.reason = path, reason


def _run_task(task: Task, check: Callable[[], None] | None = None) -> float:
    started = time.perf_counter()
    stats = simulate(task.scenario, task.params, task.seed, check)
    record = {
        "generation": task.generation,
        "index": task.index,
        "params": task.params,
        "weight": task.weight,
        "seed": task.seed,
        "stats": json_safe(stats),  # a missing statistic: null
        "distance": distance(stats, TARGETS),
    }
    record["seconds"] = time.perf_counter() - started
    try:
        write_json(record, Path(task.path))
    except OSError as error:  # a full disk (a write's error names no file)
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise Unwritten(task.path, reason) from None
    except InputError as error:  # no regular file there (a pipe)
        raise Unwritten(task.path, error.message) from None
    return record["seconds"]


def _sha256(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def _manifest(
    scenario: str | Path,
    resolved: Scenario,
    samples: int,
    seed: int,
    priors: tuple[Prior, ...],
    generations: int,
) -> dict:
    """The manifest: the scenario file (a note) and what determines the draws, with their
    sha256 (``calibration_sha256``) that identifies the calibration."""
    identity = {
        "scenario_sha256": _sha256(resolved.model_dump(mode="json")),
        "samples": samples,
        "generations": generations,
        "keep_share": KEEP_SHARE,
        "seed": seed,
        "seeds": SEEDS,
        "priors": [asdict(p) for p in priors],
        "targets": [asdict(t) for t in TARGETS],
    }
    return {"scenario": str(scenario), **identity, "calibration_sha256": _sha256(identity)}


#: manifest keys that only note where the calibration came from (compared through a hash)
NOTES = ("scenario",)


class CalibrationFolder(ResultsFolder):
    """A calibration's results folder: an experiment's folder (its ``.lock``, the removal of
    writes cut short, the refusal of a folder with files but no manifest) with the
    calibration's manifest."""

    def read_manifest(self, strict: bool = True) -> dict[str, Any] | None:
        """The manifest, None for a new folder; an InputError for a folder with files but no
        manifest (whose draws' provenance is unknown) or a damaged manifest."""
        path = self.manifest_path
        if not exists_or_link(path):
            return super().read_manifest(strict)
        if (problem := kind_problem(path)) is not None:
            raise InputError(str(path), None, f"{problem}: choose a new --out")
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise InputError(str(path), None, f"cannot be read: {error.strerror}") from None
        except (ValueError, RecursionError) as error:
            problem = f"damaged, not JSON ({error}): choose a new --out"
            raise InputError(str(path), None, problem) from None
        if not isinstance(previous, dict):
            raise InputError(str(path), None, "damaged, not a JSON object: choose a new --out")
        return previous

    def check_calibration(self, manifest: dict[str, Any]) -> None:
        """An InputError unless the folder is new or holds this calibration (``manifest``),
        which may resume: naming what is damaged, or the first setting that differs."""
        previous = self.read_manifest()
        if previous is not None:
            _check_manifest(self.manifest_path, previous, manifest)

    def write_calibration(self, manifest: dict[str, Any]) -> None:
        """Check the folder (again: another process may have written it meanwhile) and write
        the manifest (a full disk: an OutputError naming it)."""
        self.check_calibration(manifest)
        try:
            write_json(manifest, self.manifest_path)
        except OSError as error:  # read-only: bad input (exit 2); a full disk: a fault (1)
            raise write_error(error, self.manifest_path, "the manifest") from None


#: a run record's file name: its generation and index
RUN_NAME = re.compile(r"g(\d+)-(\d+)\.json")


def _number(value: Any, low: float = -math.inf, high: float = math.inf) -> bool:
    """Whether ``value`` is a finite JSON number (not a bool) within ``low``-``high``."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and abs(value) <= sys.float_info.max and low <= value <= high


def _statistic(value: Any) -> bool:
    """A target statistic: a number, 0 or more, or missing (null; NaN as older files say it)."""
    return value is None or _number(value, 0) or (isinstance(value, float) and math.isnan(value))


def _run_problem(record: Any, name: re.Match, priors: tuple[Prior, ...]) -> str | None:
    """What makes a run record unusable, as "key: what is wrong" (None if nothing): every field
    the calibration reads, checked for its type and range, and the draw against the file name."""
    if not isinstance(record, dict):
        return "not a JSON object"
    generation, index = int(name[1]), int(name[2])
    seed = index % SEEDS
    params, stats = record.get("params"), record.get("stats")
    for key, value in (("params", params), ("stats", stats)):
        if not isinstance(value, dict):
            return f"{key}: not a JSON object"
    if extra := sorted(set(params) - {p.key for p in priors}):
        return f"params.{extra[0]}: not a prior's key"
    missing = object()
    fields = [
        ("generation", lambda v: type(v) is int and v == generation, f"{generation} (the name)"),
        ("index", lambda v: type(v) is int and v == index, f"{index} (the name)"),
        ("seed", lambda v: type(v) is int and v == seed, f"{seed} (the index mod {SEEDS})"),
        ("weight", lambda v: _number(v) and v > 0, "a number above 0"),
        ("seconds", lambda v: _number(v, 0), "a number, 0 or more"),
        ("distance", lambda v: v is None or _number(v, 0), "a number, 0 or more, or null"),
    ]
    checks = [(key, record.get(key, missing), ok, wanted) for key, ok, wanted in fields]
    checks += [
        (f"params.{p.key}", params.get(p.key, missing), _in_prior(p), f"in {p.low:g}-{p.high:g}")
        for p in priors
    ]
    checks += [
        (f"stats.{t.name}", stats.get(t.name, missing), _statistic, "a number, 0 or more, or null")
        for t in TARGETS
    ]
    for key, value, ok, wanted in checks:
        if value is missing:
            return f"{key}: missing"
        if not ok(value):
            return f"{key}: {value!r:.40} is not {wanted}"
    stored = math.inf if record["distance"] is None else record["distance"]
    if not math.isclose(stored, distance(stats, TARGETS)):
        return f"distance: {stored!r} does not match stats"
    return None


def _in_prior(prior: Prior) -> Callable[[Any], bool]:
    return lambda value: _number(value, prior.low, prior.high)


def _scan_runs(
    out: Path, generation: int | None = None, priors: tuple[Prior, ...] = PRIORS
) -> tuple[list[dict[str, Any]], dict[Path, str]]:
    """The sound run records (of one ``generation``, else all) and, for each damaged file,
    what is wrong with it: unreadable JSON, or a field of the wrong type or range. A damaged
    draw counts as not done, so it is simulated again (and its file replaced)."""
    pattern = "g*-*.json" if generation is None else f"g{generation}-*.json"
    records, damaged = [], {}
    for path in sorted((out / "runs").glob(pattern)):
        if (name := RUN_NAME.fullmatch(path.name)) is None:
            continue
        if (kind := kind_problem(path)) is not None:  # a pipe: a read would wait for ever
            damaged[path] = kind
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError, RecursionError) as error:
            damaged[path] = f"unreadable ({type(error).__name__})"
            continue
        if (problem := _run_problem(record, name, priors)) is None:
            records.append(record)
        else:
            damaged[path] = problem
    return records, damaged


def _read_runs(
    out: Path, generation: int | None = None, priors: tuple[Prior, ...] = PRIORS
) -> list[dict[str, Any]]:
    """The sound run records (of one generation): see :func:`_scan_runs`."""
    return _scan_runs(out, generation, priors)[0]


def _table(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        row = {"generation": r["generation"], "index": r["index"], "seed": r["seed"]}
        row.update(r["params"])
        row.update({t.name: r["stats"].get(t.name) for t in TARGETS})
        row["distance"] = math.inf if r["distance"] is None else r["distance"]
        row.update(weight=r["weight"], seconds=r["seconds"])
        rows.append(row)
    return pd.DataFrame(rows)


def settings(
    scenario: str | Path | Scenario,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    priors: tuple[Prior, ...] = PRIORS,
    generations: int | None = None,
) -> tuple[Scenario, dict[str, Any]]:
    """The resolved scenario and the calibration's manifest; an InputError naming the first
    option at fault, or the scenario's (nothing is written)."""
    generations = GENERATIONS if generations is None else generations
    if generations < 1:
        raise InputError("--generations", None, "must be 1 or more")
    if samples < generations:
        raise InputError("--samples", None, f"must be {generations} or more (the generations)")
    if samples > MAX_RUNS:  # one run each, planned in memory like an experiment's
        raise InputError("--samples", None, f"must be at most {MAX_RUNS:,} (got {samples:,})")
    if seed < 0:
        raise InputError("--seed", None, "must be 0 or more")
    resolved = load_scenario(scenario)
    name = scenario if not isinstance(scenario, Scenario) else "(scenario)"
    return resolved, _manifest(name, resolved, samples, seed, priors, generations)


def start(
    scenario: str | Path | Scenario,
    out: str | Path,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    priors: tuple[Prior, ...] = PRIORS,
    generations: int | None = None,
) -> None:
    """Check the options, the scenario and the folder (an InputError naming the first at
    fault, before anything is written); write (or check) ``out/manifest.json``. (Without the
    folder's lock: :func:`command` holds it.)"""
    _, manifest = settings(scenario, samples, seed, priors, generations)
    folder = CalibrationFolder(out)
    created = check_writable(Path(out), "--out")
    try:
        folder.write_calibration(manifest)
    except BaseException:
        remove_created(created)
        raise


def _check_manifest(path: Path, previous: dict[str, Any], manifest: dict[str, Any]) -> None:
    """An InputError unless the folder's manifest (``previous``, read from ``path``) is
    ``manifest`` (the same calibration, so it may resume): naming the first key that is
    missing, or the first setting that differs."""
    for key in {**manifest, **previous}:
        if key not in manifest or key not in previous:
            where = "missing" if key in manifest else "not a calibration's key"
            problem = f"{where}: damaged (or written by an older volsim), choose a new --out"
            raise InputError(str(path), key, problem)
        if key in NOTES or previous[key] == manifest[key]:
            continue
        if key == "scenario_sha256":
            setting = (
                f"the scenario's contents differ (sha256 {str(previous[key])[:12]} there, "
                f"{manifest[key][:12]} now, of {manifest['scenario']})"
            )
        else:
            setting = f"{previous[key]!r:.40} there, {manifest[key]!r:.40} now"
        raise InputError(
            str(path), key, f"{setting}: another calibration's folder: choose a new --out"
        )


def plan(
    scenario: str | Path | Scenario,
    out: str | Path,
    generation: int,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    priors: tuple[Prior, ...] = PRIORS,
    generations: int | None = None,
) -> list[Task]:
    """The draws of ``generation`` not yet simulated (the earlier generations must be done:
    the draws follow from their files and ``seed``, so a rerun plans the same draws)."""
    out = Path(out)
    scenario = load_scenario(scenario)  # the same contents for every draw
    previous = None
    if generation > 0:
        previous = survivors(_table(_read_runs(out, generation - 1, priors)), KEEP_SHARE)
    n = samples // (GENERATIONS if generations is None else generations)
    draws = propose(priors, previous, n, seed + generation)
    done = {r["index"] for r in _read_runs(out, generation, priors)}
    keys = [p.key for p in priors]
    return [
        Task(
            generation,
            i,
            scenario,
            {k: float(row[k]) for k in keys},
            float(row["weight"]),
            i % SEEDS,
            str(out / "runs" / f"g{generation}-{i:05d}.json"),
        )
        for i, row in enumerate(draws.to_dict("records"))
        if i not in done
    ]


def execute(
    tasks: list[Task],
    workers: int,
    on_done: Callable[[float], None] | None = None,
    stop: Stop | None = None,
) -> None:
    """Simulate the tasks on ``workers`` processes (1: in this one), each written as it ends.

    A stop (``stop``: the first Ctrl-C or SIGTERM) ends it at once as KeyboardInterrupt: the
    draws in flight are abandoned (their workers killed; :meth:`ResultsFolder.remove_temporary`
    removes what they were writing) and simulated again on resume. A record that cannot be
    written (a full disk) is an OutputError naming it.
    """
    if not tasks:
        return
    stop = Stop() if stop is None else stop
    try:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                _stop_now(stop)
                seconds = _run_task(task, lambda: _stop_now(stop))
                if on_done:
                    on_done(seconds)
            return
        _run_pool(tasks, workers, on_done, stop)
    except Unwritten as error:
        raise OutputError(error.path, f"cannot write a draw's record: {error.reason}") from None


def _stop_now(stop: Stop) -> None:
    if stop.requested:
        raise KeyboardInterrupt(stop.signal or stop.reason)


def _run_pool(
    tasks: list[Task], workers: int, on_done: Callable[[float], None] | None, stop: Stop
) -> None:
    """A local process pool as the experiment runner's (sim.experiment.runner.run_pool): its
    workers ignore the terminal's signals and leave its process group (this process decides),
    at most ``workers`` draws are in flight, and a stop kills them."""
    queue = deque(tasks)
    pool = new_pool(workers, ["sim.calibration", "sim.model"])
    running: dict[Any, Task] = {}
    try:
        while queue or running:
            _stop_now(stop)
            while queue and len(running) < workers:
                task = queue.popleft()
                with signals_blocked():
                    running[pool.submit(_run_task, task)] = task
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                try:
                    seconds = future.result()
                except BrokenProcessPool:
                    raise OutputError(
                        task.path,
                        "its worker process died (killed, or out of memory?): rerun to resume",
                    ) from None
                if on_done:
                    on_done(seconds)
    finally:
        end_pool(pool, kill=bool(running))


def collect(
    out: str | Path, priors: tuple[Prior, ...] = PRIORS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every finished draw (samples.parquet) and the accepted draws of every generation
    (accepted.parquet/.csv, with comparable importance weights) and their summary
    (summary.csv/.json), written all or none. With no draw accepted the estimates are null
    in summary.json (empty in summary.csv), and its ``note`` says why."""
    out = Path(out)
    samples = _table(_read_runs(out, priors=priors))
    if len(samples) == 0:
        samples = pd.DataFrame(columns=["generation", "distance", "weight"])
    proposals = [(int((samples["generation"] == 0).sum()), None)]
    for g in sorted(set(samples["generation"]) - {0}):
        previous = survivors(samples[samples["generation"] == g - 1], KEEP_SHARE)
        here = samples["generation"] == g
        samples.loc[here, "weight"] = importance_weights(priors, previous, samples[here])
        proposals.append((int(here.sum()), previous))
    samples["proposal_weight"] = samples["weight"]
    if len(samples):
        samples["weight"] = pooled_weights(priors, samples, proposals)
    samples["accepted"] = samples["distance"] <= 1
    accepted = samples[samples["accepted"].astype(bool)]
    summary = summarise(accepted, priors)
    data: dict[str, Any] = {"samples": len(samples), "accepted": len(accepted)}
    if len(accepted) == 0:
        data["note"] = "no draw was accepted: every estimate is null"
    data["effective_sample_size"] = json_safe(effective_sample_size(accepted["weight"]))
    for parameter, row in summary.set_index("parameter").to_dict("index").items():
        data[parameter] = json_safe(row)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    with writing("the calibration's tables", out):
        write_files(
            {
                out / "samples.parquet": lambda tmp: samples.to_parquet(tmp, index=False),
                out / "accepted.parquet": lambda tmp: accepted.to_parquet(tmp, index=False),
                out / "accepted.csv": lambda tmp: accepted.to_csv(tmp, index=False),
                out / "summary.csv": lambda tmp: summary.to_csv(tmp, index=False),
                out / "summary.json": lambda tmp: Path(tmp).write_text(text, encoding="utf-8"),
            }
        )
    return samples, summary


#: the columns of an exported posterior: which draw, its values, its fit and its weight
EXPORT_COLUMNS = ("generation", "index", "seed")


def export(accepted: pd.DataFrame, path: Path, command_line: str, drawn: int) -> None:
    """The accepted draws as a CSV an experiment's ``[posterior]`` can sample (and ship), with
    ``#`` comment lines saying which command produced them and what the columns are."""
    from sim.experiment.store import model_version, now_iso

    keys = [p.key for p in PRIORS]
    columns = [*EXPORT_COLUMNS, *keys, *(t.name for t in TARGETS), "distance", "weight"]
    header = [
        "Accepted parameter sets of the history calibration (ABC-SMC, docs/ODD.md 7.11).",
        f"Produced by: {command_line}",
        f"{len(accepted)} of {drawn} draws accepted (every target within its tolerance); "
        "weight: prior density / the density of the mixture of every generation's proposals "
        "(balance heuristic; normalise to sample).",
        f"Each set was simulated once with its seed; {', '.join(t.name for t in TARGETS)}: "
        "what that run gave. volsim " + model_version() + ", " + now_iso() + ".",
    ]
    text = "".join(f"# {line}\n" for line in header)
    text += accepted[columns].to_csv(index=False, lineterminator="\n")
    with writing("the accepted sets", path):
        write_files({path: lambda tmp: Path(tmp).write_text(text, encoding="utf-8")})


def check_export(text: str) -> None:
    """Refuse (InputError naming ``--export``) an export that could not be written, before
    anything is simulated: a folder, a pipe or a device (never replaced: a link is written
    through to its file), a file in no folder (or under a file), a folder that takes no file."""
    if not text.strip() or Path(text).is_dir():
        raise InputError("--export", text, "is a folder: name a CSV file")
    check_file_writable(Path(text), "--export")


def estimate_seconds(seconds: list[float], remaining: int, years: float, workers: int) -> float:
    """How long the remaining draws will take: the mean of the draws done so far (``seconds``
    each), or the measured figure per simulated year if none is done."""
    each = float(np.mean(seconds)) if seconds else SECONDS_PER_YEAR_ESTIMATE * years
    return each * remaining / max(1, min(workers, remaining))


def command(args: Any) -> int:
    """``volsim calibrate``: check (the options, the scenario, ``--export`` and the folder,
    before anything is simulated), say how long, simulate each generation with a progress bar
    (resuming what a folder holds: a damaged run file is named and simulated again), summarise.
    The folder is held (``.lock``) throughout; a folder this command made is removed if it
    fails before anything is written there."""
    if args.workers < 1:
        raise InputError("--workers", None, "must be 1 or more")
    export_to = getattr(args, "export", None)
    if export_to is not None:
        check_export(export_to)
    out = Path(args.out)
    samples = DEFAULT_SAMPLES if args.samples is None else args.samples
    generations = getattr(args, "generations", None)
    generations = GENERATIONS if generations is None else generations
    scenario, manifest = settings(args.scenario, samples, args.seed, PRIORS, generations)
    folder, stop, created = CalibrationFolder(out), Stop(), None
    try:
        created = check_writable(out, "--out")
        folder.check_calibration(manifest)  # refused before the lock file is made
        with stop.signals(), folder.locked():
            try:
                folder.write_calibration(manifest)  # checked again, now that it is held
                folder.remove_temporary()
                table, summary = _calibrate(args, folder, scenario, samples, generations, stop)
                if export_to is not None:  # through sim.storage's writer (a link: its file)
                    argv = getattr(args, "argv", None) or ["calibrate", "..."]
                    line = "volsim " + shlex.join(argv)
                    accepted = table[table["accepted"].astype(bool)]
                    export(accepted, Path(export_to), line, len(table))
            finally:
                folder.remove_temporary()
    except BaseException:
        # the folder made for nothing (ResultsFolder.locked removes its lock and runs/)
        remove_created(created)
        raise
    _print_result(table, summary, out)
    if export_to is not None:
        print(f"accepted sets exported to {export_to}")
    return 0


def _calibrate(
    args: Any,
    folder: CalibrationFolder,
    scenario: Scenario,
    samples: int,
    generations: int,
    stop: Stop,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the draws not yet done, generation by generation; collect them."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    out = folder.path
    total = samples // generations * generations
    records, damaged = _scan_runs(out)
    if damaged:
        path, problem = next(iter(damaged.items()))
        more = f" and {len(damaged) - 1} more" if len(damaged) > 1 else ""
        print(
            f"volsim calibrate: damaged run file {path} ({problem}){more}: simulating again",
            file=sys.stderr,
        )
    done = len(records)
    years = scenario.simulation.days / 365
    eta = estimate_seconds([r["seconds"] for r in records], total - done, years, args.workers)
    print(
        f"volsim calibrate: ABC-SMC, {generations} generations of {samples // generations} "
        f"draws; {done} done, {total - done} to simulate on {args.workers} workers: "
        f"about {eta / 60:.1f} min",
        file=sys.stderr,
        flush=True,
    )
    columns = (
        TextColumn("draws"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as progress:
        bar = progress.add_task("draws", total=total, completed=done)
        for generation in range(generations):
            tasks = plan(scenario, out, generation, samples, args.seed, PRIORS, generations)
            execute(tasks, args.workers, lambda s: progress.advance(bar), stop)
    return collect(out)


def _print_result(table: pd.DataFrame, summary: pd.DataFrame, out: Path) -> None:
    accepted = int(table["accepted"].sum())
    ess = effective_sample_size(table.loc[table["accepted"].astype(bool), "weight"])
    if accepted == 0:
        print(
            f"no draw was accepted: none of the {len(table)} met every target within its "
            "tolerance, so there is no posterior (summary.json's estimates are null)"
        )
    else:
        print(
            f"{accepted} of {len(table)} draws accepted (every target within its tolerance); "
            f"effective sample size {ess:.1f}"
        )
        for row in summary.itertuples():
            print(
                f"  {row.parameter}: mean {row.mean:.4g}, 90% interval "
                f"{row.q05:.4g}-{row.q95:.4g} (prior {row.prior_low:g}-{row.prior_high:g})"
            )
    print(f"written to {out}/ (accepted.parquet, accepted.csv, summary.csv, summary.json)")
