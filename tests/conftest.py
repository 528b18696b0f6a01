"""Shared fixtures: every server a test needs is started here, on loopback, on a free port."""

from __future__ import annotations

import logging
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
REPO_ROOT = Path(__file__).resolve().parent.parent

# An xdist worker's __main__ (execnet's) has neither __spec__ nor __file__, which PySpark's Spark Connect import check
# (reached through `import great_expectations`) takes for a doctest run: without Connect's extras it calls
# sys.exit(0) instead of raising the ImportError GX handles. Give that __main__ the file it runs.
_main = sys.modules["__main__"]
if os.environ.get("PYTEST_XDIST_WORKER") and getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    import xdist.remote

    _main.__file__ = xdist.remote.__file__

# py4j logs "Closing down clientserver connection" at INFO from finalizers that can run after pytest closed the
# captured streams (a "--- Logging error ---" at the end of the run); nothing of it is needed.
logging.getLogger("py4j").setLevel(logging.WARNING)

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


@pytest.fixture(scope="session")
def spark():
    """The one in-process SparkSession (one JVM) of the pytest process, for every test that runs Spark code
    in-process. tests/integration/test_spark_cluster.py runs its job through spark-submit and keeps its own."""
    from spark_jobs.session import SMALL_INPUT_CONF, build_session

    # One JVM serves every module of the run, so it gets more than Spark's 1g default heap (set before the JVM
    # starts); the fresh-clone suite ran out of aggregation memory late in the run with 1g.
    session = build_session("hs-tests", "local[1]", shuffle_partitions=1,
                            extra_conf={**SMALL_INPUT_CONF, "spark.driver.memory": "3g"})
    yield session
    session.stop()  # its JVM ends with the session, not at interpreter exit


@pytest.fixture
def frame(spark):
    """Raw-zone rows (tests/raw_rows.ev dicts) as a Spark DataFrame with the contract's read schema."""
    from hiring_signals.contract.raw_schema import raw_event_column_names, raw_event_spark_ddl

    def make(rows: list[dict]):
        names = raw_event_column_names()
        return spark.createDataFrame([tuple(r.get(n) for n in names) for r in rows], raw_event_spark_ddl())
    return make


@pytest.fixture(autouse=True, scope="module")
def _release_cached_spark_data():
    """Frames a module cached (the job's known events, the state) are its own: drop them when it ends, so they do
    not crowd execution memory out of the shared session for every later module."""
    yield
    if "pyspark" in sys.modules:
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            active.catalog.clearCache()


@pytest.fixture(scope="session")
def simulated_lake(moto_endpoint, tmp_path_factory):
    """Both simulators' sources ingested over HTTP into one raw zone, once per session (tests/simulated_lake.py)."""
    from tests.simulated_lake import build_simulated_lake

    return build_simulated_lake(moto_endpoint, tmp_path_factory.mktemp("simulated-lake"))


@pytest.fixture(scope="session")
def simulated_snapshot(simulated_lake) -> dict:
    """The curated snapshot of `simulated_lake` as of its AS_OF, built once by spark-submit; its manifest."""
    from hiring_signals.pipeline import build_signals
    from tests.simulated_lake import AS_OF, patched_environ

    with patched_environ(simulated_lake.env):
        return build_signals(simulated_lake.settings, AS_OF)


# Under pytest-xdist (`make test`: two workers, --dist loadscope): every module is a unit of work given whole to one
# worker (its module fixtures built once), except that the modules sharing the session's simulated lake and its
# Spark snapshot form one unit (built once). Units are handed out longest first (measured seconds, clean clone,
# 2026-12-04), so the last to start is short: the scheduler-driven end-to-end run (its worker mostly waits on
# Airflow), then the others. (A scheduler of our own: xdist 3.8's loadgroup marks rename node ids, which
# pytest 9.2 no longer allows, and is silently ignored.)
SIMULATED_LAKE_MODULES = {"test_spark_cluster.py", "test_spark_job.py", "test_warehouse_simulated.py"}
LONG_UNITS = ["tests/e2e/test_pipeline_e2e.py", "simulated_lake", "tests/integration/test_incremental_signals.py",
              "tests/unit/test_signal_state.py", "tests/integration/test_publish_dag_cosmos.py",
              "tests/integration/test_fault_suite.py", "tests/integration/test_warehouse_dbt.py",
              "tests/integration/test_warehouse_raw_dbt.py", "tests/unit/test_signal_transforms.py"]


def xdist_unit(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0]
    return "simulated_lake" if module.rsplit("/", 1)[-1] in SIMULATED_LAKE_MODULES else module


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    return UnitScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {unit: i for i, unit in enumerate(LONG_UNITS)}
        items.sort(key=lambda item: rank.get(xdist_unit(item.nodeid), len(rank)))  # stable: module order kept
        return
    # In one process the scheduler-driven end-to-end run is the slowest; run it last so fast failures surface first.
    items.sort(key=lambda item: 1 if item.get_closest_marker("e2e") else 0)

