"""Writing results to disk atomically: a temporary file in the same folder, then a rename.

A reader (or a rerun after ``kill -9``, Ctrl-C or a full disk) sees either the whole file or
none of it; :func:`write_files` extends this to a set of files (all of a run's tables, all of a
report's figures), and :func:`check_writable` (:func:`check_file_writable`) tries an output
folder (file) before any work is done. Every result file is written through here: a symbolic
link is written through (its target replaced, the link kept), a folder, pipe or device where a
file should go is refused (:func:`destination`), and an error names the file, never the
temporary one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
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


def temp_beside(path: Path, mode: int = _MODE) -> str:
    """A new empty temporary file beside ``path`` (hidden, ``.tmp``), with ``mode`` (by default
    rw for whom the umask allows, as a file made directly would be)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something else"


def destination(path: Path) -> tuple[Path, int]:
    """Where writing ``path`` puts its file, and the permissions it gets: ``path`` itself, or
    for a symbolic link the file it points to (links followed to the end), which is replaced
    atomically while the link stays; an existing file keeps its permissions.

    Raises:
        InputError: naming ``path``, if something is there that is neither a regular file
            nor a link to one (a folder, a pipe, a device, a socket): never replaced.
    """
    path = Path(path)
    link = path.is_symlink()
    target = Path(os.path.realpath(path)) if link else path
    try:
        mode = os.stat(target).st_mode
    except OSError:  # nothing there (or a broken link: its target is made); else the write says
        return target, _MODE
    if not stat.S_ISREG(mode):
        what = f"a link to {_kind(mode)} ({target})" if link else _kind(mode)
        raise InputError(str(path), None, f"is {what}, not a regular file: not written")
    return target, stat.S_IMODE(mode)


def _named(error: OSError, path: Path) -> OSError:
    """The error as an OSError of the same kind naming ``path`` (not a temporary file), with
    the system's words for its errno (pyarrow's are long)."""
    code = error.errno
    reason = os.strerror(code) if code else os_reason(error)
    named = OSError(code, reason, str(path)) if code else OSError(reason)
    if not code:
        named.filename = str(path)
    return named


class FileSet:
    """Files written all or none (see :func:`all_or_none`): :meth:`write` puts each into a
    temporary file beside its destination; :meth:`commit` renames them all into place."""

    def __init__(self) -> None:
        self._temps: dict[Path, tuple[Path, str]] = {}  # path → (destination, temporary)
        #: the paths this set has moved into place (by :meth:`commit`)
        self.placed: list[Path] = []

    def write(self, path: Path, write: Writer) -> None:
        """Write one file's content into a temporary file beside where it goes; an OSError
        names ``path``; a path that is no regular file (nor a link to one) is an InputError."""
        path = Path(path)
        target, mode = destination(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_beside(target, mode)
            previous = self._temps.get(path)
            self._temps[path] = (target, tmp)
            if previous is not None:
                Path(previous[1]).unlink(missing_ok=True)
            write(tmp)
        except OSError as error:
            raise _named(error, path) from None

    def commit(self) -> None:
        """Rename every temporary file into place (an OSError names the file)."""
        for path, (target, tmp) in list(self._temps.items()):
            try:
                os.replace(tmp, target)
            except OSError as error:
                raise _named(error, path) from None
            del self._temps[path]
            self.placed.append(path)

    def discard(self) -> None:
        """Remove the temporary files not yet renamed."""
        for _, tmp in self._temps.values():
            with contextlib.suppress(OSError):
                Path(tmp).unlink(missing_ok=True)
        self._temps.clear()


@contextlib.contextmanager
def all_or_none() -> Iterator[FileSet]:
    """A :class:`FileSet` whose files are renamed into place when the body ends; on any error
    (a full disk, Ctrl-C) their temporary files are removed and the files already there are
    left as they were (a file renamed before a rename failed is removed, so no set is mixed)."""
    files = FileSet()
    try:
        yield files
        files.commit()
    except BaseException:
        files.discard()
        for path in files.placed:
            with contextlib.suppress(OSError):
                destination(path)[0].unlink(missing_ok=True)
        raise


def _atomic_write(path: Path, write: Writer) -> None:
    write_files({path: write})


def write_files(writers: dict[Path, Writer]) -> None:
    """Write several files all or none: each into a temporary file beside it, then, once every
    one is complete, rename them into place. On any error (a full disk, Ctrl-C) the temporary
    files are removed and the files already there are left as they were.

    A path that is a symbolic link is written through (the file it points to is replaced, the
    link stays); one that is a folder, a pipe or a device is refused (InputError), never
    replaced. An OSError names the file, never a temporary one."""
    with all_or_none() as files:
        for path, write in writers.items():
            files.write(path, write)


def check_file_writable(path: Path, source: str) -> None:
    """Make sure the file ``path`` can be written (its folder exists and takes a new file; it
    is no folder, pipe or device) before any work is done.

    Raises:
        InputError: naming ``source`` (e.g. ``--sobol-design``) and the path.
    """
    path = Path(path)
    try:
        target, _ = destination(path)
    except InputError as error:
        raise InputError(source, str(path), error.message) from None
    if not target.parent.is_dir():
        raise InputError(source, str(path), "no such folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".volsim-probe.", dir=target.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise InputError(source, str(path), f"cannot write there: {os_reason(error)}") from None


#: errno values that say the place is wrong, not that the disk failed
BAD_PLACE = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENOENT}
)


def write_error(error: OSError, path: Path, what: str) -> InputError | OutputError:
    """An OSError while writing ``what`` into ``path`` as the error the user sees: a place
    that cannot take files (read-only, no permission, not a folder) is bad input (InputError,
    exit 2); anything else (a full disk, an I/O error) is a fault (OutputError, exit 1)."""
    where = str(error.filename or path)
    if error.errno in BAD_PLACE:
        return InputError(where, None, f"cannot write {what}: {os_reason(error)}")
    return OutputError(where, f"cannot write {what}: {os_reason(error)}")


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
        raise InputError(source, str(folder), f"cannot write there: {os_reason(error)}") from None
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


def os_reason(error: OSError) -> str:
    """An OS error's plain reason ("No space left on device"), without file names."""
    if error.errno:
        return os.strerror(error.errno)
    return error.strerror or str(error)


@contextlib.contextmanager
def writing(what: str, where: Path) -> Iterator[None]:
    """Turn an OSError while writing ``what`` into ``where`` into one :class:`OutputError`."""
    try:
        yield
    except OSError as error:
        path = error.filename or where
        raise OutputError(str(path), f"cannot write {what}: {os_reason(error)}") from None


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
