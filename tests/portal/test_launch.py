"""`make run` stops everything it started on SIGTERM exactly as on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_for

# Stand-ins for llama-server, the Celery worker (with beat) and uvicorn: each writes its pid and
# sleeps. The "stubborn" one ignores SIGTERM, as a child stuck in a task would, and must be killed.
CHILD = (
    "import os, signal, sys, time\n"
    "if sys.argv[2] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "time.sleep(600)\n"
)
# The launcher's own supervising function, run as `make run` runs it: in a process of its own.
LAUNCHER = (
    "import json, os, sys\n"
    "from portal.core.launch import ChildSpec, supervise\n"
    "specs = [ChildSpec(name, argv, dict(os.environ)) for name, argv in json.loads(sys.argv[1])]\n"
    "sys.exit(supervise(specs, stop_timeout=2))\n"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_launcher_stops_every_child_and_exits(tmp_path: Path, stop: signal.Signals):
    names = ("llama-server", "celery-worker", "stubborn", "uvicorn")
    pid_files = {name: tmp_path / f"{name}.pid" for name in names}
    specs = [(name, [sys.executable, "-c", CHILD, str(pid_files[name]), name]) for name in names]
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, json.dumps(specs)], cwd=ROOT, start_new_session=True
    )
    pids: list[int] = []
    try:
        wait_for(
            lambda: all(p.exists() and p.read_text() for p in pid_files.values()),
            timeout=60,
            what="every child to start",
        )
        pids = [int(p.read_text()) for p in pid_files.values()]
        assert launcher.poll() is None

        launcher.send_signal(stop)

        assert launcher.wait(timeout=10) == 0
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in pids if _alive(pid)] == []
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
