"""Hand-built raw-zone rows (one builder, shared by the Spark signal unit and state tests, the incremental job test
and the event-level warehouse test)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
ADA, BEN, CARA, DAN = ("cand_" + c * 32 for c in "abcd")


def at(day: float, hour: int = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ev(event_id: str, event_type: str, occurred: datetime, *, ingested: datetime | None = None,
       candidate: str | None = ADA, engagement: str | None = None, employer: str | None = None,
       payload: dict | None = None, source: str = "marketplace", batch: str | None = None,
       batch_format: str = "%Y%m%d", tenant: str = "tenant") -> dict:
    """One raw-zone row; by default ingested at the end of the UTC day it occurred on, in the batch named by
    `batch_format` of its ingestion time."""
    if ingested is None:
        ingested = datetime.combine(occurred.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    return {
        "event_id": event_id, "source": source, "source_tenant": tenant, "event_type": event_type,
        "event_version": 1, "occurred_at": occurred, "source_updated_at": occurred, "ingested_at": ingested,
        "candidate_ref": candidate, "employer_ref": employer, "engagement_ref": engagement, "remote_id": event_id,
        "payload": json.dumps(payload or {}, sort_keys=True), "batch_id": batch or f"{source}/{ingested:{batch_format}}",
    }
