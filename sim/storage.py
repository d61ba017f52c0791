"""Writing results to disk atomically: a temporary file in the same folder, then a rename.

A reader (or a rerun after ``kill -9``) sees either the whole file or none of it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from sim.model import VolunteerModel


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as Parquet, atomically."""
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_row(row: dict[str, Any], path: Path) -> None:
    """Write one record (scalars and lists) as a one-row Parquet file, atomically; through
    Arrow directly, a few times faster than through pandas."""
    table = pa.Table.from_pylist([row])
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write a dict as JSON (non-finite floats as null), atomically."""
    text = json.dumps({k: json_safe(v) for k, v in data.items()}, indent=2, ensure_ascii=False)
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))


def write_run_outputs(model: VolunteerModel, out: Path) -> None:
    """A single run's tables: orders, daily series, per grid and building, summary."""
    write_parquet(model.order_table(), out / "orders.parquet")
    write_parquet(model.daily_table(), out / "daily.parquet")
    write_parquet(model.yearly_table(), out / "yearly.parquet")
    write_parquet(model.area_table("grid"), out / "grids.parquet")
    write_parquet(model.area_table("building"), out / "buildings.parquet")
    write_json(model.summary(), out / "summary.json")
