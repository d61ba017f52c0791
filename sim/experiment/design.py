"""Experiment files: which scenario, which variables, which design, how many seeds.

An experiment file (TOML, in ``experiments/``) has four tables::

    [experiment]   name, scenario (path relative to this file), days, seeds, root_seed,
                   baseline_policy, metrics, series, max_seeds, batch_seeds
    [overrides]    dotted scenario keys applied to every run
    [design]       kind = "factorial" | "lhs" | "sobol" | "morris"; samples; levels; second_order
    [variables]    name = [values...] (categorical or a list of numbers) or
                   name = {min = a, max = b, steps = n} (a numeric range)
    [posterior]    file (accepted parameter sets of a calibration, relative to this file),
                   keys (the scenario keys taken from it; default every key column)

Keys of [overrides] and [variables] are scenario keys, quoted (``"community.grids" = 2``) or
as TOML dotted keys and tables (``community.grids = 2``, ``community = { grids = 2 }``): both
read the same, as in a scenario file; a table of ``min``, ``max`` and ``steps`` alone is a range.

``policy`` is a variable like any other (a policy name or chain), and so is ``scenario`` (a list
of scenario files, relative to the experiment file, each with the same overrides). ``days``
left out: each scenario runs its own ``simulation.days``. Factorial designs cross every
variable's values (ranges need ``steps``). LHS, Sobol and Morris sample the numeric ranges with
SALib and cross the samples with every combination of the list-valued variables. Every design
point runs the same seeds (common random numbers).

Designs that would run something other than what they say are refused as bad input: a
``baseline_policy`` the experiment does not run, a value repeated in a variable (or a range whose
steps repeat or skip values: ``steps = 1`` with ``min < max``, integer keys stepped by fractions),
a sampled range with ``min == max``, and non-finite bounds. A value spelt twice is repeated too:
``1`` and ``1.0``; the same scenario file under two paths (``a.toml``, ``./a.toml``, an absolute
path, a symlink or hard link); two scenario files that differ only in what the experiment sets
anyway (overrides, days, variables, posterior keys) or in ``scenario.name``/``description``, which
no run reads (a copy under another name: every run would be the same, and the report would
compare a scenario with itself); two values of any key that make the same scenario. Policy chains
are written one way: ``"pairing + nearest"`` and ``" nearest"`` are read (here and in
``baseline_policy``) as ``"pairing+nearest"`` and ``"nearest"``, so two spellings of one chain
are repeated too; a chain naming a policy twice is refused. A metric or series listed twice is
refused.

With a ``[posterior]``, every run also takes one of a calibration's accepted parameter sets
(:mod:`sim.experiment.posterior`): chosen by weight from the root seed and the run's seed, the
same for every design point of a seed, and recorded in the run table (``posterior_set`` and the
keys' values). A posterior key may not also be a variable or an override.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.experiment.posterior import SET_COLUMN, Posterior, load_posterior
from sim.policy_registry import Table
from sim.scenario import POLICY_NAMES, Scenario

#: the most runs one experiment plans (its tasks are held in memory: about 1 kB each), and the
#: most seeds (the file's ``seeds`` and ``max_seeds``, and ``--seeds``)
MAX_RUNS = 1_000_000
MAX_SEEDS = 100_000
#: end-of-run metrics an experiment keeps by default (numeric keys of ``model.summary()``)
DEFAULT_METRICS = (
    "requests",
    "served",
    "unmet",
    "urgent_within_window_share",
    "same_day_within_window_share",
    "scheduled_within_window_share",
    "urgent_unmet_share",
    "same_day_unmet_share",
    "scheduled_unmet_share",
    "urgent_response_time_p50_min",
    "urgent_response_time_p90_min",
    "urgent_response_time_p95_min",
    "scheduled_lead_time_mean_h",
    "eligible_within_window_share",
    "eligible_unmet_share",
    "eligible_served_by_pair_share",
    "acceptance_share",
    "willing_coverage_15min_share",
    "budget_utilisation",
    "busiest_decile_utilisation",
    "top_decile_served_share",
    "orders_per_helper_per_month",
    "response_time_mean_min",
    "response_time_p50_min",
    "response_time_p90_min",
    "response_time_p95_min",
    "wait_mean_min",
    "served_within_15min_share",
    "served_within_30min_share",
    "coverage_15min_share",
    "volunteer_utilisation",
    "workload_gini",
    "workload_max_orders",
    "continuity_share",
    "rating_mean",
    "active_volunteers",
)
#: further metrics an experiment may keep (pairing and long runs)
EXTRA_METRICS = (
    "paired_elders_share",
    "residents_final",
    "active_volunteers_final",
    "paired_elders_share_final",
)
#: daily series an experiment keeps by default (the model's DataCollector reporters)
DEFAULT_SERIES = (
    "orders_placed",
    "orders_served",
    "orders_unmet",
    "active_volunteers",
    "coverage_15min_share",
)


class _Strict(Table):
    """An experiment file's table, as strict as a scenario's (sim.policy_registry.Table): range
    bounds must be finite; listed values are checked against the scenario's schema."""


class Range(_Strict):
    min: float
    max: float
    steps: int | None = Field(None, ge=1, le=MAX_RUNS)


class ExperimentSection(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    scenario: str
    days: int | None = Field(None, ge=1, le=36500, description="default: each scenario's own")
    seeds: int = Field(10, ge=1, le=MAX_SEEDS)
    root_seed: int = Field(0, ge=0)
    baseline_policy: str = "nearest"
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS), min_length=1)
    series: list[str] = Field(default_factory=lambda: list(DEFAULT_SERIES))
    max_seeds: int = Field(200, ge=1, le=MAX_SEEDS, description="cap for sequential replications")
    pairing_ratio_threshold: float | None = Field(
        None,
        gt=0,
        description="helpers aged 60-69 per eligible elder below which pairing cannot cover "
        "every eligible elder (default: 1 / dispatch.pairing.max_elders_per_helper)",
    )
    batch_seeds: int | None = Field(None, ge=1, description="seeds added per round")

    @field_validator("baseline_policy")
    @classmethod
    def _one_spelling(cls, policy: str) -> str:
        """``"pairing + nearest"`` is ``"pairing+nearest"``: the spelling the runs record."""
        return canonical_chain(policy)


class DesignSection(_Strict):
    kind: Literal["factorial", "lhs", "sobol", "morris"] = "factorial"
    samples: int = Field(16, ge=1, le=MAX_RUNS, description="N of the LHS, Sobol or Morris sample")
    levels: int = Field(4, ge=2, le=1000, multiple_of=2, description="Morris grid levels (even)")
    second_order: bool = Field(True, description="Sobol second-order indices: N(2D+2) rows")
    sample_seed: int = Field(0, ge=0)

    @field_validator("samples")
    @classmethod
    def _sobol_power_of_two(cls, samples: int, info: ValidationInfo) -> int:
        """Saltelli's sample keeps its balance only for N a power of two (SALib warns else)."""
        if info.data.get("kind") == "sobol" and samples & (samples - 1):
            raise ValueError("a Sobol design's N must be a power of two (1, 2, 4, 8, ...)")
        return samples


class PosteriorSection(_Strict):
    file: str = Field(min_length=1, description="accepted sets (.csv or .parquet)")
    keys: list[str] | None = Field(None, min_length=1, description="default: every key column")


class ExperimentFile(_Strict):
    experiment: ExperimentSection
    overrides: dict[str, Any] = Field(default_factory=dict)
    design: DesignSection = Field(default_factory=DesignSection)
    variables: dict[str, list[Any] | Range] = Field(default_factory=dict)
    posterior: PosteriorSection | None = None


@dataclass(frozen=True)
class Point:
    """One design point: variable values, and its SALib sample row (sobol/morris/lhs)."""

    index: int
    values: dict[str, Any]
    sample: int | None = None


@dataclass
class Experiment:
    """A loaded, validated experiment with its design points and seeds."""

    path: Path
    spec: ExperimentFile
    scenario: Scenario
    points: list[Point]
    seeds: list[int]
    days: int
    problem: dict | None = None
    sample_matrix: np.ndarray | None = None
    command_overrides: dict[str, Any] = field(default_factory=dict)
    #: the scenarios of the ``scenario`` variable, by the value given in the file
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    #: the calibration's accepted sets the runs draw from (``[posterior]``), or None
    posterior: Posterior | None = None
    #: each design point's scenario, by point index, once built (checked at loading, used
    #: again for every run's id and task); not to be edited
    _point_scenarios: dict[int, Scenario] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def name(self) -> str:
        return self.spec.experiment.name

    @property
    def variables(self) -> list[str]:
        return list(self.spec.variables)

    @property
    def categorical(self) -> list[str]:
        return [k for k, v in self.spec.variables.items() if not isinstance(v, Range)]

    @property
    def metrics(self) -> list[str]:
        return self.spec.experiment.metrics

    @property
    def series(self) -> list[str]:
        return self.spec.experiment.series

    def resolved(self) -> dict[str, Any]:
        """Everything that determines the results, as plain JSON data."""
        spec = self.spec.model_dump(mode="json")
        if spec["posterior"] is None:
            del spec["posterior"]  # experiments without one keep their hash
        resolved = {
            "experiment": spec,
            "scenario": self.scenario.model_dump(mode="json"),
            "scenarios": {k: v.model_dump(mode="json") for k, v in self.scenarios.items()},
            "days": self.days,
            "seeds": self.seeds,
            "command_overrides": self.command_overrides,
        }
        if self.posterior is not None:
            resolved["posterior"] = self.posterior.describe()
        return resolved

    def posterior_values(self, seed: int) -> dict[str, Any]:
        """The run table's record of the accepted set a run with ``seed`` takes: its row
        (``posterior_set``) and its keys' values; empty without a posterior."""
        if self.posterior is None:
            return {}
        section = self.spec.experiment
        order = seeds_for(section.root_seed, max(len(self.seeds), section.max_seeds))
        position = order.index(seed) if seed in order else None
        row = self.posterior.choose(section.root_seed, position, seed)
        return {SET_COLUMN: row, **self.posterior.overrides(row)}

    def run_scenario(self, point: Point, seed: int) -> Scenario:
        """The scenario of one run: the design point's, with the posterior set of ``seed``."""
        values = self.posterior_values(seed)
        values.pop(SET_COLUMN, None)
        return scenario_module.with_overrides(self.point_scenario(point), values)

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.resolved()).encode()).hexdigest()

    def point_scenario(self, point: Point) -> Scenario:
        """The scenario of one design point (policy and days included)."""
        built = self._point_scenarios.get(point.index)
        if built is None:
            built = self._point_scenarios[point.index] = self._build_point_scenario(point)
        return built

    def _build_point_scenario(self, point: Point) -> Scenario:
        values = dict(point.values)
        overrides: dict[str, Any] = {}
        if self.days is not None:
            overrides["simulation.days"] = self.days
        policy = values.pop("policy", None)
        if policy is not None:
            overrides.update(scenario_module.chain_overrides(policy))
        base = self.scenarios[values.pop("scenario")] if "scenario" in values else self.scenario
        overrides.update(values)
        return scenario_module.with_overrides(base, overrides)


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the input of every hash."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)


def canonical_chain(policy: Any) -> Any:
    """A policy chain in its one spelling (``" pairing + nearest"``: ``"pairing+nearest"``);
    anything but text as it is (refused later as an unknown policy)."""
    if not isinstance(policy, str):
        return policy
    return "+".join(scenario_module.parse_chain(policy))


def seeds_for(root_seed: int, count: int) -> list[int]:
    """The first ``count`` seeds of an experiment; a prefix of any longer list."""
    return [int(s) for s in np.random.SeedSequence(root_seed).generate_state(count)]


#: the keys of a variable's range, ``{min, max, steps}``
_RANGE_KEYS = frozenset(Range.model_fields)


def _dotted_keys(data: dict, source: str) -> dict:
    """The file's tables with the keys of [variables] and [overrides] written as TOML dotted
    keys or tables (``acceptance.base_probability = [...]``, ``community = { grids = 2 }``,
    which TOML reads as nested tables) named as the quoted dotted keys they stand for
    (``"acceptance.base_probability"``, ``"community.grids"``), as the scenario loader reads
    them. Only a table at a section or sub-table of the scenario is opened (not a quoted
    dotted key's value, nor a key that takes a table, such as ``needs.urgency_by_type``), and
    under [variables] a table of range keys only is a range, ``{min, max, steps}``. Files
    with quoted keys only are read as they are (their hash is kept)."""
    result = dict(data)
    for section in ("variables", "overrides"):
        if isinstance(data.get(section), dict):
            result[section] = _flattened(data[section], section, source)
    return result


def _flattened(table: dict, section: str, source: str) -> dict:
    """One table of :func:`_dotted_keys`, its order kept."""
    flat: dict[str, Any] = {}

    def add(name: str, value: Any, opened: bool = True) -> None:
        if (
            opened
            and isinstance(value, dict)
            and value
            and scenario_module.is_section(name)
            and not (section == "variables" and set(value) <= _RANGE_KEYS)
        ):
            for key, inner in value.items():
                add(f"{name}.{key}", inner)
        elif name in flat:
            message = "given twice (as a quoted dotted key and in a table): keep one"
            raise InputError(source, f"{section}.{name}", message)
        else:
            flat[name] = value

    for name, value in table.items():
        add(name, value, opened="." not in name)  # a quoted dotted key's value as given
    return flat


def _validate(data: dict, source: str) -> ExperimentFile:
    try:
        return ExperimentFile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = [str(p) for p in first["loc"] if not isinstance(p, int)]
        if loc[:1] == ["variables"] and len(loc) >= 2:
            raise _variable_error(data, loc[1], source) from None
        key, message = scenario_module.error_line(error)
        raise InputError(source, key, message) from None


def _variable_error(data: dict, name: str, source: str) -> InputError:
    """Why a variable failed both the list and the range form: the range's own first problem
    if it is a table, else what the two forms are."""
    value = data.get("variables", {}).get(name)
    key = f"variables.{name}"
    if isinstance(value, dict):
        try:
            Range.model_validate(value)
        except ValidationError as error:
            field, message = scenario_module.error_line(error)
            return InputError(source, f"{key}.{field}" if field else key, message)
    return InputError(
        source, key, f"must be a list of values or {{min, max, steps}} (got {value!r})"
    )


#: the keys the policy variable sets
_SET_BY_POLICY = ("dispatch.policy", "dispatch.fallback")


def _check_clashes(spec: ExperimentFile, source: str, days: int | None) -> None:
    """Refuse a key set in two places, of which one would silently win: in both [variables]
    and [overrides], the days when experiment.days (or --days) sets them too, and the policy's
    keys when policy is a variable."""
    sections = (("variables", spec.variables), ("overrides", spec.overrides))
    for key in spec.variables:
        if key in spec.overrides:
            raise InputError(source, f"overrides.{key}", "also a variable: set it in one place")
    if days is not None:
        for section, keys in sections:
            if "simulation.days" in keys:
                raise InputError(
                    source,
                    f"{section}.simulation.days",
                    "the days are set by experiment.days (or --days): leave one out",
                )
    if "policy" in spec.variables:
        for key in _SET_BY_POLICY:
            for section, keys in sections:
                if key in keys:
                    raise InputError(
                        source, f"{section}.{key}", "set by the policy variable: use policy chains"
                    )


def _values_for(name: str, spec: list[Any] | Range, kind: str, source: str) -> list[Any] | None:
    """The values a variable takes in a factorial design (None: sampled, not listed)."""
    key = f"variables.{name}"
    if isinstance(spec, list):
        if not spec:
            raise InputError(source, key, "needs at least one value")
        for value in spec:
            if isinstance(value, (list, dict)):
                raise InputError(
                    source, key, f"values must be numbers, text or true/false (got {value!r})"
                )
        _check_distinct(spec, key, source)
        return spec
    if spec.max < spec.min:
        raise InputError(source, key, f"max ({spec.max:g}) is less than min ({spec.min:g})")
    if not math.isfinite(spec.max - spec.min):  # finite ends, but too far apart to step or sample
        raise InputError(
            source, key, f"the range {spec.min:g} to {spec.max:g} is wider than a number can hold"
        )
    if kind != "factorial":
        if spec.max == spec.min:
            raise InputError(
                source, key, f"min equals max ({spec.min:g}): nothing to sample (use a list)"
            )
        if _is_int(name) and round(spec.min) == round(spec.max):
            raise InputError(
                source,
                key,
                f"min and max round to one integer ({round(spec.min)}): nothing to sample "
                "(use a list)",
            )
        return None
    if spec.steps is None:
        raise InputError(source, key, "a range in a factorial design needs steps")
    if spec.min == spec.max and spec.steps > 1:
        raise InputError(source, key, f"min equals max: steps = {spec.steps} repeats one value")
    if spec.min < spec.max and spec.steps == 1:
        raise InputError(source, key, "steps = 1 runs only min: use steps >= 2, or a list")
    values = np.linspace(spec.min, spec.max, spec.steps).tolist()
    if _is_int(name) and not all(float(v).is_integer() for v in values):
        raise InputError(
            source, key, f"an integer key stepped by fractions: {values} (choose other steps)"
        )
    return values


def _check_distinct(values: list[Any], key: str, source: str) -> None:
    """Refuse a value listed twice (1 and 1.0 are the same value): it would run twice."""
    seen: list[Any] = []
    for value in values:
        if any(_same(value, other) for other in seen):
            raise InputError(source, key, f"the value {value!r} is listed twice")
        seen.append(value)


def _canonical_policies(spec: ExperimentFile, source: str) -> ExperimentFile:
    """The experiment with its ``policy`` variable's chains in their one spelling; two
    spellings of one chain (``"pairing+nearest"``, ``"pairing + nearest"``) are refused: the
    chain would run twice, as two policies."""
    listed = spec.variables.get("policy")
    if not isinstance(listed, list):
        return spec
    spelt: dict[Any, Any] = {}
    for value in listed:
        chain = canonical_chain(value)
        if isinstance(value, str) and chain in spelt:
            first = spelt[chain]
            message = (
                f"the value {value!r} is listed twice"
                if first == value
                else f"{first!r} and {value!r} are one policy chain ({chain}): it would run twice"
            )
            raise InputError(source, "variables.policy", message)
        spelt.setdefault(chain, value)
    variables = {**spec.variables, "policy": [canonical_chain(v) for v in listed]}
    return spec.model_copy(update={"variables": variables})


def _check_listed_once(names: list[str], key: str, source: str) -> None:
    """Refuse a metric or series named twice (its column would be written twice)."""
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InputError(source, key, f"{name!r} is listed twice")


def _run_fingerprint(scenario: Scenario, varied: Iterable[str] = ()) -> str:
    """What a run reads of a scenario, but the ``varied`` keys (set for every design point
    alike): the scenario without its name and description, which no run reads."""
    data = scenario.model_dump(mode="json")
    data.pop("scenario", None)
    for dotted in varied:
        *parents, last = dotted.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return canonical_json(data)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _load_scenarios(
    values: list[Any],
    folder: Path,
    overrides: dict[str, Any],
    source: str,
    varied: Iterable[str] = (),
) -> dict[str, Scenario]:
    """The scenario files a ``scenario`` variable lists (paths relative to the experiment file),
    each with the experiment's overrides. One file under two paths (``a.toml``, ``./a.toml``,
    an absolute path, a link), or two files that differ only in the ``varied`` keys (what the
    experiment sets for every design point alike) and their names, are refused: every run would
    be the same twice, and the report would compare a scenario with itself."""
    key = "variables.scenario"
    scenarios = {}
    files: dict[tuple[int, int], str] = {}
    runs: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise InputError(source, key, f"not a file path: {value!r}")
        path = (folder / value).resolve()
        if not path.is_file():
            raise InputError(source, key, f"no such file: {path}")
        status = path.stat()
        identity = (status.st_dev, status.st_ino)
        if identity in files:
            first = files[identity]
            message = f"{first!r} and {value!r} are the same file ({path}): it would run twice"
            raise InputError(source, key, message)
        files[identity] = value
        try:
            scenario = scenario_module.with_overrides(scenario_module.load(path), overrides)
        except InputError as error:
            raise InputError(source, f"overrides.{error.key}", error.message) from None
        fingerprint = _run_fingerprint(scenario, varied)
        if fingerprint in runs:
            raise InputError(
                source,
                key,
                f"{runs[fingerprint]!r} and {value!r} are the same scenario once the experiment's "
                "overrides, days and variables are set (names aside): every run would repeat",
            )
        runs[fingerprint] = value
        scenarios[value] = scenario
    return scenarios


def _check_variable(name: str, values: list[Any], scenario: Scenario, source: str) -> None:
    key = f"variables.{name}"
    if name == "scenario":
        return  # checked when loaded (_load_scenarios)
    if name == "policy":
        for value in values:
            names = scenario_module.parse_chain(value) if isinstance(value, str) else [value]
            if not all(n in POLICY_NAMES for n in names):
                choices = ", ".join(POLICY_NAMES)
                raise InputError(source, key, f"unknown policy {value!r} (choose from {choices})")
            twice = scenario_module.repeated_in_chain(names)
            if twice is not None:
                raise InputError(source, key, f"{value!r} names {twice} twice in one chain")
            try:
                scenario_module.with_overrides(scenario, scenario_module.chain_overrides(value))
            except InputError as error:
                raise InputError(source, key, f"{value!r}: {error.key}: {error.message}") from None
        return
    made: dict[str, Any] = {}
    for value in values:
        try:
            fingerprint = _run_fingerprint(scenario_module.with_overrides(scenario, {name: value}))
        except InputError as error:
            raise InputError(source, key, error.message) from None
        if fingerprint in made:
            raise InputError(
                source,
                key,
                f"the values {made[fingerprint]!r} and {value!r} make the same runs "
                "(no run reads what differs): it would run twice",
            )
        made[fingerprint] = value


def _check_baseline(spec: ExperimentFile, scenario: Scenario, source: str) -> None:
    """The baseline must be one of the policies the experiment runs (else every comparison
    would be against a policy that never ran)."""
    baseline = spec.experiment.baseline_policy
    listed = spec.variables.get("policy")
    if isinstance(listed, list):
        runs = [str(p) for p in listed]
    elif "baseline_policy" in spec.experiment.model_fields_set:
        dispatch = scenario.dispatch
        runs = ["+".join([dispatch.policy, *dispatch.fallback])]
    else:
        return  # one policy, the scenario's, and no baseline asked for
    if baseline not in runs:
        raise InputError(
            source,
            "experiment.baseline_policy",
            f"{baseline!r} is not among the policies the experiment runs ({', '.join(runs)})",
        )


def _check_size(
    design: DesignSection,
    n_ranges: int,
    listed: dict[str, list[Any]],
    n_seeds: int,
    seeds_given: bool,
    source: str,
) -> None:
    """Refuse, before any sample is drawn, a sweep of more than MAX_RUNS runs (or a --seeds
    beyond the file's own limit): planning one took minutes and gigabytes, then no run."""
    if seeds_given and not 1 <= n_seeds <= MAX_SEEDS:
        raise InputError("--seeds", None, f"must be from 1 to {MAX_SEEDS:,} (got {n_seeds:,})")
    if design.kind == "factorial" or not n_ranges:
        rows = 1
    elif design.kind == "morris":
        rows = design.samples * (n_ranges + 1)
    elif design.kind == "sobol":
        rows = design.samples * (2 * n_ranges + 2 if design.second_order else n_ranges + 2)
    else:
        rows = design.samples
    points = rows * math.prod(len(values) for values in listed.values())
    if points * n_seeds > MAX_RUNS:
        raise InputError(
            source,
            "variables" if rows == 1 else "design.samples",
            f"{points:,} design points × {n_seeds:,} seeds = {points * n_seeds:,} runs, more "
            f"than {MAX_RUNS:,}: split the sweep",
        )


def _sampled(
    ranges: dict[str, Range], design: DesignSection, scenario: Scenario
) -> tuple[dict, np.ndarray]:
    from SALib.sample import latin, morris, sobol

    problem = {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[r.min, r.max] for r in ranges.values()],
    }
    seed = design.sample_seed
    if design.kind == "morris":  # its grid of levels, each rounded for an integer key
        matrix = morris.sample(problem, design.samples, num_levels=design.levels, seed=seed)
        for j, name in enumerate(problem["names"]):
            if _is_int(name):
                matrix[:, j] = np.round(matrix[:, j])
        return problem, matrix
    # a continuous sample of an integer key's range [a, b] is drawn over [a - 1/2, b + 1/2] and
    # rounded, so that each whole number a, ..., b is drawn as often (rounding a draw over [a, b]
    # gave a and b half the weight of the others)
    ints = [j for j, name in enumerate(problem["names"]) if _is_int(name)]
    widened = {
        **problem,
        "bounds": [
            [round(low) - 0.5, round(high) + 0.5] if j in ints else [low, high]
            for j, (low, high) in enumerate(problem["bounds"])
        ],
    }
    if design.kind == "sobol":
        matrix = sobol.sample(
            widened, design.samples, calc_second_order=design.second_order, seed=seed
        )
    else:
        matrix = latin.sample(widened, design.samples, seed=seed)
    for j in ints:
        low, high = problem["bounds"][j]
        matrix[:, j] = np.clip(np.floor(matrix[:, j] + 0.5), round(low), round(high))
    return problem, matrix


def _is_int(name: str) -> bool:
    return scenario_module.key_type(name) is int


def _typed(name: str, value: Any) -> Any:
    if isinstance(value, float) and _is_int(name) and value.is_integer():
        return int(value)
    return value


def load_experiment(
    path: str | Path, seeds: int | None = None, days: int | None = None
) -> Experiment:
    """Read and validate an experiment file; ``seeds``/``days`` override the file's values."""
    path = Path(path)
    source = str(path)
    data = _dotted_keys(scenario_module.read_toml(path), source)
    spec = _canonical_policies(_validate(data, source), source)
    section = spec.experiment
    scenario_path = (path.parent / section.scenario).resolve()
    if not scenario_path.is_file():
        raise InputError(source, "experiment.scenario", f"no such file: {scenario_path}")
    base = scenario_module.load(scenario_path)
    try:
        scenario = scenario_module.with_overrides(base, spec.overrides)
    except InputError as error:
        raise InputError(source, f"overrides.{error.key}", error.message) from None
    if not all(n in POLICY_NAMES for n in scenario_module.parse_chain(section.baseline_policy)):
        choices = ", ".join(POLICY_NAMES)
        raise InputError(
            source,
            "experiment.baseline_policy",
            f"unknown policy {section.baseline_policy!r} (choose from {choices})",
        )
    known = set(DEFAULT_METRICS) | set(EXTRA_METRICS)
    for metric in section.metrics:
        if metric not in known:
            raise InputError(source, "experiment.metrics", f"unknown metric {metric!r}")
    _check_listed_once(section.metrics, "experiment.metrics", source)
    for name in section.series:
        if name not in DEFAULT_SERIES:
            raise InputError(source, "experiment.series", f"unknown series {name!r}")
    _check_listed_once(section.series, "experiment.series", source)
    _check_clashes(spec, source, days if days is not None else section.days)
    listed: dict[str, list[Any]] = {}
    ranges: dict[str, Range] = {}
    for name, var in spec.variables.items():
        values = _values_for(name, var, spec.design.kind, source)
        if values is None:
            ranges[name] = var
            bounds = [
                _typed(name, float(round(v))) if _is_int(name) else v for v in (var.min, var.max)
            ]
            _check_variable(name, bounds, scenario, source)
        else:
            values = [_typed(name, v) for v in values]
            _check_variable(name, values, scenario, source)
            listed[name] = values
    _check_baseline(spec, scenario, source)
    posterior = None
    if spec.posterior is not None:
        posterior = _load_posterior(spec, path.parent, scenario, source)
    n_days = days if days is not None else section.days
    scenarios = {}
    if "scenario" in spec.variables:
        if "scenario" in ranges:
            raise InputError(source, "variables.scenario", "must be a list of scenario files")
        varied = _varied_keys(spec, n_days, posterior)
        scenarios = _load_scenarios(listed["scenario"], path.parent, spec.overrides, source, varied)
    if spec.design.kind != "factorial" and not ranges:
        raise InputError(source, "design.kind", f"{spec.design.kind} needs a {{min, max}} range")
    if spec.design.kind == "sobol" and spec.design.second_order and len(ranges) < 3:
        raise InputError(
            source,
            "design.second_order",
            f"second-order indices need 3 or more sampled parameters (with {len(ranges)}, "
            "Saltelli's cross rows repeat): set second_order = false",
        )
    n_seeds = seeds if seeds is not None else section.seeds
    _check_size(spec.design, len(ranges), listed, n_seeds, seeds is not None, source)
    problem, matrix = (None, None)
    if ranges:
        problem, matrix = _sampled(ranges, spec.design, scenario)
    points = _points(spec, listed, problem, matrix)
    command = {k: v for k, v in (("seeds", seeds), ("days", days)) if v is not None}
    experiment = Experiment(
        path=path,
        spec=spec,
        scenario=scenario,
        points=points,
        seeds=seeds_for(section.root_seed, n_seeds),
        days=n_days,
        problem=problem,
        sample_matrix=matrix,
        command_overrides=command,
        scenarios=scenarios,
        posterior=posterior,
    )
    _check_points(experiment, source)
    return experiment


def _check_points(experiment: Experiment, source: str) -> None:
    """Refuse a design point whose values the model cannot take together (each value alone
    was checked: ``policy = "station"`` beside ``community.service_points = 0``, say), before
    anything is written; it would otherwise fail only when the runs are prepared."""
    for point in experiment.points:
        try:
            experiment.point_scenario(point)
        except InputError as error:
            shown = ", ".join(f"{k} = {v!r}" for k, v in point.values.items())
            raise InputError(
                source, "variables", f"the design point {shown}: {error.key}: {error.message}"
            ) from None


def _varied_keys(spec: ExperimentFile, days: int | None, posterior: Posterior | None) -> set[str]:
    """The scenario keys every design point sets alike, whichever scenario file it runs: the
    other variables', the policy's, the days (when the experiment sets them) and the posterior's."""
    varied = {name for name in spec.variables if name not in ("scenario", "policy")}
    if "policy" in spec.variables:
        varied.update(_SET_BY_POLICY)
    if days is not None:
        varied.add("simulation.days")
    if posterior is not None:
        varied.update(posterior.keys)
    return varied


def _load_posterior(
    spec: ExperimentFile, folder: Path, scenario: Scenario, source: str
) -> Posterior:
    """The ``[posterior]`` file's accepted sets, checked against the scenario; its keys may
    not be varied or overridden (a run would not say which value it ran)."""
    section = spec.posterior
    for key in section.keys or []:
        if scenario_module.key_type(key) is None:
            raise InputError(source, "posterior.keys", f"not a scenario key: {key!r}")
    posterior = load_posterior((folder / section.file).resolve(), section.keys, scenario, source)
    for key in posterior.keys:
        if key in spec.variables or key in spec.overrides:
            raise InputError(
                source, "posterior.keys", f"{key} is also a variable or an override: drop one"
            )
    return posterior


def _points(
    spec: ExperimentFile,
    listed: dict[str, list[Any]],
    problem: dict | None,
    matrix: np.ndarray | None,
) -> list[Point]:
    """Design points in a fixed order: the sample rows, each crossed with the listed values."""
    order = list(spec.variables)
    combos = [
        dict(zip(listed, combo, strict=True)) for combo in itertools.product(*listed.values())
    ]
    rows: list[tuple[int | None, dict[str, Any]]] = []
    if matrix is None:
        rows = [(None, {})]
    else:
        for i, row in enumerate(matrix.tolist()):
            sampled = {n: _typed(n, v) for n, v in zip(problem["names"], row, strict=True)}
            rows.append((i, sampled))
    points = []
    for sample, sampled in rows:
        for combo in combos:
            values = {**combo, **sampled}
            ordered = {name: values[name] for name in order}
            points.append(Point(len(points), ordered, sample))
    return points
