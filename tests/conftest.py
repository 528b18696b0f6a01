"""Shared fixtures: every server a test needs is started here, on loopback, on a free port."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

from hiring_signals.config import load_settings
from hiring_signals.embedded import free_port, start_moto
from hiring_signals.identity import Pseudonymiser
from hiring_signals.storage import Lake

TEST_KEY = "test-pseudonym-key-" + "0" * 32

# Spark's Python workers must be this interpreter (the venv), whoever launches them.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    port = free_port()
    proc = start_moto(port, tmp_path_factory.mktemp("moto-logs"))
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture
def hs_env(moto_endpoint, tmp_path) -> dict[str, str]:
    """Environment for one test: its own buckets on the shared moto endpoint, its own state dir."""
    suffix = uuid.uuid4().hex[:10]
    return {
        "HS_HOME": str(tmp_path / "hs-home"),
        "HS_S3_ENDPOINT_URL": moto_endpoint,
        "HS_LAKE_BUCKET": f"lake-{suffix}",
        "HS_FEEDS_BUCKET": f"feeds-{suffix}",
        "HS_PSEUDONYM_KEY": TEST_KEY,
        "HS_SPARK_MASTER": "local[2]",
        "HS_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "HS_WAREHOUSE_SCHEMA": f"hs_{suffix}",
    }


@pytest.fixture
def settings(hs_env):
    return load_settings(hs_env)


@pytest.fixture
def lake(settings) -> Lake:
    lake = Lake(settings.s3)
    lake.ensure_buckets()
    return lake


@pytest.fixture
def pseudonymiser() -> Pseudonymiser:
    return Pseudonymiser(TEST_KEY.encode())


def pytest_collection_modifyitems(config, items):
    # The scheduler-driven end-to-end run is the slowest; run it last so fast failures surface first.
    items.sort(key=lambda item: 1 if item.get_closest_marker("e2e") else 0)


REPO_ROOT = Path(__file__).resolve().parent.parent
