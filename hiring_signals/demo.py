"""`make demo`: the whole pipeline on embedded defaults, run by a real Airflow scheduler.

Starts moto_server (S3), the marketplace and gig platform simulators and Airflow (API server, scheduler, DAG
processor, triggerer), backfills the API ingestion DAGs over the simulators' history, lets the Asset-triggered Spark and warehouse DAGs
follow on their own, then prints what happened and where to look next.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlparse

from hiring_signals.airflow_local import LocalAirflow
from hiring_signals.config import Settings, load_settings
from hiring_signals.contract.curated_schema import SIGNALS
from hiring_signals.embedded import port_is_open, start_moto, start_simulator, stop_pid_files
from hiring_signals.drops import pending_keys as pending_drops, reconcile as reconcile_drops
from hiring_signals.simulators.recruiter_drops import replay as replay_recruiter_drops
from hiring_signals.storage import Lake, read_manifests
from hiring_signals.storage import layout
from hiring_signals.storage.notifications import ensure_drop_notifications

API_SOURCES = ["marketplace", "gig"]
INGEST_DAGS = [f"hs_ingest_{source}" for source in API_SOURCES]
DAG_IDS = [*INGEST_DAGS, "hs_ingest_recruiter_drops", "hs_build_signals", "hs_publish_warehouse"]
MARTS = ["dim_candidates", "fct_engagements", "candidate_signal_feed", "fct_candidate_signals_daily"]


@dataclass(frozen=True)
class DemoScenario:
    seed: int = 7
    candidates: int = 3000
    employers: int = 300
    start: date = date(2026, 5, 1)
    end: date = date(2026, 10, 30)  # exclusive: 182 days = 26 weekly runs, the last ingested day is end - 1
    interval_days: int = 7  # one batch per day still; weekly runs cut Airflow overhead on 2 cores
    malformed_rate: float = 0.005
    backfill_parallelism: int = 2  # one run per API source at a time: two cores also run Spark, dbt and the drops


def _port(url: str) -> int:
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost"}:
        raise SystemExit(f"the demo starts its own services on loopback; {url} is not a loopback URL")
    return parsed.port


def demo_env(scenario: DemoScenario) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("HS_")}
    env.setdefault("HS_INGEST_START_DATE", scenario.start.isoformat())
    env.setdefault("HS_INGEST_END_DATE", scenario.end.isoformat())
    env.setdefault("HS_INGEST_INTERVAL_DAYS", str(scenario.interval_days))
    env.setdefault("HS_SOURCES", ",".join(API_SOURCES))
    return env


def stop(settings: Settings | None = None) -> list[str]:
    settings = settings or load_settings()
    return stop_pid_files(settings.home / "run")


def run(scenario: DemoScenario = DemoScenario(), timeout_s: float = 3600) -> int:
    env = demo_env(scenario)
    settings = load_settings({**os.environ, **env})
    settings.pseudonym_key()  # fail now, not inside a task, when no key is configured
    run_dir, log_dir = settings.home / "run", settings.home / "logs"
    stopped = stop(settings)
    if stopped:
        print(f"stopped the previous demo's services: {', '.join(stopped)}")
    # A demo starts from nothing: fresh Airflow metadata, fresh warehouse, fresh (in-memory) lake.
    shutil.rmtree(settings.airflow_home, ignore_errors=True)
    if settings.warehouse.target == "duckdb":
        settings.warehouse.duckdb_path.unlink(missing_ok=True)
    shutil.rmtree(log_dir, ignore_errors=True)

    s3_port, sim_port, gig_port = (_port(settings.s3.endpoint_url or ""), _port(settings.marketplace_url),
                                   _port(settings.gig_url))
    for name, port in (("S3 endpoint", s3_port), ("marketplace simulator", sim_port), ("gig simulator", gig_port),
                       ("Airflow API", settings.airflow_api_port)):
        if port_is_open("127.0.0.1", port):
            raise SystemExit(f"port {port} for the {name} is taken by another program; set the HS_* URL/port to a free one")

    started = time.monotonic()
    print(f"starting moto_server (S3) on {settings.s3.endpoint_url}")
    start_moto(s3_port, log_dir, pid_dir=run_dir)
    Lake(settings.s3).ensure_buckets()
    ensure_drop_notifications(settings)  # landing/drops/ object-created -> SQS, watched by hs_ingest_recruiter_drops
    for kind, url, port in (("marketplace", settings.marketplace_url, sim_port), ("gig", settings.gig_url, gig_port)):
        print(f"starting the {kind} simulator on {url} (seed {scenario.seed}, {scenario.candidates} candidates, "
              f"{scenario.employers} employers, {scenario.start} .. {scenario.end}; the same people in every source)")
        start_simulator(kind, port, log_dir, seed=scenario.seed, candidates=scenario.candidates,
                        employers=scenario.employers, start=scenario.start.isoformat(), end=scenario.end.isoformat(),
                        pid_dir=run_dir, extra_args=["--malformed-rate", str(scenario.malformed_rate)])
    airflow = LocalAirflow(settings, env, settings.airflow_api_port, log_dir, pid_dir=run_dir)
    print(f"starting Airflow (metadata DB: {settings.airflow_db_conn})")
    airflow.init_db()
    airflow.start(scheduler=False)  # started once the backfills exist (LocalAirflow.start_scheduler says why)
    airflow.wait_for_dags(DAG_IDS)
    dropped = replay_recruiter_drops(settings, seed=scenario.seed, candidates=scenario.candidates,
                                     employers=scenario.employers, start=scenario.start, end=scenario.end)
    print(f"dropped {len(dropped.files)} recruiter agency files into s3://{settings.s3.lake_bucket}/landing/drops/ "
          "(S3 notifies SQS; the AssetWatcher triggers hs_ingest_recruiter_drops)")
    last_day = scenario.end - timedelta(days=1)
    runs = -(-(scenario.end - scenario.start).days // scenario.interval_days)
    for dag_id in INGEST_DAGS:
        airflow.backfill(dag_id, f"{scenario.start}T00:00:00Z",
                         f"{scenario.end - timedelta(days=scenario.interval_days)}T00:00:00Z",
                         max_active_runs=scenario.backfill_parallelism // len(INGEST_DAGS) or 1)
    print(f"backfilling {', '.join(INGEST_DAGS)}: {runs} runs of {scenario.interval_days} days each, one batch per "
          "day; Spark and dbt follow on Asset events")
    airflow.start_scheduler()
    try:
        wait_for_chain(airflow, settings, runs, last_day, timeout_s)
    except BaseException:
        print(f"\nlogs: {log_dir} and {settings.airflow_home / 'logs'}")
        raise
    finally:
        # Keep S3 and the Airflow UI up for a look around; stop what would keep scheduling.
        for proc in airflow.processes[1:]:
            proc.stop()
    print_summary(settings, airflow, last_day, time.monotonic() - started)
    return 0


def wait_for_chain(airflow: LocalAirflow, settings: Settings, runs_expected: int, last_day: date, timeout_s: float) -> None:
    lake = Lake(settings.s3)
    deadline = time.monotonic() + timeout_s
    last_line = ""
    while time.monotonic() < deadline:
        airflow.ensure_scheduler_alive()
        runs = {d: airflow.dag_runs(d) for d in DAG_IDS}
        failed = airflow.failed_tasks(DAG_IDS) if any(r["state"] == "failed" for rs in runs.values() for r in rs) else []
        if failed:
            raise SystemExit("the pipeline failed in: " + "; ".join(failed))
        ingested = min(sum(r["state"] == "success" for r in runs[d]) for d in INGEST_DAGS)
        latest = lake.get_json(layout.feed_latest_ref(lake))["as_of_date"] if lake.exists(layout.feed_latest_ref(lake)) else "-"
        active = sum(r["state"] not in {"success", "failed"} for rs in runs.values() for r in rs)
        line = (f"  ingest runs {ingested}/{runs_expected} | spark runs {len(runs['hs_build_signals'])} | "
                f"warehouse runs {len(runs['hs_publish_warehouse'])} | feed as of {latest}")
        if line != last_line:
            print(line, flush=True)
            last_line = line
        if ingested >= runs_expected and latest == last_day.isoformat() and active == 0 \
                and not pending_drops(lake):
            return
        time.sleep(5)
    raise SystemExit(f"the pipeline did not finish within {timeout_s:.0f}s")


def _last_dbt_build(airflow: LocalAirflow) -> str:
    """What the last successful publication did: dbt ran one cosmos `dbt build` task per model/seed (the node and
    its tests), one task for the tests spanning models, then the GX marts gate; the gate task's return value
    summarises it."""
    runs = [r for r in airflow.dag_runs("hs_publish_warehouse") if r["state"] == "success"]
    if not runs:
        return "no successful publication"
    run_id = runs[-1]["dag_run_id"]
    tasks = airflow.get(f"/dags/hs_publish_warehouse/dagRuns/{run_id}/taskInstances?limit=1000")
    dbt_tasks = [t for t in tasks.get("task_instances", []) if "." in t["task_id"]]
    ok = sum(1 for t in dbt_tasks if t["state"] == "success")
    gate = airflow.get(f"/dags/hs_publish_warehouse/dagRuns/{run_id}/taskInstances/gate_marts/"
                       "xcomEntries/return_value")["value"]
    gate = gate if isinstance(gate, dict) else {}
    return (f"{ok}/{len(dbt_tasks)} dbt tasks (cosmos: a build per model/seed, then the cross-model tests) succeeded; "
            f"GX marts gate {'passed' if gate.get('success', True) else 'FAILED'} "
            f"({gate.get('evaluated', '?')} expectations)")


def print_summary(settings: Settings, airflow: LocalAirflow, last_day: date, wall_s: float) -> None:
    from hiring_signals.warehouse.loader import query

    lake = Lake(settings.s3)
    schema = settings.warehouse.schema
    print(f"\n=== hiring-signals demo: done in {wall_s / 60:.1f} min ===\n")
    print("Ingestion (raw zone manifests; received = accepted + duplicates + quarantined):")
    for source in settings.sources:
        manifests = read_manifests(lake, "raw", layout.raw_manifests_prefix(source))
        totals = {k: sum(m["counts"][k] for m in manifests) for k in ("received", "accepted", "duplicates", "quarantined")}
        reasons: dict[str, int] = {}
        for m in manifests:
            for reason, n in m["quarantine_reasons"].items():
                reasons[reason] = reasons.get(reason, 0) + n
        passed = sum(m["validation"]["success"] for m in manifests)
        late = sum(m.get("late_events", 0) for m in manifests)
        print(f"  {source:12s} batches {len(manifests):4d}  received {totals['received']:7d}  accepted {totals['accepted']:7d}"
              f"  duplicates {totals['duplicates']:5d}  quarantined {totals['quarantined']:5d}"
              f"  reconciles: {totals['received'] == totals['accepted'] + totals['duplicates'] + totals['quarantined']}")
        if reasons:
            print("    quarantine reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
        print(f"    late arrivals (occurred before their batch's day): {late}; "
              f"GX raw_events gate: {passed}/{len(manifests)} batches passed")
    recruiter = reconcile_drops(lake)
    print(f"  {'recruiter':12s} files   {recruiter['files']:4d}  received {recruiter['received']:7d}  accepted "
          f"{recruiter['accepted']:7d}  duplicates {recruiter['duplicates']:5d}  quarantined {recruiter['quarantined']:5d}"
          f"  not ingested yet: {recruiter['pending']}  (event-driven file drops; reasons: "
          f"{', '.join(f'{k} {v}' for k, v in recruiter['quarantine_reasons'].items()) or 'none'})")
    curated = lake.get_json(layout.curated_manifest_ref(lake, "candidate_signals", last_day))
    validation = curated.get("validation", {})
    rows = curated["snapshot_rows"]
    print(f"\nSpark signals as of {last_day}: {rows['candidates']} candidates scored, {rows['candidate_signals']} signal "
          f"rows, {rows['engagements']} engagements, from {curated['inputs']['rows']} raw events in "
          f"{len(curated['inputs']['batches'])} batches")
    for source, events in curated["inputs"].get("events", {}).items():
        print(f"  {source:12s} raw rows {events['raw_rows']:7d} = distinct events {events['distinct_events']:7d}"
              f" + redeliveries across days dropped {events['redeliveries_dropped']:5d}")
    print(f"  GX candidate_signals gate: {'passed' if validation.get('success') else 'FAILED'} "
          f"({validation.get('evaluated', '?')} expectations)")
    print(f"\nWarehouse ({settings.warehouse.target}, schema {schema}): {_last_dbt_build(airflow)}")
    for mart in MARTS:
        (count,) = query(settings.warehouse, f"select count(*) from {schema}.{mart}")[0]
        print(f"  {mart:30s} {count:8d} rows")
    feed = lake.get_json(layout.feed_manifest_ref(lake, last_day))
    print(f"\nFeed: {feed['records']} candidates in s3://{settings.s3.feeds_bucket}/"
          f"{layout.feed_prefix(last_day)}/ (manifest {layout.feed_manifest_ref(lake, last_day).key})")
    signals = ", ".join(s.name for s in SIGNALS[:3])
    example = (f"select candidate_ref, {signals}, on_time_delivery_rate, on_time_delivery_rate_evidence "
               f"from {schema}.candidate_signal_feed where on_time_delivery_rate_evidence >= 3 "
               f"order by on_time_delivery_rate desc, mean_rubric_score desc nulls last limit 5")
    print("\nWhere to look next:")
    print(f"  SQL:      .venv/bin/hs sql \"{example}\"")
    print(f"  Airflow:  http://127.0.0.1:{settings.airflow_api_port} (runs and logs; the scheduler is stopped)")
    print(f"  S3:       endpoint {settings.s3.endpoint_url}, buckets {settings.s3.lake_bucket}, {settings.s3.feeds_bucket}")
    print("  Stop:     make stop")
