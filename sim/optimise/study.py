"""The study behind ``volsim optimise``: what defines a search (its hash), the sampler, and the
optuna study in the results folder's SQLite file, with trials a killed search left running
queued again.

The study's file is created whole: in a temporary file beside it, moved into place once it
holds the study (a full disk while creating it leaves no half-made ``study.db``). A failure of
the SQLite file (a full disk, an I/O error) is one OutputError naming it (:func:`storage_faults`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import InputError, OutputError
from sim.experiment.design import canonical_json, seeds_for
from sim.experiment.store import STUDY_DB as STUDY_FILE
from sim.optimise.levers import Lever, Objective, check_objectives
from sim.scenario import Scenario, error_line
from sim.storage import temp_beside, write_error

STUDY_NAME = "volsim"
SAMPLERS = ("auto", "tpe", "nsga2", "grid", "random")
#: the largest root seed optuna's samplers take (numpy's legacy seeding: 0 to 2**32 - 1)
MAX_ROOT_SEED = 2**32 - 1
#: the most seeds a search or re-check may ask for (as an experiment's ``seeds``)
MAX_SEEDS = 100_000


@dataclass
class Search:
    """Everything that defines a search (what its results folder's hash covers, but
    ``trials``: asking for more trials continues the same search)."""

    scenario_file: str
    scenario: Scenario
    levers: list[Lever]
    objectives: list[Objective]
    seeds: int = 3
    recheck_seeds: int = 10
    recheck_top: int = 3
    root_seed: int = 0
    sampler: str = "auto"
    trials: int = 30
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse, before any file is made, a value the search would fail on later."""
        if not 0 <= self.root_seed <= MAX_ROOT_SEED:
            raise InputError(
                "--root-seed", None, f"must be from 0 to {MAX_ROOT_SEED} (got {self.root_seed})"
            )
        limits = {"seeds": MAX_SEEDS, "recheck_seeds": MAX_SEEDS, "recheck_top": 0, "trials": 0}
        for name, most in limits.items():
            value = getattr(self, name)
            if value < 1 or (most and value > most):
                bound = f"from 1 to {most}" if most else "at least 1"
                raise InputError(f"--{name.replace('_', '-')}", None, f"must be {bound}")
        if self.sampler not in SAMPLERS:
            raise InputError("--sampler", self.sampler, f"choose from {', '.join(SAMPLERS)}")
        check_objectives(self.objectives, self.levers, self.scenario)

    @property
    def search_seeds(self) -> list[int]:
        return seeds_for(self.root_seed, self.seeds)

    @property
    def fresh_seeds(self) -> list[int]:
        """Seeds the search never used: the next ones of the same sequence."""
        return seeds_for(self.root_seed, self.seeds + self.recheck_seeds)[self.seeds :]

    def resolved(self) -> dict[str, Any]:
        return {
            "scenario_file": self.scenario_file,
            "scenario": self.scenario.model_dump(mode="json"),
            "overrides": self.overrides,
            "levers": [lever.text for lever in self.levers],
            "objectives": [[o.metric, o.direction] for o in self.objectives],
            "seeds": self.seeds,
            "recheck_seeds": self.recheck_seeds,
            "recheck_top": self.recheck_top,
            "root_seed": self.root_seed,
            "sampler": self.sampler,
        }

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.resolved()).encode()).hexdigest()


def stored_scenario(data: dict[str, Any], source: str) -> Scenario:
    """The searched scenario as a manifest's ``resolved.scenario`` holds it; a damaged one is
    an InputError naming ``source``."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        key, message = error_line(error)
        raise InputError(source, f"resolved.scenario.{key}", message) from None


def _sampler(search: Search) -> Any:
    import optuna

    name = search.sampler
    if name == "auto":  # TPE is good with small budgets, single or several objectives
        name = "nsga2" if len(search.objectives) > 1 and search.trials >= 200 else "tpe"
    if name == "grid":  # every combination is queued (grid_points); the rest is random
        return optuna.samplers.RandomSampler(seed=search.root_seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=search.root_seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=search.root_seed)
    startup = min(10, max(3, search.trials // 3))
    return optuna.samplers.TPESampler(seed=search.root_seed, n_startup_trials=startup)


def grid_points(search: Search) -> list[dict[str, Any]]:
    """Every combination of the levers' values (``--sampler grid``), in a fixed order."""
    grids = []
    for lever in search.levers:
        part = lever.grid()
        if part is None:
            raise InputError("--sampler", "grid", f"lever {lever.text!r} is not enumerable")
        grids.append(part)
    combos = itertools.product(*grids)
    return [{k: v for part in combo for k, v in part.items()} for combo in combos]


def _storage_reason(error: BaseException) -> str:
    """SQLite's own words for a storage error (optuna and SQLAlchemy wrap them)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            return str(seen)
        orig = getattr(seen, "orig", None)
        if isinstance(orig, sqlite3.Error):
            return str(orig)
        seen = seen.__cause__ or seen.__context__
    return str(error).splitlines()[0] if str(error) else type(error).__name__


@contextmanager
def storage_faults(path: Path) -> Iterator[None]:
    """Turn a failure of the study's SQLite file ``path`` (a full disk, an I/O error, a folder
    made read-only meanwhile) into one OutputError naming it, not SQLAlchemy's traceback:
    SQLAlchemy's errors (``OperationalError``: "database or disk is full", "disk I/O error"),
    optuna's wrapper of them (``StorageInternalError``) and sqlite3's own. What was written
    before stays: each write is one SQLite transaction, and trials left running are run
    again on resume."""
    import optuna
    import sqlalchemy.exc

    try:
        yield
    except (
        sqlalchemy.exc.SQLAlchemyError,
        optuna.exceptions.StorageInternalError,
        sqlite3.Error,
    ) as error:
        raise OutputError(str(path), f"cannot write the study: {_storage_reason(error)}") from None


def _storage(path: Path) -> Any:
    import optuna

    return optuna.storages.RDBStorage(f"sqlite:///{path}")


def _close(storage: Any) -> None:
    with suppress(Exception):
        storage.remove_session()
        storage.engine.dispose()


def _study_write_error(error: OSError, path: Path) -> Exception:
    """An OSError while creating the study, naming ``path`` (never the temporary file)."""
    return write_error(OSError(error.errno, error.strerror or str(error)), path, "the study")


def _create_study(search: Search, path: Path) -> None:
    """Create the study (and, ``--sampler grid``, queue every combination) in a temporary file
    beside ``path``, then move it into place: a failure (a full disk, Ctrl-C) leaves no
    ``path`` and no temporary file."""
    import optuna

    try:
        tmp = Path(temp_beside(path))  # rw as SQLite would make it (mkstemp makes it 0600)
    except OSError as error:
        raise _study_write_error(error, path) from None
    storage = None
    try:
        with storage_faults(path):
            storage = _storage(tmp)
            study = optuna.create_study(
                study_name=STUDY_NAME,
                storage=storage,
                directions=[o.direction for o in search.objectives],
                sampler=_sampler(search),
            )
            if search.sampler == "grid":
                for params in grid_points(search):
                    study.enqueue_trial(params)
        _close(storage)
        storage = None
        os.replace(tmp, path)
    except OSError as error:
        raise _study_write_error(error, path) from None
    finally:
        if storage is not None:
            _close(storage)
        for leftover in (tmp, tmp.with_name(f"{tmp.name}-journal")):
            with suppress(OSError):
                leftover.unlink(missing_ok=True)


def open_study(search: Search, folder: Path) -> Any:
    """The study in ``folder/study.db`` (created whole, or loaded); trials a killed search left
    running are marked failed and their levers queued again. A failure of the file is an
    OutputError naming it (no half-made study is left)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    path = folder / STUDY_FILE
    if not path.exists():
        _create_study(search, path)
    with storage_faults(path):
        storage = _storage(path)
        study = optuna.create_study(
            study_name=STUDY_NAME,
            storage=storage,
            load_if_exists=True,
            directions=[o.direction for o in search.objectives],
            sampler=_sampler(search),
        )
        if search.sampler == "grid" and not study.get_trials(deepcopy=False):
            for params in grid_points(search):
                study.enqueue_trial(params)
        running = (optuna.trial.TrialState.RUNNING,)
        for trial in study.get_trials(deepcopy=False, states=running):
            storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
            if trial.params:
                study.enqueue_trial(trial.params, skip_if_exists=False)
    return study


def complete(study: Any) -> list[Any]:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
