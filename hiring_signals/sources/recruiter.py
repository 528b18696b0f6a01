"""Contract-recruiter file drops: one profile per agency, mapping its export onto the contract envelope.

Agencies drop CSV or NDJSON exports of their placement pipelines (submittals, client interviews, offers,
starts, fall-offs) into `landing/drops/agency=<id>/`. Each agency has its own column names, encoding,
delimiter, status vocabulary and date convention; an `AgencyProfile` declares them, and `parse_drop_file()`
turns one file into one `ParsedRow` per data row, each holding either a contract envelope (still carrying
the candidate's email: the contract pseudonymises it) or a `Rejection` with a reason code.

What is decided here and what is left to the contract:
  * the file layout: an agency we have no profile for (`UnknownAgency`) or a header that lacks a column the
    profile needs (`DropFileError`) is a configuration / contract problem of the whole file, so it fails
    loudly instead of quarantining every row;
  * a row cut off by a truncated upload -> `truncated_row`; a row whose field count does not match the
    header, or a line that is not a JSON object -> `malformed_record`; bytes not valid in the declared
    encoding -> `invalid_encoding`; a date that does not parse in the agency's convention ->
    `invalid_timestamp`; a status the profile does not know -> `unknown_event_type`;
  * everything else (missing email, a non-integer guarantee period, ...) is passed through as read, so the
    contract quarantines it with its own reason codes instead of the adapter guessing.

Event ids are deterministic: `<agency>:<the agency's own placement/row id>:<status>` (plus the interview
round for interviews), so the same row delivered in two files - a file dropped twice, or a complete re-send
of a truncated file - is recognised as a duplicate.

Names are read (they are in every agency export) but never leave this module: envelopes carry the email
only, which the contract replaces by the keyed `candidate_ref`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import orjson

from hiring_signals.contract.normalise import Reason, Rejection

SOURCE_NAME = "recruiter"
STATUSES = ("submitted", "interviewed", "offered", "started", "fell_off")

# Canonical fields an agency export is mapped onto. `required` ones must be present in a CSV header.
FIELDS = (
    "placement_id",  # the agency's own id of the placement pipeline row (one candidate x one client job)
    "status",
    "status_at",
    "email",
    "first_name",  # read, never forwarded
    "last_name",  # read, never forwarded
    "full_name",  # read, never forwarded
    "client_id",
    "client",
    "job_id",
    "job_title",
    "recruiter",
    "interview_round",
    "guarantee_days",
    "fell_off_reason",
    "days_after_start",
)
REQUIRED_FIELDS = ("placement_id", "status", "status_at", "email", "client")
NAME_FIELDS = ("first_name", "last_name", "full_name")


class UnknownAgency(ValueError):
    """A drop arrived for an agency without a profile: add one to AGENCIES before ingesting its files."""

    def __init__(self, agency: str):
        self.agency = agency
        super().__init__(f"no recruiter agency profile for {agency!r} (known: {sorted(AGENCIES)}); add an "
                         "AgencyProfile to hiring_signals.sources.recruiter.AGENCIES before ingesting its drops")


class DropFileError(ValueError):
    """The file as a whole does not match its agency's profile (e.g. a renamed column): fix the profile."""


@dataclass(frozen=True)
class TimestampFormat:
    """How an agency writes the time a status changed.

    kind: 'iso8601'      RFC 3339 / ISO 8601 with an explicit UTC offset (naive values are rejected)
          'local'        `pattern` (strptime) in the wall-clock time of `timezone` (IANA name)
          'epoch_seconds' integer seconds since 1970-01-01 UTC
    """

    kind: str
    pattern: str | None = None
    timezone: str | None = None

    def __post_init__(self):
        if self.kind not in {"iso8601", "local", "epoch_seconds"}:
            raise ValueError(f"unknown timestamp kind {self.kind!r}")
        if self.kind == "local" and not (self.pattern and self.timezone):
            raise ValueError("a 'local' timestamp format needs a strptime pattern and an IANA timezone")

    def parse(self, value: Any) -> datetime:
        """The instant in UTC; ValueError when the value does not follow the format."""
        if self.kind == "epoch_seconds":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError(f"expected epoch seconds, got {value!r}")
            if isinstance(value, str) and not re.fullmatch(r"\s*\d{9,11}\s*", value):
                raise ValueError(f"expected epoch seconds, got {value!r}")
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"expected a timestamp string, got {value!r}")
        if self.kind == "iso8601":
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                raise ValueError(f"timestamp without a UTC offset: {value!r}")
            return parsed.astimezone(timezone.utc)
        zone = ZoneInfo(self.timezone)
        naive = datetime.strptime(value.strip(), self.pattern)
        local = naive.replace(tzinfo=zone)  # fold=0: an ambiguous wall time is read as its first occurrence
        # A wall-clock time inside a DST gap never existed; zoneinfo would silently shift it.
        if local.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
            raise ValueError(f"{value!r} does not exist in {self.timezone} (daylight-saving gap)")
        return local.astimezone(timezone.utc)


@dataclass(frozen=True)
class AgencyProfile:
    """One agency's export convention. `columns` maps canonical FIELDS to the agency's column names (CSV)
    or dotted key paths (NDJSON); `statuses` maps the agency's status values onto STATUSES."""

    agency: str  # id in landing keys (agency=<id>) and the events' source_tenant
    display_name: str
    format: str  # 'csv' | 'ndjson'
    encoding: str  # Python codec name; 'utf-8-sig' strips a byte-order mark
    columns: dict[str, str]
    statuses: dict[str, str]
    timestamp: TimestampFormat
    delimiter: str = ","
    # The agency's exporter ends every row with a line break, so a final row without one was cut off.
    rows_terminated: bool = True
    file_extension: str = "csv"
    content_type: str = "text/csv"
    status_case_sensitive: bool = False
    _status_lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.format not in {"csv", "ndjson"}:
            raise ValueError(f"{self.agency}: format must be 'csv' or 'ndjson'")
        unknown = set(self.columns) - set(FIELDS)
        if unknown:
            raise ValueError(f"{self.agency}: unknown canonical field(s) {sorted(unknown)}")
        missing = set(REQUIRED_FIELDS) - set(self.columns)
        if missing:
            raise ValueError(f"{self.agency}: profile maps no column for {sorted(missing)}")
        bad = set(self.statuses.values()) - set(STATUSES)
        if bad:
            raise ValueError(f"{self.agency}: statuses map onto unknown status(es) {sorted(bad)}")
        lookup = {(k if self.status_case_sensitive else k.casefold()): v for k, v in self.statuses.items()}
        object.__setattr__(self, "_status_lookup", lookup)

    def status_for(self, value: str) -> str | None:
        key = value.strip() if self.status_case_sensitive else value.strip().casefold()
        return self._status_lookup.get(key)


AGENCIES: dict[str, AgencyProfile] = {
    p.agency: p
    for p in (
        # US agency: UTF-8 with a byte-order mark (Excel's "CSV UTF-8"), comma, ISO 8601 with offsets.
        AgencyProfile(
            agency="northstar-talent",
            display_name="Northstar Talent Partners",
            format="csv",
            encoding="utf-8-sig",
            delimiter=",",
            columns={
                "placement_id": "submission_id", "status": "status", "status_at": "status_changed_at",
                "email": "candidate_email", "first_name": "candidate_first_name",
                "last_name": "candidate_last_name", "client_id": "client_id", "client": "client_name",
                "job_id": "job_req_id", "job_title": "job_title", "recruiter": "recruiter",
                "interview_round": "interview_round", "guarantee_days": "guarantee_days",
                "fell_off_reason": "fall_off_reason", "days_after_start": "days_after_start",
            },
            statuses={"SUBMITTED": "submitted", "INTERVIEW": "interviewed", "OFFER": "offered",
                      "PLACED": "started", "FALLOFF": "fell_off"},
            timestamp=TimestampFormat("iso8601"),
            content_type="text/csv; charset=utf-8",
        ),
        # French agency: Windows-1252 (Excel's default on a French Windows), semicolon, dd/mm/yyyy HH:MM
        # in Paris wall-clock time, French column names and statuses.
        AgencyProfile(
            agency="lumiere-recrutement",
            display_name="Lumière Recrutement",
            format="csv",
            encoding="cp1252",
            delimiter=";",
            columns={
                "placement_id": "Réf. dossier", "last_name": "Nom", "first_name": "Prénom", "email": "E-mail",
                "status": "Étape", "status_at": "Date étape", "client": "Client", "job_title": "Poste",
                "recruiter": "Chargé(e) de recrutement", "interview_round": "Entretien n°",
                "guarantee_days": "Garantie (jours)", "fell_off_reason": "Motif de rupture",
                "days_after_start": "Jours après prise de poste",
            },
            statuses={"Présentation": "submitted", "Entretien": "interviewed", "Offre": "offered",
                      "Prise de poste": "started", "Rupture": "fell_off"},
            timestamp=TimestampFormat("local", pattern="%d/%m/%Y %H:%M", timezone="Europe/Paris"),
            content_type="text/csv; charset=windows-1252",
        ),
        # Staffing platform: NDJSON with nested keys of its own and epoch seconds.
        AgencyProfile(
            agency="beacon-staffing",
            display_name="Beacon Staffing",
            format="ndjson",
            encoding="utf-8",
            columns={
                "placement_id": "pipeline_id", "status": "stage", "status_at": "stage_ts",
                "email": "talent.email", "full_name": "talent.name", "client_id": "account.id",
                "client": "account.name", "job_id": "requisition.id", "job_title": "requisition.title",
                "recruiter": "consultant", "interview_round": "interview_round",
                "guarantee_days": "guarantee_period_days", "fell_off_reason": "fall_off.reason",
                "days_after_start": "fall_off.days_in_role",
            },
            statuses={"submitted": "submitted", "client_interview": "interviewed", "offer_extended": "offered",
                      "hired": "started", "fell_through": "fell_off"},
            timestamp=TimestampFormat("epoch_seconds"),
            file_extension="ndjson",
            content_type="application/x-ndjson",
        ),
    )
}


def profile(agency: str) -> AgencyProfile:
    try:
        return AGENCIES[agency]
    except KeyError:
        raise UnknownAgency(agency) from None


# --- parsing --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedRow:
    """One data row of a drop file: where it is, and what it became."""

    line: int  # first physical line of the row in the file (1-based; the CSV header is line 1)
    end_line: int
    result: dict | Rejection  # a contract envelope, or why the row was refused
    fields: dict  # the canonical fields as read, names removed (for quarantine records)


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l"})


def _slug(value: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", value.translate(_LIGATURES)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")


def _int_or_raw(value: Any) -> Any:
    """Integers as integers; anything else as read, so the payload schema rejects it with its reason."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        return text
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def event_id_for(agency: str, placement_id: str, status: str, interview_round: Any = None) -> str:
    suffix = f":r{interview_round}" if status == "interviewed" and not _blank(interview_round) else ""
    return f"{agency}:{placement_id}:{status}{suffix}"


def to_envelope(p: AgencyProfile, fields: dict) -> dict | Rejection:
    """Map one row's canonical fields onto the contract envelope (or refuse it with a reason)."""
    placement_id = _text(fields.get("placement_id"))
    raw_status = fields.get("status")
    if _blank(placement_id) or not isinstance(placement_id, (str, int)):
        return Rejection(Reason.MISSING_REQUIRED_FIELD, f"{p.columns['placement_id']!r} is empty", None)
    placement_id = str(placement_id)
    if _blank(raw_status) or not isinstance(raw_status, str):
        return Rejection(Reason.MISSING_REQUIRED_FIELD, f"{p.columns['status']!r} is empty", None)
    status = p.status_for(raw_status)
    if status is None:
        return Rejection(Reason.UNKNOWN_EVENT_TYPE,
                         f"status {raw_status.strip()!r} is not in {p.agency}'s profile ({sorted(p.statuses)})",
                         f"{p.agency}:{placement_id}:?")
    event_id = event_id_for(p.agency, placement_id, status, fields.get("interview_round"))
    try:
        occurred = p.timestamp.parse(fields.get("status_at"))
    except (ValueError, OverflowError, OSError) as exc:
        return Rejection(Reason.INVALID_TIMESTAMP, f"{p.columns['status_at']!r}: {exc}", event_id)

    payload: dict[str, Any] = {"placement_id": placement_id}
    for name in ("recruiter", "client", "job_title"):
        if not _blank(fields.get(name)):
            payload[name] = _text(fields[name])
    if status == "interviewed" and not _blank(fields.get("interview_round")):
        payload["round"] = _int_or_raw(fields["interview_round"])
    if status == "started" and not _blank(fields.get("guarantee_days")):
        payload["guarantee_days"] = _int_or_raw(fields["guarantee_days"])
    if status == "fell_off":
        if not _blank(fields.get("fell_off_reason")):
            payload["reason"] = _text(fields["fell_off_reason"])
        if not _blank(fields.get("days_after_start")):
            payload["days_after_start"] = _int_or_raw(fields["days_after_start"])

    client_id = _text(fields.get("client_id"))
    if _blank(client_id) and not _blank(fields.get("client")):
        client_id = _slug(str(fields["client"]))  # agencies without client ids: a stable slug of the name
    email = fields.get("email")
    return {
        "event_id": event_id,
        "event_type": f"placement.{status}.v1",
        "occurred_at": occurred.isoformat(),
        "source_tenant": p.agency,
        "candidate_email": None if _blank(email) else email,
        "employer_id": f"{p.agency}:{client_id}" if not _blank(client_id) else None,
        "engagement_id": f"{p.agency}:{placement_id}",
        "remote_id": placement_id,
        "payload": payload,
    }


def _without_names(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if k not in NAME_FIELDS}


_SURROGATE = re.compile("[\udc80-\udcff]")


def _csv_rows(p: AgencyProfile, body: bytes) -> Iterator[ParsedRow]:
    # surrogateescape keeps undecodable bytes visible per row instead of failing (or guessing) the whole file.
    text = body.decode(p.encoding, errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=p.delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    index = {name: i for i, name in enumerate(header)}
    wanted = {f: col for f, col in p.columns.items()}
    missing = [col for f, col in wanted.items() if f in REQUIRED_FIELDS and col not in index]
    if missing:
        raise DropFileError(f"{p.agency}: header {header!r} lacks required column(s) {missing} "
                            f"(profile expects {list(wanted.values())})")
    unterminated = not body.endswith((b"\n", b"\r"))
    rows: list[tuple[int, int, list[str] | csv.Error]] = []
    line = reader.line_num
    while True:
        try:
            record: list[str] | csv.Error = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the reader resumes at the next line
            record = exc
        start, line = line + 1, reader.line_num
        if isinstance(record, list) and (not record or (len(record) == 1 and not record[0].strip())):
            continue  # blank line
        rows.append((start, line, record))
    for position, (start, end, record) in enumerate(rows):
        is_last = position == len(rows) - 1
        parsed = isinstance(record, list)
        fields = {f: record[index[col]] for f, col in wanted.items()
                  if parsed and col in index and index[col] < len(record)}
        if is_last and unterminated and p.rows_terminated:
            got = f"{len(record)} of {len(header)} fields" if parsed else str(record)
            yield ParsedRow(start, end, Rejection(
                Reason.TRUNCATED_ROW, f"the file ends inside this row (no line break after it; {got})", None),
                _redact_undecodable(_without_names(fields)))
            continue
        if not parsed:
            yield ParsedRow(start, end, Rejection(Reason.MALFORMED_RECORD, f"not parseable as CSV: {record}", None), {})
            continue
        if len(record) != len(header):
            yield ParsedRow(start, end, Rejection(
                Reason.MALFORMED_RECORD, f"{len(record)} fields where the header has {len(header)}", None),
                _redact_undecodable(_without_names(fields)))
            continue
        bad = [header[i] for i, value in enumerate(record) if _SURROGATE.search(value)]
        if bad:
            yield ParsedRow(start, end, Rejection(
                Reason.INVALID_ENCODING, f"bytes not valid in {p.encoding} in column(s) {bad}", None),
                _redact_undecodable(_without_names(fields)))
            continue
        yield ParsedRow(start, end, to_envelope(p, fields), _without_names(fields))


def _redact_undecodable(fields: dict) -> dict:
    return {k: (_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v) for k, v in fields.items()}


def _path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _ndjson_rows(p: AgencyProfile, body: bytes) -> Iterator[ParsedRow]:
    lines = body.split(b"\n")
    last_content = max((i for i, l in enumerate(lines) if l.strip()), default=-1)
    unterminated = not body.endswith(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        number = i + 1
        is_cut = unterminated and i == last_content and p.rows_terminated
        try:
            text = raw.decode(p.encoding)
        except UnicodeDecodeError as exc:
            reason = Reason.TRUNCATED_ROW if is_cut else Reason.INVALID_ENCODING
            yield ParsedRow(number, number, Rejection(reason, f"line is not valid {p.encoding}: {exc.reason}", None), {})
            continue
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            reason = Reason.TRUNCATED_ROW if is_cut else Reason.MALFORMED_RECORD
            detail = ("the file ends inside this line (no line break after it): " if is_cut else "") + f"not JSON: {exc}"
            yield ParsedRow(number, number, Rejection(reason, detail, None), {})
            continue
        if not isinstance(record, dict):
            yield ParsedRow(number, number, Rejection(
                Reason.MALFORMED_RECORD, f"expected a JSON object, got {type(record).__name__}", None), {})
            continue
        # JSON is self-delimiting: a complete object without the final line break is complete.
        fields = {f: _path(record, key) for f, key in p.columns.items()}
        fields = {k: v for k, v in fields.items() if v is not None}
        yield ParsedRow(number, number, to_envelope(p, fields), _without_names(fields))


def parse_drop_file(agency: str, body: bytes) -> Iterator[ParsedRow]:
    """Every data row of one agency file, in file order. Raises UnknownAgency / DropFileError for problems
    of the whole file; row problems come back as Rejections."""
    p = profile(agency)
    return _csv_rows(p, body) if p.format == "csv" else _ndjson_rows(p, body)
