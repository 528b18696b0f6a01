"""Gig / freelance platform connector: page-number pagination over the platform's activity log, and the
mapping of its entries (contracts, milestones, reviews, payments) onto the contract envelope.

Pulling. `GET /api/v<version>/activity?modified_since=<ms>&modified_until=<ms>&page=<n>&per_page=<m>` answers
{"api_version", "page", "per_page", "total", "total_pages", "data": [...]}. Page-number pagination is only
safe over a window that cannot change while it is paged, so every pull is bounded on both sides by the data
interval (`modified_until` = the interval's end, always in the past for a scheduled run) and the log is
append-only: page n of such a window always holds the same entries. The connector still checks it: `total`
must stay the same on every page and the pages must add up to it; otherwise it raises PaginationDrift
before anything is committed (extract commits only after the last page), and a retry re-pulls the interval.

Mapping. The activity log holds one entry per change of an object, carrying the object's state after the
change; each entry becomes one event:

    contract  offered                       -> application.decided (decision "selected", the contract's scope)
    contract  active                        -> engagement.started
    contract  ended, end_reason completed   -> engagement.completed
    contract  ended, any other end_reason   -> engagement.cancelled (cancelled_by from the end_reason)
    milestone submitted                     -> deliverable.submitted
    milestone changes_requested | approved | rejected -> deliverable.reviewed
    review    published                     -> feedback.recorded (stars -> rubric scores 1-5)
    payment   paid                          -> payment.settled (minor units -> amount in major units)

`occurred_at` is the timestamp of that change (offered_at, started_at, ended_at, submitted_at, reviewed_at,
created_at, paid_at: epoch ms -> RFC 3339 UTC with milliseconds); `source_updated_at` is `modified_at`.
The event id is `<object>:<id>:r<revision>`: the platform bumps `revision` on every change of an object, so
the same state delivered twice (a duplicated log entry, a re-indexed object, v1 or v2) has the same id and
is de-duplicated downstream, while a new state (a milestone approved after it was submitted) has a new one.

API versions: v2 renamed `freelancer_id`/`freelancer_email` to `worker_id`/`worker_email` and every
`*_cents` field to `*_minor_units`. `envelope_mapper(settings)` maps the version HS_GIG_API_VERSION asks
for; both give the same envelope for the same entry.

Nothing is dropped or repaired here: an entry that cannot be mapped (not an object, an unknown status, a
timestamp that is not integer milliseconds, a wrong-typed amount) is handed on with the offending value in
place so the contract quarantines it with the matching reason code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Iterator

from hiring_signals.sources.http import SourceHttpClient
from hiring_signals.storage.batches import Interval

SOURCE_NAME = "gig"
API_VERSIONS = ("1", "2")
ACTIVITY_PATH = "/api/v{version}/activity"
RUBRIC_ID = "gig-client-review"
RUBRIC_VERSION = 1

# ISO 4217 minor-unit exponents that are not 2 (everything else has cents).
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
                 "XAF", "XOF", "XPF"}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}

# The platform's end reasons and who ended the contract, in the contract's vocabulary.
CANCELLED_BY = {
    "cancelled_by_client": "employer",
    "withdrawn_by_freelancer": "candidate",
    "terminated_by_platform": "platform",
}
# Client review stars -> rubric dimensions (the platform's "cooperation" stars have no rubric counterpart
# and are kept beside the scores, not mixed into them).
RUBRIC_FROM_STARS = {"quality": "quality", "communication": "communication", "timeliness": "deadlines",
                     "skill_fit": "expertise"}
_NAME = re.compile(r"[^a-z_]+")
# Every top-level field the activity log documents (v2 names); the mapping reads what it needs from them and
# leaves the rest (free text such as a review's comment included) out on purpose. A field outside this list
# is one a newer API release added: it is kept in the raw zone as source_extras until it is modelled.
_KNOWN_FIELDS_V2 = frozenset({
    "object", "id", "revision", "status", "client_id", "worker_id", "worker_email", "region", "modified_at",
    # contracts
    "title", "category", "skills", "contract_type", "currency", "budget_minor_units", "hourly_rate_minor_units",
    "weekly_hours_limit", "duration_weeks", "milestones", "proposal_id", "offered_at", "started_at",
    "planned_end_at", "ended_at", "end_reason", "end_note", "created_at",
    # milestones
    "contract_id", "sequence", "due_at", "amount_minor_units", "submission_round", "submitted_at", "reviewed_at",
    "attachment_url",
    # reviews
    "ratings", "overall", "would_hire_again", "comment",
    # payments
    "kind", "milestone_id", "hours", "paid_at",
})


def _v1_name(name: str) -> str:
    if name.startswith("worker_"):
        return "freelancer_" + name[len("worker_"):]
    if name.endswith("_minor_units"):
        return name[: -len("_minor_units")] + "_cents"
    return name


class PaginationDrift(RuntimeError):
    """The window changed while it was being paged; the pull must be repeated, not committed."""


@dataclass(frozen=True)
class Page:
    number: int  # the API's page number (1-based)
    body: bytes  # exactly as received, kept in the landing zone
    records: list


def epoch_ms(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("interval bounds must be timezone-aware")
    ts = ts.astimezone(timezone.utc)
    return int(ts.replace(microsecond=0).timestamp()) * 1000 + ts.microsecond // 1000


def ms_to_rfc3339(value: Any) -> Any:
    """Epoch milliseconds -> "YYYY-MM-DDTHH:MM:SS.mmmZ". Anything that is not an integer (or is out of range)
    comes back unchanged, so the contract reports it as wrong-typed or invalid instead of it being guessed."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    seconds, millis = divmod(value, 1000)
    try:
        moment = datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def minor_unit_exponent(currency: str) -> int:
    return 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2


def major_units(minor: Any, currency: Any) -> Any:
    """Integer minor units -> the amount in major units (12345 USD -> 123.45, 12345 JPY -> 12345.0).
    A non-integer comes back unchanged for the contract to reject."""
    if not isinstance(minor, int) or isinstance(minor, bool) or not isinstance(currency, str):
        return minor
    return float(Decimal(minor).scaleb(-minor_unit_exponent(currency)))


# --- pulling --------------------------------------------------------------------------------------------

class GigConnector:
    name = SOURCE_NAME

    def __init__(self, client: SourceHttpClient, api_version: str = "2", page_limit: int = 500):
        if api_version not in API_VERSIONS:
            raise ValueError(f"gig API version must be one of {API_VERSIONS}, got {api_version!r}")
        self.client = client
        self.api_version = api_version
        self.page_limit = page_limit
        self.path = ACTIVITY_PATH.format(version=api_version)

    def pages(self, interval: Interval) -> Iterator[Page]:
        """Every page of log entries modified within [interval.start, interval.end)."""
        params = {"modified_since": epoch_ms(interval.start), "modified_until": epoch_ms(interval.end),
                  "per_page": self.page_limit}
        where = f"{self.client.base_url}{self.path} {interval.key}"
        number, total, received = 1, None, 0
        while True:
            parsed, body = self.client.get_json(self.path, dict(params, page=number))
            records = parsed.get("data") if isinstance(parsed, dict) else None
            if not isinstance(records, list):
                raise ValueError(f"{where} page {number}: 'data' is not a list")
            page_total, total_pages = parsed.get("total"), parsed.get("total_pages")
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (page_total, total_pages)) \
                    or parsed.get("page") != number:
                raise ValueError(f"{where} page {number}: missing or invalid page/total/total_pages in the response")
            if total is None:
                total = page_total
            elif page_total != total:
                raise PaginationDrift(f"{where}: the window held {total} entries on page 1 but {page_total} on page "
                                      f"{number}; it changed while being paged, so the pull is repeated, not committed")
            received += len(records)
            yield Page(number, body, records)
            if number >= total_pages:
                break
            number += 1
        if received != total:
            raise PaginationDrift(f"{where}: the pages held {received} entries, the API reported {total}")


def make_connector(settings) -> GigConnector:
    client = SourceHttpClient(settings.gig_url, token=settings.gig_token, timeout_s=settings.http_timeout_s,
                              max_attempts=settings.http_max_attempts)
    return GigConnector(client, api_version=settings.gig_api_version, page_limit=settings.page_limit)


# --- mapping --------------------------------------------------------------------------------------------

class GigMapper:
    """Maps the entries of one API version onto the contract envelope."""

    def __init__(self, api_version: str = "2"):
        if api_version not in API_VERSIONS:
            raise ValueError(f"gig API version must be one of {API_VERSIONS}, got {api_version!r}")
        self.api_version = api_version
        person = "worker" if api_version == "2" else "freelancer"
        self.email_field = f"{person}_email"
        self.person_id_field = f"{person}_id"
        self.money_suffix = "_minor_units" if api_version == "2" else "_cents"
        self.known_fields = _KNOWN_FIELDS_V2 if api_version == "2" else frozenset(map(_v1_name, _KNOWN_FIELDS_V2))

    def _money(self, record: dict, stem: str, currency: Any) -> dict:
        """{"amount": major units, "currency"}; a missing amount stays missing for the contract to name."""
        key = stem + self.money_suffix
        money: dict[str, Any] = {"currency": currency}
        if key in record:
            money["amount"] = major_units(record[key], currency)
        return money

    def _rule(self, obj: Any, status: Any, record: dict) -> tuple[str, str] | None:
        """(event type, field holding the change's time) for a known (object, status)."""
        if obj == "contract":
            if status == "offered":
                return "application.decided", "offered_at"
            if status == "active":
                return "engagement.started", "started_at"
            if status == "ended":
                reason = record.get("end_reason")
                return ("engagement.completed" if reason == "completed" else "engagement.cancelled"), "ended_at"
        elif obj == "milestone":
            if status == "submitted":
                return "deliverable.submitted", "submitted_at"
            if status in ("changes_requested", "approved", "rejected"):
                return "deliverable.reviewed", "reviewed_at"
        elif obj == "review" and status == "published":
            return "feedback.recorded", "created_at"
        elif obj == "payment" and status == "paid":
            return "payment.settled", "paid_at"
        return None

    def _payload(self, obj: str, status: str, record: dict) -> dict:
        get = record.get
        if obj == "contract":
            if status == "offered":
                currency = get("currency")
                hourly = get("contract_type") == "hourly"
                milestones = get("milestones")
                payload = {
                    "application_id": get("proposal_id"), "decision": "selected", "title": get("title"),
                    "category": get("category"), "skills": get("skills"), "contract_type": get("contract_type"),
                    "duration_weeks": get("duration_weeks"),
                    "pay": dict(self._money(record, "hourly_rate" if hourly else "budget", currency),
                                period="hour" if hourly else "contract"),
                }
                if isinstance(milestones, list):
                    payload["deliverables"] = [
                        {"deliverable_id": m.get("id"), "title": m.get("title"), "due_at": ms_to_rfc3339(m.get("due_at"))}
                        if isinstance(m, dict) else m for m in milestones]
                return payload
            if status == "active":
                return {"planned_end_at": ms_to_rfc3339(get("planned_end_at")), "contract_type": get("contract_type")}
            reason = get("end_reason")
            if reason == "completed":
                return {"end_reason": reason}
            return {"cancelled_by": CANCELLED_BY.get(reason), "reason": get("end_note") or reason, "end_reason": reason}
        if obj == "milestone":
            if status == "submitted":
                payload = {"deliverable_id": get("id"), "due_at": ms_to_rfc3339(get("due_at")),
                           "submitted_at": ms_to_rfc3339(get("submitted_at")),
                           "submission_round": get("submission_round")}
                if get("attachment_url") is not None:
                    payload["artifact_url"] = get("attachment_url")
                return payload
            return {"deliverable_id": get("id"), "outcome": status, "review_round": get("submission_round")}
        if obj == "review":
            ratings = get("ratings")
            if isinstance(ratings, dict):
                scores: Any = {dim: ratings[stars] for dim, stars in RUBRIC_FROM_STARS.items() if stars in ratings}
                extra = {k: v for k, v in ratings.items() if k not in RUBRIC_FROM_STARS.values()}
            else:
                scores, extra = ratings, {}
            payload = {"rubric_id": RUBRIC_ID, "rubric_version": RUBRIC_VERSION, "scores": scores,
                       "would_rehire": get("would_hire_again"), "reviewer_role": "client"}
            if extra:
                payload["other_ratings"] = extra
            return payload  # the free-text comment is deliberately not carried
        # payment
        currency = get("currency")
        key = "amount" + self.money_suffix
        payload = {"payment_id": get("id"), "amount": self._money(record, "amount", currency), "kind": get("kind")}
        if isinstance(get(key), int) and not isinstance(get(key), bool):
            payload["amount_minor_units"] = get(key)
        for optional in ("milestone_id", "hours"):
            if get(optional) is not None:
                payload[optional] = get(optional)
        return payload

    def to_envelope(self, record: Any) -> Any:
        """Map one activity-log entry onto the contract envelope. Non-objects pass through untouched so the
        contract quarantines them as malformed."""
        if not isinstance(record, dict):
            return record
        obj, status = record.get("object"), record.get("status")
        rule = self._rule(obj, status, record)
        envelope: dict[str, Any] = {
            "source_updated_at": ms_to_rfc3339(record.get("modified_at")),
            "source_tenant": record.get("region"),
            "candidate_email": record.get(self.email_field),
            "employer_id": record.get("client_id"),
            "engagement_id": record.get("id") if obj == "contract" else record.get("contract_id"),
            "remote_id": record.get("id"),
        }
        extras = {k: v for k, v in record.items() if k not in self.known_fields}
        if extras:
            envelope["source_extras"] = extras  # fields a newer API release added: kept in raw, not yet modelled
        # event_id: absent parts stay absent (missing_required_field), wrong-typed ones make it null (wrong_type)
        record_id, revision = record.get("id"), record.get("revision")
        if "id" in record and "revision" in record and "object" in record:
            valid = isinstance(obj, str) and isinstance(record_id, str) and record_id \
                and isinstance(revision, int) and not isinstance(revision, bool) and revision >= 1
            envelope["event_id"] = f"{obj}:{record_id}:r{revision}" if valid else None
        if rule is not None:
            event_type, stamp = rule
            envelope["event_type"] = f"{event_type}.v1"
            if stamp in record:
                envelope["occurred_at"] = ms_to_rfc3339(record[stamp])
            envelope["payload"] = self._payload(obj, status, record)
            return envelope
        # Not in this adapter's vocabulary: named so the contract reports an unknown event type.
        if "object" in record and "status" in record:
            envelope["event_type"] = (f"gig_{_NAME.sub('_', obj.lower())}.{_NAME.sub('_', status.lower()) or 'unknown'}.v1"
                                      if isinstance(obj, str) and isinstance(status, str) and obj else None)
        if "modified_at" in record:
            envelope["occurred_at"] = envelope["source_updated_at"]
        envelope["payload"] = {"object": obj, "status": status}
        return envelope


def envelope_mapper(settings) -> Callable[[Any], Any]:
    """The mapping for the API version the settings ask for (HS_GIG_API_VERSION)."""
    return GigMapper(settings.gig_api_version).to_envelope


to_envelope = GigMapper("2").to_envelope
