"""Where everything lives in the lake: the single definition of zone paths and manifest locations.

  landing/api/source=S/ingest_date=D/batch=I/pages-*.ndjson.gz      API pages exactly as received
  landing/_manifests/api/source=S/I.json                            commit of one extraction
  raw/events/source=S/ingest_date=D/batch=I/part-*.parquet          normalised events (contract v1)
  quarantine/events/source=S/ingest_date=D/batch=I/part-*.ndjson.gz rejected records + reason codes
  raw/_manifests/events/source=S/I.json                             commit of one raw batch (+ its quarantine)
  curated/<dataset>/as_of_date=D/part-*.parquet                     Spark outputs
  curated/_manifests/<dataset>/as_of_date=D.json                    commit of one curated snapshot
  curated/state/<table>/as_of_date=D/part-*.parquet                 the signal job's entity state (incremental runs)
  curated/_manifests/state/<table>/as_of_date=D.json                commit of one state table
  curated/_manifests/state/as_of_date=D.json                        commit of the whole state (written last)
  feeds/candidate-signals/v1/as_of_date=D/part-*.ndjson.gz          the ATS feed (feeds bucket)
  feeds/candidate-signals/v1/_manifests/as_of_date=D.json, LATEST.json
  ops/validations/<suite>/<batch>.json                              Great Expectations results
  ops/state/ingest/source=S.json                                    per-source watermark, advanced after commits
S = source, D = YYYY-MM-DD, I = data interval key (20260501T000000Z_20260502T000000Z).
"""

from __future__ import annotations

from datetime import date

from hiring_signals.storage.batches import Interval
from hiring_signals.storage.lake import Lake, ObjectRef

FEED_NAME = "candidate-signals"
FEED_VERSION = "v1"


def landing_api_prefix(source: str, interval: Interval) -> str:
    return f"api/source={source}/ingest_date={interval.ingest_date.isoformat()}/batch={interval.key}"


def landing_manifest_ref(lake: Lake, source: str, interval: Interval) -> ObjectRef:
    return lake.ref("landing", f"_manifests/api/source={source}/{interval.key}.json")


def raw_events_prefix(source: str, interval: Interval) -> str:
    return f"events/source={source}/ingest_date={interval.ingest_date.isoformat()}/batch={interval.key}"


def quarantine_prefix(source: str, interval: Interval) -> str:
    return raw_events_prefix(source, interval)


def raw_manifests_prefix(source: str | None = None) -> str:
    return "_manifests/events/" + (f"source={source}/" if source else "")


def raw_manifest_ref(lake: Lake, source: str, interval: Interval) -> ObjectRef:
    return lake.ref("raw", f"{raw_manifests_prefix(source)}{interval.key}.json")


def curated_prefix(dataset: str, as_of_date: date) -> str:
    return f"{dataset}/as_of_date={as_of_date.isoformat()}"


def curated_manifests_prefix(dataset: str) -> str:
    """What every curated manifest key of `dataset` starts with, up to its as-of date (within the curated zone)."""
    return f"_manifests/{dataset}/as_of_date="


def curated_manifest_ref(lake: Lake, dataset: str, as_of_date: date) -> ObjectRef:
    return lake.ref("curated", f"{curated_manifests_prefix(dataset)}{as_of_date.isoformat()}.json")


def state_prefix(table: str, as_of_date: date) -> str:
    return f"state/{table}/as_of_date={as_of_date.isoformat()}"


def state_manifest_ref(lake: Lake, table: str, as_of_date: date) -> ObjectRef:
    return lake.ref("curated", f"_manifests/state/{table}/as_of_date={as_of_date.isoformat()}.json")


STATE_COMMITS_PREFIX = "_manifests/state/as_of_date="


def state_commit_ref(lake: Lake, as_of_date: date) -> ObjectRef:
    """The manifest whose presence means every state table of `as_of_date` is committed."""
    return lake.ref("curated", f"{STATE_COMMITS_PREFIX}{as_of_date.isoformat()}.json")


def feed_prefix(as_of_date: date) -> str:
    return f"{FEED_NAME}/{FEED_VERSION}/as_of_date={as_of_date.isoformat()}"


def feed_manifest_ref(lake: Lake, as_of_date: date) -> ObjectRef:
    return lake.ref("feeds", f"{FEED_NAME}/{FEED_VERSION}/_manifests/as_of_date={as_of_date.isoformat()}.json")


def feed_latest_ref(lake: Lake) -> ObjectRef:
    return lake.ref("feeds", f"{FEED_NAME}/{FEED_VERSION}/LATEST.json")


def validation_result_ref(lake: Lake, suite: str, batch: str) -> ObjectRef:
    return lake.ref("ops", f"validations/{suite}/{batch}.json")


def ingest_state_ref(lake: Lake, source: str) -> ObjectRef:
    return lake.ref("ops", f"state/ingest/source={source}.json")
