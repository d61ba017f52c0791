"""``python -m sim`` and the ``volsim`` console script: the command line (sim.cli), with a
Ctrl-C that comes while the libraries are still loading ending as quietly as one that comes
later (one line, exit status 130, no traceback), and one that comes once the command has
finished (while the interpreter shuts down) changing nothing: the work is done and its exit
status stands."""

import signal
import sys

from sim.errors import EXIT_INTERRUPTED


def console() -> None:
    try:
        from sim.cli import main

        code = main()
    except KeyboardInterrupt:
        print("volsim: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    console()
