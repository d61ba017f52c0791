"""The errors a user sees as one line: bad input (exit status 2) and output that could not be
written (exit status 1), each naming the file (and the key) at fault, without a traceback."""

from __future__ import annotations

#: exit statuses: bad input, output that could not be written, interrupted (Ctrl-C, SIGTERM)
EXIT_INPUT = 2
EXIT_OUTPUT = 1
EXIT_INTERRUPTED = 130


class InputError(Exception):
    """A problem with a file or command line that the user can fix.

    The CLI prints ``str(error)`` on one line and exits with status 2, without a traceback.
    ``source`` names the file (or ``--set`` / the command line) and ``key`` the offending key.
    """

    def __init__(self, source: str, key: str | None, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")


class OutputError(Exception):
    """A result file that could not be written (a full disk, a folder made read-only meanwhile).

    The CLI prints ``str(error)`` on one line and exits with status 1; nothing half-written is
    left behind (see :mod:`sim.storage`). ``path`` names the file or folder.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")
