"""Wiring shared by the DAG files: the Assets that connect the stages, and default task arguments.

Kept free of heavy imports: the DAG processor imports this on every parse.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset

from hiring_signals.config import load_settings

SETTINGS = load_settings()  # read once per parse; DAG files take what they need from here
LAKE = SETTINGS.s3.lake_bucket
FEEDS = SETTINGS.s3.feeds_bucket
SOURCES = SETTINGS.sources
# Event-driven file-drop sources: no data intervals, so they never gate an as-of date, but their batches are
# read by the signal job and new ones trigger it.
DROP_SOURCES = ("recruiter",)
INGEST_START_DATE = SETTINGS.ingest_start_date
INGEST_END_DATE = SETTINGS.ingest_end_date
INGEST_INTERVAL_DAYS = SETTINGS.ingest_interval_days


def raw_events_asset(source: str) -> Asset:
    return Asset(name=f"raw_events__{source}", uri=f"s3://{LAKE}/raw/events/source={source}/", group="raw")


CURATED_SIGNALS = Asset(name="curated_candidate_signals", uri=f"s3://{LAKE}/curated/candidate_signals/", group="curated")
# Named, not addressed: the same DAG may publish a snapshot to another target (params/env) by hand, and an
# Asset whose identity changed with that setting would be a different, inactive Asset.
WAREHOUSE_MARTS = Asset(name="warehouse_marts", group="warehouse")
SIGNAL_FEED = Asset(name="feed_candidate_signals_v1", uri=f"s3://{FEEDS}/feeds/candidate-signals/v1/", group="feeds")

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}
# Spark and dbt tasks take a free executor slot before any queued ingestion task: a backfill queues dozens of
# ingestion tasks, and without this the publications it triggers wait behind all of them (seen in the demo:
# half a publication's dbt tasks done after 29 minutes on a 4-slot executor).
PUBLISH_FIRST = {"priority_weight": 100, "weight_rule": "absolute"}


def any_of(assets: list[Asset]):
    """Schedule on an update of any one of `assets` (a plain list would wait for all of them)."""
    condition = assets[0]
    for asset in assets[1:]:
        condition = condition | asset
    return condition


def extras(triggering_asset_events, key: str) -> list[str]:
    """The distinct values of `key` among the extras of the events that triggered this run, ascending.

    Events that arrive while a run of the DAG is active queue up and trigger the next run together, so a run can
    carry several (e.g. several curated snapshots a backfill committed while the previous publication ran).
    """
    return sorted({event.extra[key] for events in triggering_asset_events.values() for event in events
                   if event.extra and event.extra.get(key)})


def latest_extra(triggering_asset_events, key: str) -> str | None:
    """The greatest value of `key` among the extras of the events that triggered this run."""
    values = extras(triggering_asset_events, key)
    return values[-1] if values else None
