"""The one error type a user sees: bad input, reported as one line with exit status 2."""

from __future__ import annotations


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
