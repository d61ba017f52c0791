"""Plausible ranges of the assumed parameters (``scenarios/ranges/assumed.toml``): loading,
checks, and which keys count as assumed.

The table sits beside the scenarios (``scenarios/ranges/assumed.toml``), one row per dotted
key::

    [range."acceptance.off_duty_multiplier"]   low, high (the key's unit), why
    [fixed."volunteers.retiree_hours"]         why: assumed, but not one number

It is checked against the schema (:mod:`sim.scenario`): an unknown key (or a dotted key left
unquoted, which TOML reads as nested tables), a ranged key that is not one number, a fixed key
that is, ``low >= high`` (``low == high`` samples one value: a sensitivity design has nothing to
vary there, and Sobol or Morris indices of a constant mean nothing), a bound that is not a
finite number or that the schema refuses, or a row without a reason is one
:class:`~sim.errors.InputError` naming the file and the key (exit status 2 from ``volsim
ranges``). The experiment files copy the ranges into their ``[variables]`` as ``{min, max}``;
:mod:`sim.experiment.design` refuses the same bounds there. A key is *assumed* when its schema
description or its comment in a scenario file says so (:func:`assumed_keys`); every assumed key
needs a row (tests/test_ranges.py).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim import scenario as scenario_module
from sim.errors import InputError
from sim.scenario import Scenario

#: where the table is, relative to a scenario's folder (a subfolder: scenarios/*.toml are
#: scenarios, and the app and tests list them)
RELATIVE_PATH = Path("ranges") / "assumed.toml"
_ROW_FIELDS = {"range": {"low", "high", "why"}, "fixed": {"why"}}


@dataclass(frozen=True)
class Range:
    """One assumed key's plausible interval, in the key's unit, and why."""

    key: str
    low: float
    high: float
    why: str


@dataclass
class Ranges:
    """A loaded, checked ranges table."""

    path: Path
    ranged: dict[str, Range] = field(default_factory=dict)
    #: assumed keys that are not one number (hour windows, profiles), with why
    fixed: dict[str, str] = field(default_factory=dict)

    def all_keys(self) -> set[str]:
        return set(self.ranged) | set(self.fixed)


def default_path(scenario_path: str | Path) -> Path:
    """The ranges table beside a scenario file: ``ranges/assumed.toml`` in its folder."""
    return Path(scenario_path).resolve().parent / RELATIVE_PATH


def value_of(scenario: Scenario, key: str) -> Any:
    """The value of a dotted key in a scenario; KeyError if the schema has no such key."""
    node: Any = scenario
    for part in key.split("."):
        if not isinstance(node, BaseModel) or part not in type(node).model_fields:
            raise KeyError(key)
        node = getattr(node, part)
    if isinstance(node, BaseModel):
        raise KeyError(key)  # a section, not a key
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load(path: str | Path) -> Ranges:
    """Read and check a ranges table; every problem is one InputError naming file and key."""
    path = Path(path)
    source = str(path)
    data = scenario_module.read_toml(path)
    ranges = Ranges(path=path)
    defaults = Scenario()
    for table, rows in data.items():
        if table not in _ROW_FIELDS or not isinstance(rows, dict):
            raise InputError(source, table, 'unknown table (expected [range."key"] or [fixed])')
        for key, row in rows.items():
            where = f'{table}."{key}"'
            if not isinstance(row, dict):
                raise InputError(source, where, "must be a table")
            _check_not_a_section(key, row, table, source, where)
            _check_fields(row, _ROW_FIELDS[table], source, where)
            try:
                default = value_of(defaults, key)
            except KeyError:
                moved = scenario_module.MOVED_KEYS.get(key)
                message = f"no longer a key: {moved}" if moved else "unknown scenario key"
                raise InputError(source, where, message) from None
            if key in ranges.all_keys():
                raise InputError(source, where, "listed under both [range] and [fixed]")
            why = row["why"]
            if not isinstance(why, str) or not why.strip():
                raise InputError(source, f"{where}.why", "needs the source or reasoning")
            if table == "fixed":
                if _is_number(default):
                    raise InputError(
                        source,
                        where,
                        "one number: give it a [range] with low < high "
                        "(to fix its value, set it in the scenario instead)",
                    )
                ranges.fixed[key] = why
                continue
            if not _is_number(default):
                raise InputError(source, where, "not one number: list it under [fixed] instead")
            low, high = row["low"], row["high"]
            for name, bound in (("low", low), ("high", high)):
                _check_bound(defaults, key, bound, default, source, f"{where}.{name}")
            if low > high:
                raise InputError(source, where, f"low ({low:g}) is greater than high ({high:g})")
            if low == high:
                raise InputError(
                    source,
                    where,
                    f"low ({low:g}) equals high ({high:g}): a range must have low < high "
                    "(to fix the value, set it in the scenario instead)",
                )
            ranges.ranged[key] = Range(key, float(low), float(high), why)
    return ranges


def _check_not_a_section(key: str, row: dict, table: str, source: str, where: str) -> None:
    """Refuse ``[range.acceptance.base_probability]`` (unquoted: TOML nests it, so the row is
    the section ``acceptance``) with the quoted form, not "unknown field"."""
    if not scenario_module.is_section(key):
        return  # a key (or no key at all: refused elsewhere)
    inner = next((name for name, value in row.items() if isinstance(value, dict)), None)
    example = f'[{table}."{key}.{inner}"]' if inner else f'[{table}."{key}.<key>"]'
    raise InputError(source, where, f"a section, not a key: quote the dotted key, e.g. {example}")


def _check_fields(row: dict, expected: set[str], source: str, where: str) -> None:
    for name in row:
        if name not in expected:
            raise InputError(source, f"{where}.{name}", "unknown field")
    for name in sorted(expected):
        if name not in row:
            raise InputError(source, f"{where}.{name}", "missing")


def _check_bound(
    defaults: Scenario, key: str, bound: Any, default: Any, source: str, where: str
) -> None:
    if not _is_number(bound) or not math.isfinite(bound):
        raise InputError(source, where, f"must be a finite number (got {bound!r})")
    if isinstance(default, int) and not isinstance(bound, int):
        raise InputError(source, where, f"an integer key needs a whole number (got {bound!r})")
    try:
        scenario_module.with_overrides(defaults, {key: bound})
    except InputError as error:
        raise InputError(source, where, f"outside the schema: {error.message}") from None


def _leaf_keys(model: Any = Scenario, prefix: str = "") -> dict[str, Any]:
    """Every dotted key of the schema with its field info."""
    keys = {}
    for name, info in model.model_fields.items():
        if hasattr(info.annotation, "model_fields"):
            keys.update(_leaf_keys(info.annotation, f"{prefix}{name}."))
        else:
            keys[f"{prefix}{name}"] = info
    return keys


def schema_assumed_keys() -> set[str]:
    """Keys whose schema description says "assumed" (the Channels section says its delays are)."""
    keys = {k for k, info in _leaf_keys().items() if "assumed" in (info.description or "")}
    keys |= {f"channels.{name}.answer_delay_mean_min" for name in scenario_module.CHANNEL_NAMES}
    return keys


_HEADER = re.compile(r"^\s*\[([A-Za-z0-9_.]+)\]\s*(#.*)?$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=[^#]*(#.*)?$")


def comment_assumed_keys(path: str | Path) -> set[str]:
    """Keys a scenario file's comments mark "assumed": the key's own comment, an indented comment
    line continuing it, a comment line at the left margin before it, or its table's header."""
    keys: set[str] = set()
    table: str | None = None
    table_assumed = False
    previous: str | None = None
    pending = False  # a left-margin comment saying "assumed", for the next key
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        header = _HEADER.match(line)
        if header:
            table, previous = header.group(1), None
            table_assumed = "assumed" in (header.group(2) or "")
            continue
        if table is None:
            continue  # the file's opening comment explains the word, it marks nothing
        stripped = line.strip()
        if stripped.startswith("#"):
            if "assumed" in stripped:
                if line.startswith("#"):
                    pending = True
                elif previous is not None:
                    keys.add(previous)
            continue
        match = _KEY_LINE.match(line)
        if not match:
            continue
        previous = f"{table}.{match.group(1)}"
        if pending or table_assumed or "assumed" in (match.group(2) or ""):
            keys.add(previous)
        pending = False
    return keys


def assumed_keys(*scenario_paths: str | Path) -> set[str]:
    """Every assumed key: the schema's and those the given scenario files' comments mark."""
    keys = schema_assumed_keys()
    for path in scenario_paths:
        keys |= comment_assumed_keys(path)
    return keys


def rows(scenario: Scenario, ranges: Ranges) -> list[dict[str, Any]]:
    """One row per key of the table, ranged keys first: the scenario's value beside the range;
    ``inside`` is None for a fixed key."""
    out = []
    for key, item in ranges.ranged.items():
        value = value_of(scenario, key)
        inside = item.low <= value <= item.high
        out.append(
            {"key": key, "value": value, "low": item.low, "high": item.high, "why": item.why}
            | {"inside": inside}
        )
    for key, why in ranges.fixed.items():
        out.append(
            {"key": key, "value": value_of(scenario, key), "low": None, "high": None, "why": why}
            | {"inside": None}
        )
    return out


def print_table(scenario_path: str, ranges: Ranges, table_rows: list[dict[str, Any]]) -> None:
    """The rows as a rich table: key, the scenario's value, low, high, why."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Assumed parameters of {scenario_path} (ranges: {ranges.path})")
    table.add_column("key", no_wrap=True)
    for name in ("value", "low", "high"):
        table.add_column(name, justify="right")
    table.add_column("why", overflow="fold")
    for row in table_rows:
        value = escape(_text(row["value"]))
        if row["inside"] is False:
            value = f"[bold red]{value}[/] (outside)"
        low, high = _text(row["low"]), _text(row["high"])
        table.add_row(row["key"], value, low, high, escape(row["why"]))
    Console().print(table)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 24 else text[:23] + "…"
