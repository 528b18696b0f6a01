"""The signal job on a real Spark standalone cluster: same job, same input, identical bytes as local mode.

A master and two workers (one core, 512 MiB each) are started on loopback from the venv's pyspark package
(hiring_signals.embedded.start_spark_standalone). The local run is the session's `simulated_snapshot`: the
simulated lake's raw zone (tests/simulated_lake.py: the real ingestion steps over HTTP, two sources) built
by hiring_signals.pipeline.build_signals -- real spark-submit, client mode -- with HS_SPARK_MASTER=local[2].
Its raw zone is copied into a second lake bucket (objects as they are; the raw manifests name their bucket,
so theirs is renamed), and the unchanged job runs there with HS_SPARK_MASTER=spark://127.0.0.1:<port>.

Checked: the cluster application completed on the master and had an executor on each worker, and its tasks
ran in those executors (Spark event log); the curated snapshot is byte-for-byte identical to local mode's
(data files by key and content hash, manifests, the state and the gate result modulo the bucket name).

The job, its arguments and the project settings are the same for both runs (only HS_SPARK_MASTER and the
bucket differ). Cluster sizing goes where a real deployment puts it, not into the job: a spark-defaults.conf
in SPARK_CONF_DIR for the cluster run (executor memory and cores, cores.max, the event log; the job sizes
its shuffle partitions from those), and SPARK_LOCAL_IP=127.0.0.1 so the driver binds and advertises loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hiring_signals.config import load_settings
from hiring_signals.embedded import start_spark_standalone
from hiring_signals.pipeline import build_signals
from hiring_signals.storage import Lake
from hiring_signals.storage import layout
from tests.simulated_lake import AS_OF

pytestmark = pytest.mark.spark

APP_NAME = f"hs-candidate-signals-{AS_OF.isoformat()}"
WORKERS = 2

# What a real cluster's spark-defaults.conf would say, sized for two one-core workers. No shuffle-partition
# count: the job sizes it from the application's cores (spark_jobs.session: 3 per core, 6 here, where Spark's
# fixed 200 spent ~100 s scheduling empty tasks); 6 also differs from local[2]'s 4, so the comparison shows
# the output does not depend on partitioning.
CLUSTER_SPARK_DEFAULTS = {
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": str(WORKERS),
    "spark.eventLog.enabled": "true",
    "spark.eventLog.compress": "false",
    "spark.eventLog.rolling.enabled": "false",
}


@pytest.fixture(scope="module")
def cluster_start(tmp_path_factory):
    """The standalone cluster, started in the background while the local snapshot is built or the raw zone
    copied (JVM start-up overlaps them); stopped at the end of the module whatever happened."""
    log_dir = tmp_path_factory.mktemp("spark-standalone")
    env = dict(os.environ)  # taken here: the job runs below patch os.environ while the thread may still start

    def start():
        began = time.monotonic()
        started = start_spark_standalone(log_dir, workers=WORKERS, cores_per_worker=1, memory_per_worker="512m",
                                         env=env)
        return started, time.monotonic() - began

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(start)
        yield future
        if future.exception() is None:
            future.result()[0].stop()


@pytest.fixture(scope="module")
def cluster(cluster_start):
    return cluster_start.result()[0]


@pytest.fixture(scope="module")
def cluster_env(cluster_start, simulated_lake, tmp_path_factory) -> dict[str, str]:
    """The cluster run's environment: the simulated lake's settings but another lake bucket, the master and the
    Spark conf dir. (Requests cluster_start only so that the cluster starts first, in the background, while the
    simulated lake is built.)"""
    home = tmp_path_factory.mktemp("spark-cluster")
    conf_dir, events = home / "spark-conf", home / "spark-events"
    conf_dir.mkdir()
    events.mkdir()
    defaults = {**CLUSTER_SPARK_DEFAULTS, "spark.eventLog.dir": events.as_uri()}
    (conf_dir / "spark-defaults.conf").write_text("".join(f"{k} {v}\n" for k, v in defaults.items()))
    # HS_SPARK_MASTER: added by `runs` once the cluster is up; SPARK_LOCAL_IP: the driver binds and advertises loopback
    return {**simulated_lake.env, "HS_HOME": str(home), "HS_LAKE_BUCKET": f"lake-cluster-{uuid.uuid4().hex[:10]}",
            "SPARK_CONF_DIR": str(conf_dir), "SPARK_LOCAL_IP": "127.0.0.1"}


def copy_raw_zone(source: Lake, target: Lake) -> int:
    """Every raw object of `source` into `target`; manifests (which name the bucket of their files) renamed."""
    old, new = source.settings.lake_bucket, target.settings.lake_bucket
    copied = 0
    for key in source.list_keys(old, "raw/"):
        body = source.get(source.ref("raw", key))
        if key.endswith(".json"):
            body = body.replace(f'"{old}"'.encode(), f'"{new}"'.encode())
        target.put(target.ref("raw", key), body)
        copied += 1
    return copied


@pytest.fixture(scope="module")
def lakes(cluster_env, simulated_lake) -> dict[str, Lake]:
    cluster = Lake(load_settings({**cluster_env, "HS_SPARK_MASTER": "local[2]"}).s3)
    cluster.ensure_buckets()
    copied = copy_raw_zone(simulated_lake.lake, cluster)
    print(f"raw zone copied into the cluster's lake: {copied} objects")
    return {"local": simulated_lake.lake, "cluster": cluster}


def run_job(env: dict[str, str]) -> tuple[dict, float]:
    # build_signals hands spark-submit os.environ: the job must see this run's bucket, master and Spark conf.
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        began = time.monotonic()
        manifest = build_signals(load_settings(env), AS_OF)
        return manifest, time.monotonic() - began


@pytest.fixture(scope="module")
def runs(cluster_env, lakes, cluster_start, simulated_snapshot) -> dict[str, dict]:
    cluster, seconds = cluster_start.result()
    print(f"standalone cluster {cluster.master_url} (2 workers ALIVE) started in {seconds:.1f}s")
    manifest, seconds = run_job({**cluster_env, "HS_SPARK_MASTER": cluster.master_url})
    print(f"{cluster.master_url}: build_signals took {seconds:.1f}s")
    return {"local": simulated_snapshot, "cluster": manifest}


def lake_objects(lake: Lake) -> dict[str, bytes]:
    """The snapshot of AS_OF: its datasets' and state's files and manifests, and its gate result. (The simulated
    lake also holds other dates, which other modules build.)"""
    bucket, date = lake.settings.lake_bucket, AS_OF.isoformat()
    keys = [k for k in lake.list_keys(bucket, "curated/") if f"as_of_date={date}" in k]
    keys.append(layout.validation_result_ref(lake, "candidate_signals", date).key)
    return {k: lake.get(lake.ref(k.split("/")[0], k)) for k in keys}


def without_bucket(body: bytes, bucket: str) -> bytes:
    return body.replace(bucket.encode(), b"<lake>")


def event_log(env: dict[str, str], app_id: str) -> list[dict]:
    path = Path(env["SPARK_CONF_DIR"]).parent / "spark-events" / app_id
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_job_ran_on_both_workers(runs, cluster, cluster_env):
    state = cluster.status()
    apps = [a for a in state["completedapps"] if a["name"] == APP_NAME]
    assert len(apps) == 1, state["completedapps"]
    app = apps[0]
    assert app["state"] == "FINISHED"
    assert not state["activeapps"]
    # each worker launched exactly one executor for the application (one core each, cores.max = 2)
    executors_by_worker = {}
    for worker in cluster.worker_status():
        mine = [e for e in worker["finishedexecutors"] + worker["executors"] if e["appid"] == app["id"]]
        executors_by_worker[worker["id"]] = {str(e["id"]) for e in mine}
    assert len(executors_by_worker) == WORKERS
    assert all(len(ids) == 1 for ids in executors_by_worker.values()), executors_by_worker
    # ... and the job's tasks ran in them (the event log names the executor of every finished task)
    events = event_log(cluster_env, app["id"])
    added = {e["Executor ID"] for e in events if e["Event"] == "SparkListenerExecutorAdded"}
    assert added == set().union(*executors_by_worker.values())
    tasks = Counter(e["Task Info"]["Executor ID"] for e in events if e["Event"] == "SparkListenerTaskEnd")
    per_worker = {w: sum(tasks[i] for i in ids) for w, ids in executors_by_worker.items()}
    print(f"application {app['id']}: tasks per worker {per_worker}")
    assert sum(tasks.values()) > 0 and set(tasks) <= added  # every task ran on a worker, none in the driver
    assert all(n > 0 for n in per_worker.values()), per_worker
    # the job sized its shuffle partitions from the application's cores (cores.max = 2, 3 per core)
    sized = {e["modifiedConfigs"].get("spark.sql.shuffle.partitions") for e in events
             if e["Event"].endswith("SparkListenerSQLExecutionStart")}
    assert sized == {"6"}, sized


def test_cluster_output_is_byte_identical_to_local(runs, lakes):
    local, clustered = lake_objects(lakes["local"]), lake_objects(lakes["cluster"])
    assert runs["local"]["validation"]["success"] and runs["local"]["rows"] > 0
    assert sorted(local) == sorted(clustered)  # data files are named by content hash: same names, same bytes
    data = [k for k in local if k.endswith(".parquet")]
    assert any("/state/" in k for k in data) and any(k.startswith("curated/candidate_signals/") for k in data)
    assert data and all(hashlib.sha256(local[k]).digest() == hashlib.sha256(clustered[k]).digest() for k in data)
    local_bucket, cluster_bucket = (lakes[n].settings.lake_bucket for n in ("local", "cluster"))
    for key in sorted(set(local) - set(data)):  # manifests and the gate result
        assert without_bucket(local[key], local_bucket) == without_bucket(clustered[key], cluster_bucket), key
    # what build_signals returned (the candidate_signals manifest) agrees too
    assert without_bucket(json.dumps(runs["local"], sort_keys=True).encode(), local_bucket) \
        == without_bucket(json.dumps(runs["cluster"], sort_keys=True).encode(), cluster_bucket)
