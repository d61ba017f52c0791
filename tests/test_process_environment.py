"""What a process is started with or sent. Every command treats SIGTERM as one Ctrl-C (one line,
exit status 130, nothing half-written), not only the sweeps that handle it themselves; a command
started with standard output or error closed (``>&-``) neither crashes nor loses its result with
exit status 0; an argument the locale cannot encode is one line.

Fuzzing found ``volsim run`` and ``report`` ended by SIGTERM with status 143 and no line, leaving
an empty output folder, ``volsim run >&-`` crashed with a traceback (``None.isatty()``), and a
Chinese ``--out`` under a C locale without UTF-8 mode crashed in the table writer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from cli_support import TINY_EXPERIMENT

from sim.errors import EXIT_INTERRUPTED, EXIT_OUTPUT

ROOT = Path(__file__).resolve().parents[1]
#: a run of a few seconds: long enough to be mid-way when the signal comes
LONG = ["run", str(ROOT / "scenarios" / "chaoyangli.toml"), "--days", "3000", "--seed", "1"]
SHORT = ["run", str(ROOT / "scenarios" / "chaoyangli.toml"), "--days", "2", "--seed", "1"]


def volsim(*argv: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *argv],
        cwd=ROOT,
        stdout=options.pop("stdout", subprocess.PIPE),
        stderr=options.pop("stderr", subprocess.PIPE),
        text=True,
        start_new_session=True,  # a process group of its own, as a shell starts a job
        **options,
    )


def test_sigterm_during_a_run_is_one_line_status_130_and_no_output_folder(tmp_path) -> None:
    out = tmp_path / "out"
    process = volsim(*LONG, "--out", str(out))
    try:
        started = psutil.Process(process.pid)
        while started.cpu_times().user < 3.0:  # the libraries loaded (about 1.5 s), running
            assert process.poll() is None, "the run ended before the signal: make it longer"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_INTERRUPTED, (process.returncode, err)
    assert err.strip() == "volsim run: interrupted", err
    assert not out.exists(), "a stopped run left its output folder"


def test_a_result_printed_to_a_closed_standard_output_is_a_fault_not_a_success() -> None:
    process = volsim(*SHORT, "--json", stdout=subprocess.DEVNULL, pass_fds=())
    process.communicate(timeout=120)  # (an open stdout: the control)
    assert process.returncode == 0
    closed = subprocess.run(
        [sys.executable, "-c", _CLOSED.format(argv=[*SHORT, "--json"], fd=1)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert closed.returncode == EXIT_OUTPUT, closed.stderr
    lines = closed.stderr.strip().splitlines()
    assert lines == [
        "volsim run: error: standard output: closed when volsim started: the output is lost"
    ], closed.stderr


def test_a_closed_standard_error_does_not_stop_the_command(tmp_path) -> None:
    """An experiment asks whether stderr is a terminal (for its progress bar): it crashed."""
    experiment = tmp_path / "x.toml"
    experiment.write_text(TINY_EXPERIMENT, encoding="utf-8")
    out = tmp_path / "out"
    argv = ["experiment", str(experiment), "--out", str(out), "--workers", "1"]
    closed = subprocess.run(
        [sys.executable, "-c", _CLOSED.format(argv=argv, fd=2)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert closed.returncode == 0, closed.stdout
    assert (out / "summary.csv").is_file() and (out / "differences.csv").is_file()


#: ``volsim ARGV`` in a child whose file descriptor ``fd`` is closed before it starts
_CLOSED = """
import os, subprocess, sys
os.close({fd})
code = subprocess.call([sys.executable, "-m", "sim", *{argv!r}], close_fds=False)
raise SystemExit(code)
"""


def test_a_path_the_locale_cannot_encode_is_refused_in_one_line(tmp_path) -> None:
    """Under a C locale with Python's UTF-8 mode and locale coercion off, a Chinese path reaches
    volsim as undecodable bytes; the table writer crashed on it with a traceback."""
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "sim", *SHORT, "--out", "输出"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
    )
    err = result.stderr.decode("ascii")
    assert result.returncode == 2, err
    assert err.count("\n") == 1 and "not text in this locale's encoding" in err, err
    assert list(tmp_path.iterdir()) == [], "a refused run wrote something"
