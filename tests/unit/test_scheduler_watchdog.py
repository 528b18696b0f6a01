"""The embedded scheduler's supervisor (LocalAirflow.ensure_scheduler_alive), without starting Airflow."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from hiring_signals import airflow_local
from hiring_signals.config import load_settings
from hiring_signals.embedded import ManagedProcess


class FakeProcess:
    def __init__(self, exit_code=None):
        self.exit_code = exit_code
        self.pid = 0

    def poll(self):
        return self.exit_code


@pytest.fixture
def airflow(tmp_path, monkeypatch):
    settings = load_settings({"HS_HOME": str(tmp_path), "HS_PSEUDONYM_KEY": "k" * 40})
    local = airflow_local.LocalAirflow(settings, {}, 1, tmp_path / "logs")
    launched = []

    def fake_launch(name, argv, log_dir, env=None, pid_dir=None, cwd=None):
        launched.append(name)
        return ManagedProcess(name, FakeProcess(), log_dir / f"{name}.log", None)

    monkeypatch.setattr(airflow_local, "launch", fake_launch)
    monkeypatch.setattr(ManagedProcess, "stop", lambda self, timeout_s=20.0: None)
    local.processes.append(ManagedProcess("airflow-scheduler", FakeProcess(), tmp_path / "s.log", None))
    local.launched = launched
    return local


def heartbeat(local, age_s: float, status: str = "unhealthy"):
    beat = (datetime.now(timezone.utc) - timedelta(seconds=age_s)).isoformat()
    local.get = lambda path: {"scheduler": {"status": status, "latest_scheduler_heartbeat": beat}}


def test_a_stale_scheduler_is_restarted_once_and_its_successor_gets_time_to_start(airflow):
    airflow.scheduler_launched_at = time.monotonic() - 600
    heartbeat(airflow, 50)
    assert airflow.ensure_scheduler_alive() is True
    assert airflow.launched == ["airflow-scheduler"] and airflow.scheduler_restarts == 1
    # the heartbeat on record is still the dead predecessor's, and older now: the new process is starting up
    heartbeat(airflow, 70)
    assert airflow.ensure_scheduler_alive() is False
    assert airflow.launched == ["airflow-scheduler"]
    # once its start-up allowance is over, a successor that never beat is judged like any other
    airflow.scheduler_launched_at -= 45 + airflow_local.SCHEDULER_START_UP_S
    assert airflow.ensure_scheduler_alive() is True and airflow.scheduler_restarts == 2


def test_a_healthy_or_fresh_scheduler_is_left_alone(airflow):
    airflow.scheduler_launched_at = time.monotonic() - 600
    heartbeat(airflow, 5)
    assert airflow.ensure_scheduler_alive() is False
    heartbeat(airflow, 500, status="healthy")
    assert airflow.ensure_scheduler_alive() is False
    assert airflow.launched == []


def test_an_exited_scheduler_is_restarted_even_while_starting(airflow):
    airflow.scheduler_launched_at = time.monotonic()
    airflow.processes[0] = ManagedProcess("airflow-scheduler", FakeProcess(exit_code=1), airflow.log_dir / "s.log", None)
    heartbeat(airflow, 1)
    assert airflow.ensure_scheduler_alive() is True
    assert airflow.launched == ["airflow-scheduler"]
