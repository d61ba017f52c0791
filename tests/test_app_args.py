"""``volsim app`` refuses bad input before it says it serves: a scenario ``volsim run`` refuses, a
host that does not resolve or is not this machine's, a port in use or out of range, each one line
naming the file and key or the option, exit status 2; Ctrl-C stops the server (solara's own
line and status) without a traceback.

Each test runs ``python -m sim app`` as a process (the server would otherwise run in the test).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the app needs the extra: pip install -e '.[app]'")

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
#: time to refuse (loading the page's libraries takes seconds); a server that starts instead
#: of refusing runs until this ends
REFUSE_S = 45


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _refused(*args: object) -> str:
    """stderr of ``volsim app ARGS``, which must refuse: one line, exit 2, nothing served."""
    command = [sys.executable, "-m", "sim", "app", *map(str, args)]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=REFUSE_S
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"volsim app {args} served instead of refusing: {expired.stdout!r}")
    assert "serving on" not in done.stdout
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("volsim app: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[demand]\nfoo = 1\n", "demand.foo: unknown key"),
        ("[demand\n", "not valid TOML"),
        ('[experiment]\nname = "x"\n', "experiment: unknown key"),
    ],
    ids=["unknown-key", "broken-toml", "experiment-file"],
)
def test_a_scenario_volsim_run_refuses_is_refused_before_serving(tmp_path, text, expected):
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text)
    line = _refused(scenario, "--port", _free_port())
    assert f"{scenario}: {expected}" in line


@pytest.mark.parametrize("host", ["nosuch.invalid", "192.0.2.1", ""])
def test_a_host_that_cannot_be_served_names_host(host):
    line = _refused("--host", host, "--port", _free_port())
    assert "--host" in line


def test_a_port_in_use_names_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        line = _refused("--port", taken.getsockname()[1])
    assert "--port" in line and "in use" in line


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_a_port_out_of_range_names_port(port):
    assert "--port" in _refused(f"--port={port}")


def _line_within(stream, seconds: float) -> str:
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else ""


def test_ctrl_c_stops_the_server_without_a_traceback():
    """The server is ``solara run`` (the process becomes it): Ctrl-C ends it as solara does, with
    its own short line and status, promptly and without a traceback."""
    port = _free_port()
    command = [sys.executable, "-m", "sim", "app", "scenarios/chaoyangli.toml", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = _line_within(process.stdout, REFUSE_S)
        assert f"serving on http://127.0.0.1:{port}/" in first, process.poll()
        deadline = time.monotonic() + 60
        while True:  # the page answers: the server itself is running, not still loading
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=30)
        err = process.stderr.read()
        assert status in (0, 1, 130), err
        assert "Traceback" not in err, err
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
