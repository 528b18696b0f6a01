"""The one SparkSession builder every job (and the Spark tests) use.

Defaults are tuned for the embedded set-up (local[N] on a laptop, small data) and stay correct on a cluster:
- session time zone UTC: timestamps are instants, and dates/literals must never depend on the machine;
- UI and console progress off (nothing to look at in a batch job, and it costs start-up time);
- AQE on (coalesces shuffle partitions, handles skew on a cluster); shuffle partitions sized to the cores the
  application gets instead of Spark's fixed 200 (which on a small cluster or a laptop is mostly scheduling
  overhead for empty tasks): 2 per local core, CLUSTER_PARTITIONS_PER_CORE per cluster core (AQE coalesces
  what turns out too small, and skew splitting needs some headroom);
- Arrow on for every Python <-> JVM transfer (toArrow, createDataFrame from pandas/Arrow).
Anything passed with `spark-submit --conf` wins over these defaults, and so does spark-submit's --master.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable, TypeVar

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

K = TypeVar("K")
V = TypeVar("V")

# Independent Spark actions submitted together (state counts, the state tables' and datasets' writes).
CONCURRENT_ACTIONS = 4

_LOCAL = re.compile(r"^local(?:\[(\*|\d+)(?:,\s*\d+)?\])?$")

BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # Parquet timestamps are written and read as UTC instants; no legacy calendar rebasing.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # PySpark 4 records the Python call site of every DataFrame/Column call in the JVM for error messages, about
    # ten py4j round trips each; the signal transforms make ~1,800 such calls per candidate_signals plan, and
    # turning it off halved the time to build that plan (3.9 s -> 1.9 s). Errors still carry the JVM plan;
    # `spark-submit --conf spark.python.sql.dataFrameDebugging.enabled=true` brings the call sites back.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}

# For small inputs (the embedded demo, tests, notebooks on samples): the cost is per query, not per row, so
# skip code generation (Janino compiles every new plan) and AQE's stage-by-stage re-planning. The signal job
# switches these on by itself below HS_SPARK_SMALL_INPUT_ROWS raw rows (`small_input_mode`); both are runtime
# SQL settings that change how a plan executes, never its result. Measured on the e2e's first snapshot
# (about 1,000 events, local[2]): computing the state took 72 s with them, most of the job.
SMALL_INPUT_CONF: dict[str, str] = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
}


def run_concurrently(action: Callable[[K], V], items: Iterable[K], workers: int = CONCURRENT_ACTIONS) -> dict[K, V]:
    """`action(item)` for every item, `workers` at a time from driver threads; {item: result} in item order.

    For independent Spark actions on small and mid-sized data, where one action's cost is mostly latency (query
    planning, py4j round trips, stage scheduling, one S3 PUT per file) rather than executor time: submitted
    together, one query's planning overlaps another's tasks, and Spark's scheduler fills the cores the last tasks
    of a stage leave idle. Results do not depend on it (each action is deterministic on its own). The first
    exception is raised once every submitted action has ended."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return {item: action(item) for item in items}
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="spark-action") as pool:
        futures = {item: pool.submit(action, item) for item in items}
    return {item: future.result() for item, future in futures.items()}


@contextmanager
def small_input_mode(spark: SparkSession, raw_rows: int, threshold: int):
    """SMALL_INPUT_CONF for the duration of a job whose input has at most `threshold` rows (0: never), the
    session's own values restored afterwards; yields whether it applied."""
    if not 0 < raw_rows <= threshold:
        yield False
        return
    previous = {key: spark.conf.get(key, None) for key in SMALL_INPUT_CONF}
    for key, value in SMALL_INPUT_CONF.items():
        spark.conf.set(key, value)
    try:
        yield True
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def local_cores(master: str) -> int | None:
    """Cores of a local[...] master (None for a cluster master)."""
    match = _LOCAL.match(master.strip())
    if not match:
        return None
    cores = match.group(1)
    if cores is None:
        return 1
    if cores == "*":
        return os.cpu_count() or 1
    return int(cores)


CLUSTER_PARTITIONS_PER_CORE = 3


def cluster_cores(conf: dict[str, str], observed_parallelism: int) -> int:
    """The cores a cluster application computes with: spark.default.parallelism when set; else executor
    instances x executor cores (YARN, Kubernetes); else spark.cores.max (standalone's cap); else what the
    started context reports (the executors registered so far, at least 2)."""
    if conf.get("spark.default.parallelism"):
        return int(conf["spark.default.parallelism"])
    if conf.get("spark.executor.instances") and conf.get("spark.executor.cores"):
        return int(conf["spark.executor.instances"]) * int(conf["spark.executor.cores"])
    if conf.get("spark.cores.max"):
        return int(conf["spark.cores.max"])
    return observed_parallelism


def default_shuffle_partitions(master: str, conf: dict[str, str] | None = None,
                               observed_parallelism: int = 2) -> int:
    """2 x local cores for local runs; CLUSTER_PARTITIONS_PER_CORE x the application's cores on a cluster."""
    cores = local_cores(master)
    if cores is not None:
        return max(2, 2 * cores)
    return max(2, CLUSTER_PARTITIONS_PER_CORE * cluster_cores(conf or {}, observed_parallelism))


def s3a_conf(endpoint_url: str | None, region: str, credentials: dict | None = None) -> dict[str, str]:
    """Hadoop S3A settings for HS_SPARK_S3_IMPL=s3a (needs hadoop-aws + AWS SDK jars on the classpath).

    Not exercised by the tests (no jars in the embedded set-up); kept so a cluster that has S3A can use
    Spark's native Parquet reader on the same manifest-listed files.
    """
    conf = {
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint.region": region,
        "spark.hadoop.fs.s3a.path.style.access": "true",
    }
    if endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint_url
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(endpoint_url.startswith("https://")).lower()
    if credentials:
        conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        conf["spark.hadoop.fs.s3a.access.key"] = credentials["access_key"]
        conf["spark.hadoop.fs.s3a.secret.key"] = credentials["secret_key"]
    return conf


def _spark_submit_conf() -> dict[str, str]:
    """The configuration spark-submit was given (--master, --conf), or {} when not under spark-submit.

    Under spark-submit the JVM is already running and hands the Python driver its gateway port; attaching
    to it first lets SparkConf read spark-submit's values (JVM system properties). In a plain Python
    process (tests) there is nothing to respect, and a gateway launched here would only report
    pyspark-shell defaults (local[*], console progress), so none is started early.
    """
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return {}
    SparkContext._ensure_initialized()
    return dict(SparkConf().getAll())


def memoize_jvm_function_lookup() -> bool:
    """Make PySpark look up each `pyspark.sql.functions` JVM method once per gateway instead of on every call.

    Classic PySpark resolves `F.col`, `F.when`, ... on every call with two reflective py4j round trips (the class
    `org.apache.spark.sql.functions`, then the method) before the round trip that calls it. Building the
    candidate_signals plan makes about 1,850 such calls, 5,500 of its 10,000 round trips (~0.45 ms each); two
    thirds of those were the look-ups. The JVM method a name resolves to never changes while the gateway lives, so the looked-up
    handle is kept, per gateway. Plans and results are unchanged; returns False (and changes nothing) on a PySpark
    whose internals differ from 4.x's."""
    from pyspark.sql.functions import builtin

    original = getattr(builtin, "_get_jvm_function", None)
    if original is None or getattr(original, "memoized", False):
        return original is not None
    # id(JVM view) -> (the view, kept alive so its id is never reused for another gateway; name -> handle)
    per_gateway: dict[int, tuple[object, dict[str, object]]] = {}

    def get_jvm_function(name: str, sc):
        handles = per_gateway.setdefault(id(sc._jvm), (sc._jvm, {}))[1]
        handle = handles.get(name)
        if handle is None:
            handle = handles[name] = original(name, sc)
        return handle

    get_jvm_function.memoized = True
    get_jvm_function.original = original
    builtin._get_jvm_function = get_jvm_function
    return True


def build_session(app_name: str, master: str, *, shuffle_partitions: int | None = None,
                  extra_conf: dict[str, str] | None = None) -> SparkSession:
    """A SparkSession with the project defaults; settings already on the SparkConf (spark-submit) win."""
    submitted = _spark_submit_conf()
    effective_master = submitted.get("spark.master", master)
    conf = {**BASE_CONF, **(extra_conf or {})}
    if shuffle_partitions:
        conf["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    elif local_cores(effective_master) is not None:
        conf["spark.sql.shuffle.partitions"] = str(default_shuffle_partitions(effective_master))
    builder = SparkSession.builder
    if "spark.app.name" not in submitted:
        builder = builder.appName(app_name)
    if "spark.master" not in submitted:
        builder = builder.master(master)
    for key, value in conf.items():
        if key not in submitted:
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    memoize_jvm_function_lookup()
    if "spark.sql.shuffle.partitions" not in conf and "spark.sql.shuffle.partitions" not in submitted:
        # a cluster's size is known once the context is up (its conf, or the executors it registered)
        started = dict(spark.sparkContext.getConf().getAll())
        spark.conf.set("spark.sql.shuffle.partitions", str(default_shuffle_partitions(
            effective_master, started, spark.sparkContext.defaultParallelism)))
    return spark


def driver_conf(settings) -> dict[str, str]:
    """The driver's sizing from the settings (HS_SPARK_DRIVER_MEMORY, HS_SPARK_DRIVER_MAX_RESULT_SIZE; empty ones
    are left to spark-defaults.conf). pipeline.build_signals passes these to spark-submit as --conf, because the
    driver's heap is fixed when its JVM starts; session_for sets them for an in-process session (tests), where
    they take effect only if this process has not started a JVM yet."""
    conf = {"spark.driver.memory": settings.spark_driver_memory,
            "spark.driver.maxResultSize": settings.spark_driver_max_result_size}
    return {key: value for key, value in conf.items() if value}


def session_for(settings, app_name: str) -> SparkSession:
    """The job session from the project settings (hiring_signals.config.Settings)."""
    extra: dict[str, str] = driver_conf(settings)
    if settings.spark_s3_impl == "s3a":
        fs = settings.s3.arrow_fs_kwargs()
        credentials = {"access_key": fs["access_key"], "secret_key": fs["secret_key"]} if "access_key" in fs else None
        extra.update(s3a_conf(settings.s3.endpoint_url, settings.s3.region, credentials))
    return build_session(app_name, settings.spark_master, extra_conf=extra)
