"""The project's SparkSession builder: shuffle-partition sizing (pure functions) and small-input mode."""

from __future__ import annotations

from datetime import date

import pytest

from spark_jobs.session import CLUSTER_PARTITIONS_PER_CORE, cluster_cores, default_shuffle_partitions, run_concurrently


def test_local_masters_get_two_partitions_per_core():
    assert default_shuffle_partitions("local[4]") == 8
    assert default_shuffle_partitions("local") == 2
    assert default_shuffle_partitions("local[2, 3]") == 4  # local[N, maxFailures]


def test_cluster_size_comes_from_the_most_explicit_setting():
    assert cluster_cores({"spark.default.parallelism": "12", "spark.cores.max": "4"}, 2) == 12
    assert cluster_cores({"spark.executor.instances": "5", "spark.executor.cores": "4", "spark.cores.max": "8"}, 2) == 20
    assert cluster_cores({"spark.executor.instances": "5"}, 7) == 7  # cores per executor unknown: observed
    assert cluster_cores({"spark.cores.max": "2"}, 16) == 2  # standalone cap
    assert cluster_cores({}, 16) == 16


def test_independent_actions_run_together_and_come_back_in_item_order():
    import threading

    both_started = threading.Barrier(2, timeout=10)  # breaks (and fails the test) unless two run at once

    def action(item):
        if item in ("b", "c"):
            both_started.wait()
        return item.upper()

    results = run_concurrently(action, ["c", "a", "b"], workers=2)
    assert list(results.items()) == [("c", "C"), ("a", "A"), ("b", "B")]
    assert run_concurrently(action, ["a"], workers=1) == {"a": "A"}


def test_a_failed_action_is_raised_after_the_others_ended():
    import threading
    import time

    ended = []
    lock = threading.Lock()

    def action(item):
        if item == 0:
            raise ValueError("action 0 failed")
        time.sleep(0.05)
        with lock:
            ended.append(item)

    with pytest.raises(ValueError, match="action 0 failed"):
        run_concurrently(action, range(5), workers=3)
    assert sorted(ended) == [1, 2, 3, 4]


def test_cluster_masters_get_partitions_per_core_not_a_fixed_200():
    assert default_shuffle_partitions("spark://m:7077", {"spark.cores.max": "2"}) == 2 * CLUSTER_PARTITIONS_PER_CORE
    assert default_shuffle_partitions("yarn", {"spark.executor.instances": "50", "spark.executor.cores": "4"}) == \
        200 * CLUSTER_PARTITIONS_PER_CORE
    assert default_shuffle_partitions("k8s://https://api:443", {}, observed_parallelism=1) == 3


@pytest.mark.spark
def test_small_input_mode_applies_up_to_the_threshold_and_restores_the_session(spark):
    from spark_jobs.session import SMALL_INPUT_CONF, small_input_mode

    before = {key: spark.conf.get(key, None) for key in SMALL_INPUT_CONF}
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    spark.conf.set("spark.sql.codegen.wholeStage", "true")
    try:
        with small_input_mode(spark, 100, 100) as small:
            assert small
            assert {key: spark.conf.get(key) for key in SMALL_INPUT_CONF} == SMALL_INPUT_CONF
        assert (spark.conf.get("spark.sql.adaptive.enabled"), spark.conf.get("spark.sql.codegen.wholeStage")) \
            == ("true", "true")
        for rows, threshold in ((101, 100), (0, 100), (10, 0)):  # too many rows, no input, mode off
            with small_input_mode(spark, rows, threshold) as small:
                assert not small
                assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    finally:
        for key, value in before.items():
            spark.conf.set(key, value) if value is not None else spark.conf.unset(key)


@pytest.mark.parametrize("raw_rows, small", [(468, True), (250_001, False)])
def test_the_job_runs_small_inputs_in_small_input_mode(spark, monkeypatch, raw_rows, small):
    """job.run decides from the planned raw rows (HS_SPARK_SMALL_INPUT_ROWS, default 250,000) and computes,
    gates and commits inside the mode; the session's values are back afterwards."""
    from hiring_signals.config import load_settings
    from spark_jobs.candidate_signals import job
    from spark_jobs.session import SMALL_INPUT_CONF

    settings = load_settings({"HS_HOME": "/nonexistent-hs-home", "HS_S3_ENDPOINT_URL": "http://127.0.0.1:9",
                              "HS_PSEUDONYM_KEY": "k" * 40})
    inputs = job.RawInputs(objects=[], batches=[{"batch_id": "marketplace/20260601", "source": "marketplace",
                                                 "interval": None, "files": 1, "rows": raw_rows}],
                           sources={"marketplace": {"batches": 1, "complete": True}})
    monkeypatch.setattr(job, "plan_raw_inputs", lambda lake, sources, as_of_end: inputs)
    monkeypatch.setattr(job, "choose_computation", lambda *args: job.Computation("full", "requested"))
    seen = {}

    def compute(spark_, *args):
        seen.update({key: spark_.conf.get(key) for key in SMALL_INPUT_CONF})
        seen["small"] = args[-1]  # the gate validates on the driver (GX pandas) only in small-input mode
        return 0

    monkeypatch.setattr(job, "_compute_gate_and_commit", compute)
    before = {key: spark.conf.get(key, None) for key in SMALL_INPUT_CONF}
    spark.conf.set("spark.sql.adaptive.enabled", "true")
    spark.conf.set("spark.sql.codegen.wholeStage", "true")
    try:
        assert job.run(spark, settings, date(2026, 6, 1)) == 0
        assert seen.pop("small") is small
        if small:
            assert seen == SMALL_INPUT_CONF
        else:
            assert (seen["spark.sql.adaptive.enabled"], seen["spark.sql.codegen.wholeStage"]) == ("true", "true")
        assert (spark.conf.get("spark.sql.adaptive.enabled"), spark.conf.get("spark.sql.codegen.wholeStage")) \
            == ("true", "true")
    finally:
        for key, value in before.items():
            spark.conf.set(key, value) if value is not None else spark.conf.unset(key)


def test_jvm_function_handles_are_looked_up_once(spark, monkeypatch):
    """F.* calls cost one py4j round trip each once their JVM method is known, and build the same columns."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import builtin

    memoized = builtin._get_jvm_function
    assert getattr(memoized, "memoized", False), "build_session memoizes the look-up"
    client = spark.sparkContext._gateway._gateway_client
    sent = []
    send = client.send_command

    def counting(command, *args, **kwargs):
        if not command.startswith("m\n"):  # not py4j's releases of garbage-collected Java objects
            sent.append(command)
        return send(command, *args, **kwargs)

    def build():
        return [F.upper(F.col(f"c{i}")) for i in range(10)]

    monkeypatch.setattr(client, "send_command", counting)
    build()  # the first calls look the handles up
    sent.clear()
    with_memo = build()
    memo_trips = len(sent)
    monkeypatch.setattr(builtin, "_get_jvm_function", memoized.original)
    sent.clear()
    without = build()
    trips = len(sent)
    assert [str(c) for c in with_memo] == [str(c) for c in without] == [f"Column<'upper(c{i})'>" for i in range(10)]
    # 20 function calls: one round trip each with the handle kept, three (class, method, call) without
    assert (memo_trips, trips) == (20, 60)
