"""Writing results to disk atomically: a temporary file in the same folder, then a rename.

A reader (or a rerun after ``kill -9``, Ctrl-C or a full disk) sees either the whole file or
none of it; :func:`write_files` extends this to a set of files (all of a run's tables, all of a
report's figures), and :func:`check_writable` tries an output folder before any work is done.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.community import layout_table
from sim.errors import InputError, OutputError

if TYPE_CHECKING:
    from sim.model import VolunteerModel

#: a writer puts a file's whole content at the path it is given
Writer = Callable[[str], None]


def _file_mode() -> int:
    """rw for whom the umask allows (mkstemp makes 0600 files; results are for sharing)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_MODE = _file_mode()


def _temp_beside(path: Path) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _MODE)
    return tmp


def _atomic_write(path: Path, write: Writer) -> None:
    write_files({path: write})


def write_files(writers: dict[Path, Writer]) -> None:
    """Write several files all or none: each into a temporary file beside it, then, once every
    one is complete, rename them into place. On any error (a full disk, Ctrl-C) the temporary
    files are removed and the files already there are left as they were."""
    temps: dict[Path, str] = {}
    try:
        for path, write in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temps[path] = _temp_beside(path)
            write(temps[path])
        for path, tmp in temps.items():
            os.replace(tmp, path)
            temps[path] = ""
    except BaseException:
        for tmp in temps.values():
            if tmp:
                Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: Path, source: str) -> Path | None:
    """Make sure files can be written into ``folder`` (created with its parents if missing).

    Returns the topmost folder this created (None if it existed), for :func:`remove_created`.

    Raises:
        InputError: naming ``source`` (e.g. ``--out``) and the folder, if it is a file, lies
            under a file, or cannot be created or written to.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(source, str(folder), "is a file, not a folder")
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".volsim-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        remove_created(missing[-1] if missing else None)
        raise InputError(source, str(folder), f"cannot write there: {_reason(error)}") from None
    return missing[-1] if missing else None


def remove_created(folder: Path | None) -> None:
    """Remove folders :func:`check_writable` created, if nothing was written into them."""
    if folder is None:
        return
    for path in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


@contextlib.contextmanager
def writing(what: str, where: Path) -> Iterator[None]:
    """Turn an OSError while writing ``what`` into ``where`` into one :class:`OutputError`."""
    try:
        yield
    except OSError as error:
        path = error.filename or where
        raise OutputError(str(path), f"cannot write {what}: {_reason(error)}") from None


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet table of a results folder; a missing, truncated or foreign file is an
    InputError naming it (one line, not pyarrow's traceback)."""
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise InputError(str(path), None, "missing") from None
    except Exception as error:  # pyarrow raises several kinds for a damaged file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(str(path), None, f"unreadable Parquet table ({reason})") from None


def write_text(text: str, path: Path) -> None:
    """Write a text file (UTF-8), atomically."""
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as Parquet, atomically."""
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_row(row: dict[str, Any], path: Path) -> None:
    """Write one record (scalars and lists) as a one-row Parquet file, atomically; through
    Arrow directly, a few times faster than through pandas."""
    table = pa.Table.from_pylist([row])
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def json_safe(value: Any) -> Any:
    """A value ready for strict JSON: non-finite floats, also inside dicts and lists, as None."""
    if isinstance(value, float):
        return _finite_or_none(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write a dict as JSON (its non-finite top-level values as null), atomically."""
    text = _json_text(data)
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))


def _parquet_writer(frame: pd.DataFrame) -> Writer:
    return lambda tmp: frame.to_parquet(tmp, index=False)


def _json_text(data: dict[str, Any]) -> str:
    # top-level NaN (a metric with no data) as null; nested inf kept (JSON's Infinity, which
    # json.loads reads back): a manifest's resolved scenario holds infinite reaches and waits
    top = {k: _finite_or_none(v) for k, v in data.items()}
    return json.dumps(top, indent=2, ensure_ascii=False)


RUN_FILES = (
    "orders.parquet",
    "daily.parquet",
    "yearly.parquet",
    "grids.parquet",
    "buildings.parquet",
    "layout.parquet",
    "summary.json",
)


def write_run_outputs(model: VolunteerModel, out: Path) -> None:
    """A single run's tables (orders, daily and yearly series, per grid and building), its
    layout (sim.community.layout_table: coordinates in metres, for the report's map), for a
    district one row per community (communities.parquet), and its summary: all or none.

    Raises:
        OutputError: if a file cannot be written (one line naming it).
    """
    tables = {
        "orders.parquet": model.order_table(),
        "daily.parquet": model.daily_table(),
        "yearly.parquet": model.yearly_table(),
        "grids.parquet": model.area_table("grid"),
        "buildings.parquet": model.area_table("building"),
        "layout.parquet": layout_table(model.layout),
    }
    if len(model.layout.community_names) > 1:
        tables["communities.parquet"] = model.community_table()
    writers = {out / name: _parquet_writer(frame) for name, frame in tables.items()}
    text = _json_text(model.summary()) + "\n"
    writers[out / "summary.json"] = lambda tmp: Path(tmp).write_text(text, encoding="utf-8")
    with writing("the run's tables", out):
        write_files(writers)
