"""Ingests contract-recruiter file drops as they land: event-driven, one raw batch per landed file.

An S3 object-created notification for s3://<lake>/landing/drops/ reaches the SQS queue HS_RECRUITER_QUEUE;
the AssetWatcher on the Asset `landing_recruiter_drops` turns it into an Asset event, and this DAG runs on
it, ingesting the files the triggering events name (several events queued while a run was busy are handled
by the next run together). Each run also takes landed files that are not ingested yet: S3 notifications can
be lost, and Airflow 3.3 can hold back Asset events that arrive in a burst until the next event
(apache/airflow#56050). Once a day (03:00 UTC), and whenever it is triggered by hand, a run is a pure sweep.

resolve_keys -> ingest (parse per agency profile, contract v1, duplicates, quarantine, GX, commit per file;
emits raw_events__recruiter with the counts) -> check_files (fails the run, after the rest was committed,
when a file could not be ingested as a whole: unknown agency, a changed export layout, a changed object).

Reruns are safe: an already ingested file is a no-op. Recruiter batches are not data intervals and do not
gate the completeness watermark; keep `recruiter` out of HS_SOURCES.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, Metadata, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from hiring_signals.airflow_triggers import SqsDropNotificationTrigger
from hs_common import DEFAULT_ARGS, LAKE, SETTINGS, raw_events_asset

DROPS_PREFIX = "landing/drops/"
RAW_RECRUITER = raw_events_asset("recruiter")

LANDED_DROPS = Asset(
    name="landing_recruiter_drops",
    uri=f"s3://{LAKE}/{DROPS_PREFIX}",
    group="landing",
    watchers=[AssetWatcher(
        name="recruiter_drops_sqs",
        trigger=SqsDropNotificationTrigger(
            queue=SETTINGS.recruiter_queue,
            region=SETTINGS.s3.region,
            endpoint_url=SETTINGS.s3.endpoint_url,
            embedded=SETTINGS.s3.embedded,
            bucket=LAKE,
            key_prefix=DROPS_PREFIX,
        ),
    )],
)


@dag(
    dag_id="hs_ingest_recruiter_drops",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 3 * * *", timezone="UTC"), assets=[LANDED_DROPS]),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # one writer of the drops' ingestion state
    default_args=DEFAULT_ARGS,
    tags=["ingest", "recruiter", "event-driven"],
    doc_md=__doc__,
)
def hs_ingest_recruiter_drops():
    @task
    def resolve_keys(triggering_asset_events=None) -> dict:
        """The landed keys the triggering events name, plus landed files not ingested yet; none named (a daily
        or manual run) means: sweep."""
        from hiring_signals import drops
        from hiring_signals.config import load_settings
        from hiring_signals.storage import Lake

        named = set()
        for events in (triggering_asset_events or {}).values():
            for event in events:
                payload = (event.extra or {}).get("payload") or {}
                named |= {o["key"] for o in payload.get("objects", [])
                          if o.get("bucket") == LAKE and o.get("key", "").startswith(DROPS_PREFIX)}
        # Airflow 3.3 can leave Asset events that arrive in a burst, or while a run is active, unconsumed until
        # the next event (apache/airflow#56050, #54659), and S3 notifications can be lost: so a run also takes
        # every landed file that is not ingested yet. Ingestion is idempotent per file, so overlap is harmless.
        pending = set(drops.pending_keys(Lake(load_settings().s3)))
        mode = "events" if named else "sweep"
        print(f"{len(named)} landed file(s) named by {sum(len(e) for e in (triggering_asset_events or {}).values())} "
              f"triggering event(s); {len(pending - named)} more landed and not ingested yet")
        return {"mode": mode, "keys": sorted(named | pending), "named": len(named), "caught_up": len(pending - named)}

    @task(outlets=[RAW_RECRUITER])
    def ingest(plan: dict):
        from hiring_signals import drops
        from hiring_signals.config import load_settings
        from hiring_signals.identity import Pseudonymiser
        from hiring_signals.storage import Lake

        settings = load_settings()
        lake = Lake(settings.s3)
        pseudonymiser = Pseudonymiser(settings.pseudonym_key())
        result = drops.ingest_drop_keys(lake, plan["keys"], pseudonymiser)
        for f in result["files"]:
            print(f"{f['status']:>16} {f['key']} {f['counts']}")
        for e in result["errors"]:
            print(f"{'FAILED':>16} {e['key']}: {e['error']}")
        totals = result["totals"]
        if not totals["ingested"] and not totals["duplicate_files"] and not result["repaired"]:
            if result["errors"]:
                return result  # nothing committed; check_files fails the run
            raise AirflowSkipException(f"nothing new to ingest ({totals['already_ingested']} file(s) already ingested)")
        yield Metadata(RAW_RECRUITER, {"source": "recruiter", "mode": plan["mode"], "named": plan["named"],
                                       "caught_up": plan["caught_up"], **totals})
        return result

    @task
    def check_files(result: dict | None = None):
        if result and result.get("errors"):
            lines = [f"{e['key']}: {e['error']}" for e in result["errors"]]
            raise AirflowFailException("drop file(s) left in landing, not ingested:\n" + "\n".join(lines))

    check_files(ingest(resolve_keys()))


hs_ingest_recruiter_drops()
