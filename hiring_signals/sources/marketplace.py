"""Micro-internship marketplace connector: cursor pagination over `updated_since`/`updated_until`, and the
mapping of its records onto the contract envelope.

Wire shape of one record (what the marketplace API serves):
  {"id", "type": "<event_type>.v<version>", "occurred_at", "updated_at", "tenant",
   "candidate": {"id", "email"} | null, "employer_id", "engagement_id", "data": {...}}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Iterator

from hiring_signals.sources.http import SourceHttpClient
from hiring_signals.storage.batches import Interval

SOURCE_NAME = "marketplace"
EVENTS_PATH = "/v1/events"


@dataclass(frozen=True)
class Page:
    number: int
    body: bytes  # exactly as received, kept in the landing zone
    records: list


def _rfc3339(ts) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class MarketplaceConnector:
    name = SOURCE_NAME

    def __init__(self, client: SourceHttpClient, page_limit: int = 500):
        self.client = client
        self.page_limit = page_limit

    def pages(self, interval: Interval) -> Iterator[Page]:
        """Every page of records the source changed within [interval.start, interval.end)."""
        params = {"updated_since": _rfc3339(interval.start), "updated_until": _rfc3339(interval.end),
                  "limit": self.page_limit}
        cursor, number = None, 0
        while True:
            query = dict(params, cursor=cursor) if cursor else params
            parsed, body = self.client.get_json(EVENTS_PATH, query)
            records = parsed.get("data")
            if not isinstance(records, list):
                raise ValueError(f"{self.client.base_url}{EVENTS_PATH} page {number}: 'data' is not a list")
            yield Page(number, body, records)
            number += 1
            cursor = parsed.get("next_cursor")
            if not cursor:
                return


_WIRE_FIELDS = frozenset({"id", "type", "occurred_at", "updated_at", "tenant", "candidate", "employer_id",
                          "engagement_id", "data"})


def to_envelope(record) -> dict | object:
    """Map one marketplace record onto the contract envelope. Non-objects pass through untouched so the
    contract quarantines them with the right reason instead of the adapter guessing."""
    if not isinstance(record, dict):
        return record
    candidate = record.get("candidate")
    envelope = {
        "event_id": record.get("id"),
        "event_type": record.get("type"),
        "occurred_at": record.get("occurred_at"),
        "source_updated_at": record.get("updated_at"),
        "source_tenant": record.get("tenant"),
        "candidate_email": candidate.get("email") if isinstance(candidate, dict) else None,
        "employer_id": record.get("employer_id"),
        "engagement_id": record.get("engagement_id"),
        "remote_id": record.get("id"),
        "payload": record.get("data"),
    }
    extras = {k: v for k, v in record.items() if k not in _WIRE_FIELDS}
    if extras:
        envelope["source_extras"] = extras  # fields a newer API added: kept in raw, not yet modelled
    # Absent keys stay absent so the contract reports them as missing, not as wrong-typed nulls.
    for wire, key in (("id", "event_id"), ("type", "event_type"), ("occurred_at", "occurred_at"), ("data", "payload")):
        if wire not in record:
            envelope.pop(key)
    return envelope


def make_connector(settings) -> MarketplaceConnector:
    client = SourceHttpClient(settings.marketplace_url, token=settings.marketplace_token,
                              timeout_s=settings.http_timeout_s, max_attempts=settings.http_max_attempts)
    return MarketplaceConnector(client, page_limit=settings.page_limit)
