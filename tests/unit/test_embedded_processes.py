"""Stopping a launched service stops everything it started, including processes that left its process group."""

from __future__ import annotations

import os
import sys
import time

from hiring_signals.embedded import launch, session_members, stop_pid_files

# The service starts a helper that moves into a process group of its own, as Airflow's task runner does with
# every task, then both wait; the helper's pid goes to a file.
SERVICE = r"""
import subprocess, sys, time
helper = subprocess.Popen([sys.executable, "-c", "import os, time; os.setpgrp(); time.sleep(120)"])
open(sys.argv[1], "w").write(str(helper.pid))
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child of an exited parent is reaped by init; until then it is a zombie, which is stopped too
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def _helper_pid(path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.1)
    raise TimeoutError("the service did not start its helper")


def _wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def test_stop_reaches_a_helper_in_its_own_process_group(tmp_path):
    proc = launch("service", [sys.executable, "-c", SERVICE, str(tmp_path / "helper.pid")], tmp_path)
    helper = _helper_pid(tmp_path / "helper.pid")
    assert os.getpgid(helper) != os.getpgid(proc.process.pid)
    assert helper in session_members(proc.process.pid)
    proc.stop(timeout_s=5)
    assert _wait_gone(helper), "the helper outlived the service's stop"


def test_stop_pid_files_reaches_an_orphaned_helper(tmp_path):
    """`hs stop` after the service itself died (its helper re-parented to init) still stops the helper."""
    proc = launch("service", [sys.executable, "-c", SERVICE, str(tmp_path / "helper.pid")], tmp_path,
                  pid_dir=tmp_path / "run")
    helper = _helper_pid(tmp_path / "helper.pid")
    proc.process.kill()
    proc.process.wait()
    assert _alive(helper)
    assert stop_pid_files(tmp_path / "run", timeout_s=5) == ["service"]
    assert _wait_gone(helper), "the orphaned helper outlived hs stop"
