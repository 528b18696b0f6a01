"""Contract-recruiter file drops, simulated: deterministic agency exports of placement pipelines.

`generate(candidates, seed=..., start=..., end=...)` places a seeded subset of the marketplace population
(`hiring_signals.simulators.marketplace.generate(...).candidates`, so identity resolution across sources has
the same people to find) with the agencies in `hiring_signals.sources.recruiter.AGENCIES`, simulates each
placement's pipeline (submitted -> interviewed -> offered -> started -> sometimes fell off) and renders one
file per agency per drop day in that agency's own convention:

  northstar-talent     CSV, UTF-8 with BOM, comma, CRLF, ISO 8601 with New York offsets; drops daily 06:00 New York
  lumiere-recrutement  CSV, Windows-1252, semicolon, CRLF, dd/mm/yyyy HH:MM Paris time, French headers and
                       accented names; drops on weekdays at 19:30 Paris
  beacon-staffing      NDJSON, nested keys, epoch seconds; drops daily 02:00 UTC

A drop holds the status changes since the agency's previous drop. Faults on request (`DropFaults`): a file
dropped twice (identical bytes under another name, hours later), a file dropped late (weeks after its export,
so its rows occurred weeks before they are known), a truncated file (the upload stops inside its last row),
optionally followed a day later by the agency's complete re-send. Nothing occurs or arrives at or after `end`.

`upload(lake, files)` puts the files into s3://<lake bucket>/landing/drops/agency=<a>/<name> with the object
metadata `received-at` = the simulated arrival time (RFC 3339). That metadata is the drop's knowledge time
(`ingested_at`): the demo replays months of drops in one go, so S3's own LastModified would say "now" for all
of them. In a real deployment the drop gateway (SFTP/AS2 bridge, presigned-upload service) sets
`received-at` when the agency's upload completes; when it is absent, ingestion uses LastModified, which is
the same instant for an upload made directly to the bucket.

    python -m hiring_signals.simulators.recruiter_drops --seed 7 --start 2026-05-01 --end 2026-10-30 \
        --candidates 3000 --employers 300 --truncated-files 2 --duplicate-files 2 --late-files 1 --upload
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import orjson

from hiring_signals.sources.recruiter import AGENCIES, event_id_for

UTC = timezone.utc
LANDING_DROPS_PREFIX = "landing/drops/"


# --------------------------------------------------------------------------------------------------------
# Agencies' habits (formats live in the agency profiles; these are the simulation's side)
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyHabits:
    tz: str  # the agency's office time zone: business hours and drop time are local
    drop_at: time
    drop_weekdays: tuple[int, ...]  # Monday = 0
    guarantee_days: int
    clients: tuple[tuple[str, str], ...]  # (client id, name)
    recruiters: tuple[str, ...]
    weight: float  # share of placements


HABITS: dict[str, AgencyHabits] = {
    "northstar-talent": AgencyHabits(
        tz="America/New_York", drop_at=time(6, 0), drop_weekdays=(0, 1, 2, 3, 4, 5, 6), guarantee_days=90,
        clients=(("C-1042", "Harbor Analytics, Inc."), ("C-1077", "Granite Health Partners"),
                 ("C-1103", "Tidal Retail Group"), ("C-1150", "Quartz Logistics LLC"),
                 ("C-1178", "Maple Street Media")),
        recruiters=("Dana Whitfield", "Marcus Bell", "Priya Raman", "Colleen O'Brien"),
        weight=0.4,
    ),
    "lumiere-recrutement": AgencyHabits(
        tz="Europe/Paris", drop_at=time(19, 30), drop_weekdays=(0, 1, 2, 3, 4), guarantee_days=60,
        clients=(("", "Atelier Numérique Saint-Étienne"), ("", "Cœur de Ville Immobilier"),
                 ("", "Société Générale de Données"), ("", "Boulangeries Lévêque & Fils"),
                 ("", "Crédit Coopératif Régional")),
        recruiters=("Hélène Marchand", "Jérôme Lefèvre", "Amélie Côté", "François Dupré"),
        weight=0.3,
    ),
    "beacon-staffing": AgencyHabits(
        tz="UTC", drop_at=time(2, 0), drop_weekdays=(0, 1, 2, 3, 4, 5, 6), guarantee_days=30,
        clients=(("acct_7f3a", "Nimbus Robotics"), ("acct_91c2", "Copper Finance Co."),
                 ("acct_a0d4", "Sage Learning Foundation"), ("acct_c55e", "Vista Mobility Group")),
        recruiters=("j.okafor", "s.lindqvist", "m.tanaka"),
        weight=0.3,
    ),
}

JOB_TITLES = ("Data Analyst", "Junior Data Engineer", "Front-End Developer", "UX Designer", "Marketing Associate",
              "Business Analyst", "QA Engineer", "Customer Insights Analyst", "Product Designer",
              "Content Strategist")
FALL_OFF_REASONS = ("accepted_counter_offer", "performance", "role_eliminated", "relocation", "no_show")
_FR_FALL_OFF = {"accepted_counter_offer": "Contre-offre acceptée", "performance": "Période d'essai non concluante",
                "role_eliminated": "Poste supprimé", "relocation": "Déménagement", "no_show": "Absence au démarrage"}
# The French agency writes names the way its candidates spell them.
_ACCENTED = {"Jose": "José", "Zoe": "Zoë", "Elena": "Eléna", "Sofia": "Sofía", "Lucia": "Lucía", "Tomas": "Tomás",
             "Rafael": "Raphaël", "Andre": "André", "Chloe": "Chloé", "Leo": "Léo", "Noah": "Noé",
             "Fernandez": "Fernández", "Garcia": "García", "Lopez": "López", "Perez": "Pérez",
             "Hernandez": "Hernández", "Martinez": "Martínez", "Gonzalez": "González", "Alvarez": "Álvarez",
             "Diaz": "Díaz", "Dubois": "Dubois-Lefèvre"}
_STATUS_WIRE = {
    "northstar-talent": {"submitted": "SUBMITTED", "interviewed": "INTERVIEW", "offered": "OFFER",
                         "started": "PLACED", "fell_off": "FALLOFF"},
    "lumiere-recrutement": {"submitted": "Présentation", "interviewed": "Entretien", "offered": "Offre",
                            "started": "Prise de poste", "fell_off": "Rupture"},
    "beacon-staffing": {"submitted": "submitted", "interviewed": "client_interview", "offered": "offer_extended",
                        "started": "hired", "fell_off": "fell_through"},
}


# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DropEvent:
    """Ground truth for one status change an agency reports."""

    event_id: str
    agency: str
    placement_id: str
    status: str
    occurred_at: datetime  # UTC, whole minutes
    email: str  # the person's canonical (marketplace) email
    candidate_id: str  # the person's marketplace id
    fields: dict  # what the export row says, in canonical field names


@dataclass(frozen=True)
class DropFile:
    agency: str
    name: str  # file name, e.g. northstar-talent_20260504.csv
    export_date: date  # the agency's local date of the export, as in the name
    received_at: datetime  # simulated arrival = the knowledge time of its rows
    body: bytes
    rows: int  # data rows in body (a truncated final row counts: it was received)
    event_ids: tuple[str, ...]  # events of the body's complete rows, in file order
    kind: str = "regular"  # regular | duplicate | late | truncated | resend
    duplicate_of: str | None = None  # key of the file whose bytes this one repeats
    truncated_event_id: str | None = None  # the row cut off by a truncated upload

    @property
    def key(self) -> str:
        return f"{LANDING_DROPS_PREFIX}agency={self.agency}/{self.name}"

    @property
    def content_type(self) -> str:
        return AGENCIES[self.agency].content_type


@dataclass(frozen=True)
class DropFaults:
    duplicate_files: int = 0
    late_files: int = 0
    late_by_days: int = 21
    truncated_files: int = 0
    resend_truncated: bool = True

    def __post_init__(self):
        for name in ("duplicate_files", "late_files", "truncated_files"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.late_by_days < 1:
            raise ValueError("late_by_days must be >= 1")


@dataclass(frozen=True)
class DropSet:
    seed: int
    start: date
    end: date
    files: tuple[DropFile, ...]  # in arrival order (received_at, key)
    events: tuple[DropEvent, ...]  # every status change that occurred before `end`, dropped or not yet
    people: tuple[str, ...]  # marketplace candidate ids placed by agencies

    def by_kind(self, kind: str) -> list[DropFile]:
        return [f for f in self.files if f.kind == kind]

    def stats(self) -> dict:
        dropped = {e for f in self.files for e in f.event_ids}
        return {
            "seed": self.seed, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "people": len(self.people), "events": len(self.events), "events_dropped": len(dropped),
            "files": len(self.files), "rows": sum(f.rows for f in self.files),
            "files_by_agency": dict(sorted(Counter(f.agency for f in self.files).items())),
            "files_by_kind": dict(sorted(Counter(f.kind for f in self.files).items())),
            "events_by_status": dict(sorted(Counter(e.status for e in self.events).items())),
        }


# --------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------

def _at(day: date, hhmm: time, tz: str) -> datetime:
    return datetime.combine(day, hhmm, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _business_time(rng: random.Random, t: datetime, tz: str) -> datetime:
    """A random whole minute of weekday business hours (08:00-18:59 local) at or after `t`, on the first
    business day that still has such a minute."""
    zone = ZoneInfo(tz)
    local = t.astimezone(zone)
    earliest = local.replace(second=0, microsecond=0) + (timedelta(minutes=1) if local.second or local.microsecond
                                                         else timedelta(0))
    day = earliest.date()
    while True:
        opens = datetime.combine(day, time(8, 0), tzinfo=zone)
        closes = datetime.combine(day, time(18, 59), tzinfo=zone)
        lo = max(opens, earliest)
        if day.weekday() < 5 and lo <= closes:
            minutes = int((closes - lo).total_seconds() // 60)
            return (lo + timedelta(minutes=rng.randint(0, minutes))).astimezone(UTC)
        day += timedelta(days=1)


def _email_as_written(rng: random.Random, email: str) -> str:
    roll = rng.random()
    if roll < 0.04:
        return email.upper()
    if roll < 0.07:
        return f" {email} "
    if roll < 0.10:
        local, _, domain = email.partition("@")
        return f"{local.title()}@{domain}"
    return email


def _placement_ids(agency: str, rng: random.Random, counter: int) -> tuple[str, str]:
    if agency == "northstar-talent":
        return f"NS-{100000 + counter:06d}", f"REQ-{rng.randint(2000, 9999)}"
    if agency == "lumiere-recrutement":
        return f"LR26-{counter:05d}", ""
    return f"bcn_{rng.getrandbits(40):010x}", f"req_{rng.getrandbits(24):06x}"


def _pipeline(rng: random.Random, submitted: datetime, tz: str) -> list[tuple[str, datetime, dict]]:
    """(status, when, extra fields) of one placement's pipeline, starting with the submittal."""
    steps = [("submitted", submitted, {})]
    t = submitted
    if rng.random() < 0.65:
        rounds = 2 if rng.random() < 0.4 else 1
        for n in range(1, rounds + 1):
            t = _business_time(rng, t + timedelta(days=rng.randint(2, 9)), tz)
            steps.append(("interviewed", t, {"interview_round": n}))
        if rng.random() < 0.5:
            t = _business_time(rng, t + timedelta(days=rng.randint(2, 8)), tz)
            steps.append(("offered", t, {}))
            if rng.random() < 0.85:
                t = _business_time(rng, t + timedelta(days=rng.randint(7, 21)), tz)
                steps.append(("started", t, {}))
                if rng.random() < 0.12:
                    ended = _business_time(rng, t + timedelta(days=rng.randint(3, 80)), tz)
                    days = (ended.astimezone(ZoneInfo(tz)).date() - t.astimezone(ZoneInfo(tz)).date()).days
                    steps.append(("fell_off", ended,
                                  {"days_after_start": days, "fell_off_reason": rng.choice(FALL_OFF_REASONS)}))
    return steps


def _drop_times(agency: str, start: date, end: date) -> list[datetime]:
    habits = HABITS[agency]
    out, day = [], start
    while day <= end:
        if day.weekday() in habits.drop_weekdays:
            out.append(_at(day, habits.drop_at, habits.tz))
        day += timedelta(days=1)
    return out


def generate(candidates: Sequence, *, seed: int, start: date, end: date, share: float = 0.1,
             faults: DropFaults = DropFaults()) -> DropSet:
    """Agency drops for a seeded `share` of `candidates` (marketplace Candidate objects) between `start` and
    `end` (00:00 UTC each, end exclusive), deterministic from `seed`."""
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if not 0 < share <= 1:
        raise ValueError("share must be within (0, 1]")
    if not candidates:
        raise ValueError("need at least one candidate")
    rng_people = random.Random(f"recruiter-drops/people/{seed}")
    rng = random.Random(f"recruiter-drops/pipelines/{seed}")
    rng_rows = random.Random(f"recruiter-drops/rows/{seed}")
    start_at = datetime.combine(start, time(0), tzinfo=UTC)
    end_at = datetime.combine(end, time(0), tzinfo=UTC)

    pool = sorted(candidates, key=lambda c: c.id)
    people = sorted(rng_people.sample(pool, k=max(1, round(len(pool) * share))), key=lambda c: c.id)
    agencies = sorted(AGENCIES)
    weights = [HABITS[a].weight for a in agencies]
    counters: Counter[str] = Counter()
    events: list[DropEvent] = []
    span = max(1, int((end_at - start_at).total_seconds()) - 5 * 86_400)
    for person in people:
        for _ in range(rng.choices((1, 2, 3), weights=(0.7, 0.25, 0.05))[0]):
            agency = rng.choices(agencies, weights=weights)[0]
            habits = HABITS[agency]
            counters[agency] += 1
            placement_id, job_id = _placement_ids(agency, rng, counters[agency])
            client_id, client = rng.choice(habits.clients)
            job_title = rng.choice(JOB_TITLES)
            recruiter = rng.choice(habits.recruiters)
            submitted = _business_time(rng, start_at + timedelta(seconds=rng.randrange(span)), habits.tz)
            for status, when, extra in _pipeline(rng, submitted, habits.tz):
                if when >= end_at:
                    break
                fields = {"placement_id": placement_id, "status": status, "email": person.email,
                          "first_name": person.first_name, "last_name": person.last_name, "client_id": client_id,
                          "client": client, "job_id": job_id, "job_title": job_title, "recruiter": recruiter,
                          **extra}
                if status == "started":
                    fields["guarantee_days"] = habits.guarantee_days
                events.append(DropEvent(event_id_for(agency, placement_id, status, extra.get("interview_round")),
                                        agency, placement_id, status, when, person.email, person.id, fields))
    events.sort(key=lambda e: (e.occurred_at, e.event_id))

    files: list[DropFile] = []
    for agency in agencies:
        drops = _drop_times(agency, start - timedelta(days=1), end)
        mine = [e for e in events if e.agency == agency]
        i = 0
        for previous, current in zip([start_at] + drops, drops):
            batch = []
            while i < len(mine) and mine[i].occurred_at < current:
                if mine[i].occurred_at >= previous:
                    batch.append(mine[i])
                i += 1
            received = current + timedelta(minutes=rng_rows.randint(1, 25))
            if not batch or received >= end_at:
                continue
            export_date = current.astimezone(ZoneInfo(HABITS[agency].tz)).date()
            body = render(agency, batch, rng_rows)
            name = f"{agency}_{export_date:%Y%m%d}.{AGENCIES[agency].file_extension}"
            files.append(DropFile(agency, name, export_date, received, body, len(batch),
                                  tuple(e.event_id for e in batch)))
    files = _inject_faults(files, faults, random.Random(f"recruiter-drops/faults/{seed}"), end_at)
    files.sort(key=lambda f: (f.received_at, f.key))
    return DropSet(seed, start, end, tuple(files), tuple(events), tuple(p.id for p in people))


# --------------------------------------------------------------------------------------------------------
# Rendering, one function per agency convention
# --------------------------------------------------------------------------------------------------------

def _csv_bytes(header: list[str], rows: list[list], delimiter: str, encoding: str) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def render(agency: str, events: Iterable[DropEvent], rng: random.Random) -> bytes:
    p = AGENCIES[agency]
    habits = HABITS[agency]
    zone = ZoneInfo(habits.tz)
    wire = _STATUS_WIRE[agency]
    if p.format == "ndjson":
        lines = []
        for e in events:
            f = e.fields
            record: dict = {
                "pipeline_id": f["placement_id"], "stage": wire[e.status], "stage_ts": int(e.occurred_at.timestamp()),
                "talent": {"email": _email_as_written(rng, f["email"]), "name": f"{f['first_name']} {f['last_name']}"},
                "account": {"id": f["client_id"], "name": f["client"]},
                "requisition": {"id": f["job_id"], "title": f["job_title"]},
                "consultant": f["recruiter"],
            }
            if "interview_round" in f:
                record["interview_round"] = f["interview_round"]
            if "guarantee_days" in f:
                record["guarantee_period_days"] = f["guarantee_days"]
            if e.status == "fell_off":
                record["fall_off"] = {"reason": f["fell_off_reason"], "days_in_role": f["days_after_start"]}
            lines.append(orjson.dumps(record))
        return b"\n".join(lines) + b"\n"

    columns = [c for c in p.columns.items()]
    header = [col for _, col in columns]
    rows = []
    for e in events:
        f = dict(e.fields)
        f["email"] = _email_as_written(rng, f["email"])
        if agency == "lumiere-recrutement":
            f["first_name"] = _ACCENTED.get(f["first_name"], f["first_name"])
            f["last_name"] = _ACCENTED.get(f["last_name"], f["last_name"])
            f["status_at"] = e.occurred_at.astimezone(zone).strftime("%d/%m/%Y %H:%M")
            if "fell_off_reason" in f:
                f["fell_off_reason"] = _FR_FALL_OFF[f["fell_off_reason"]]
        else:
            f["status_at"] = e.occurred_at.astimezone(zone).isoformat(timespec="seconds")
        f["status"] = wire[e.status]
        rows.append(["" if f.get(name) is None else str(f.get(name, "")) for name, _ in columns])
    return _csv_bytes(header, rows, p.delimiter, p.encoding)


# --------------------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------------------

def _last_row_span(body: bytes) -> tuple[int, int]:
    """[start, end) of the last row's content, line break excluded (rows never contain line breaks here)."""
    content_end = len(body.rstrip(b"\r\n"))
    start = body.rfind(b"\n", 0, content_end) + 1
    return start, content_end


def _pick(rng: random.Random, files: list[DropFile], n: int, taken: set[str], ok) -> list[DropFile]:
    """n files, spread over agencies (round-robin in a seeded order), not already taken, satisfying `ok`."""
    by_agency: dict[str, list[DropFile]] = defaultdict(list)
    for f in files:
        if f.key not in taken and ok(f):
            by_agency[f.agency].append(f)
    order = sorted(by_agency)
    rng.shuffle(order)
    picked: list[DropFile] = []
    while len(picked) < n and any(by_agency.values()):
        for agency in order:
            if by_agency[agency] and len(picked) < n:
                f = by_agency[agency].pop(rng.randrange(len(by_agency[agency])))
                picked.append(f)
                taken.add(f.key)
    if len(picked) < n:
        raise ValueError(f"only {len(picked)} files can take this fault, {n} asked for: generate a longer window")
    return picked


def _inject_faults(files: list[DropFile], faults: DropFaults, rng: random.Random, end_at: datetime) -> list[DropFile]:
    files = sorted(files, key=lambda f: (f.received_at, f.key))
    taken: set[str] = set()
    replaced: dict[str, DropFile] = {}
    extra: list[DropFile] = []

    resend_gap = timedelta(days=1)
    for f in _pick(rng, files, faults.truncated_files, taken,
                   lambda f: f.rows >= 2 and (not faults.resend_truncated or f.received_at + resend_gap < end_at)):
        start, content_end = _last_row_span(f.body)
        cut = rng.randint(start + 1, content_end - 1)
        replaced[f.key] = replace(f, body=f.body[:cut], kind="truncated", event_ids=f.event_ids[:-1],
                                  truncated_event_id=f.event_ids[-1])
        if faults.resend_truncated:
            stem, _, ext = f.name.rpartition(".")
            extra.append(replace(f, name=f"{stem}_resend.{ext}", received_at=f.received_at + resend_gap,
                                 kind="resend"))

    for f in _pick(rng, files, faults.duplicate_files, taken, lambda f: f.received_at + timedelta(hours=30) < end_at):
        stem, _, ext = f.name.rpartition(".")
        again = f.received_at + timedelta(hours=rng.randint(2, 30))
        extra.append(replace(f, name=f"{stem} (1).{ext}", received_at=again, kind="duplicate", duplicate_of=f.key))

    late = timedelta(days=faults.late_by_days)
    for f in _pick(rng, files, faults.late_files, taken, lambda f: f.received_at + late < end_at):
        replaced[f.key] = replace(f, received_at=f.received_at + late, kind="late")

    return [replaced.get(f.key, f) for f in files] + extra


# --------------------------------------------------------------------------------------------------------
# Upload
# --------------------------------------------------------------------------------------------------------

def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def upload(lake, files: Iterable[DropFile]) -> list[str]:
    """Put `files` into the lake's landing zone in arrival order; returns their keys."""
    keys = []
    for f in sorted(files, key=lambda f: (f.received_at, f.key)):
        lake.client.put_object(Bucket=lake.settings.lake_bucket, Key=f.key, Body=f.body, ContentType=f.content_type,
                               Metadata={"received-at": rfc3339(f.received_at)})
        keys.append(f.key)
    return keys


DEMO_FAULTS = DropFaults(duplicate_files=2, late_files=2, truncated_files=2)


def replay(settings, *, seed: int, candidates: int, employers: int, start: date, end: date, share: float = 0.1,
           faults: DropFaults = DEMO_FAULTS) -> DropSet:
    """Generate the drops for the marketplace population of (seed, candidates, employers, start, end) - the
    same people the marketplace simulator serves - and upload them all, as a demo replays months at once."""
    from hiring_signals.simulators.marketplace import generate as generate_marketplace
    from hiring_signals.storage import Lake

    population = generate_marketplace(seed, start, end, candidates, employers)
    drops = generate(population.candidates, seed=seed, start=start, end=end, share=share, faults=faults)
    upload(Lake(settings.s3), drops.files)
    return drops


# --------------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    from hiring_signals.simulators.marketplace import generate as generate_marketplace

    parser = argparse.ArgumentParser(prog="python -m hiring_signals.simulators.recruiter_drops",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7, help="seed of the marketplace population and of the drops")
    parser.add_argument("--candidates", type=int, default=3000)
    parser.add_argument("--employers", type=int, default=300)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 5, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 30))
    parser.add_argument("--share", type=float, default=0.1, help="share of the population placed by agencies")
    parser.add_argument("--duplicate-files", type=int, default=0)
    parser.add_argument("--late-files", type=int, default=0)
    parser.add_argument("--late-by-days", type=int, default=21)
    parser.add_argument("--truncated-files", type=int, default=0)
    parser.add_argument("--no-resend", action="store_true", help="truncated files are not re-sent complete")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--upload", action="store_true", help="put the files into the lake (HS_* settings)")
    target.add_argument("--out", help="write the files under this directory instead")
    target.add_argument("--stats", action="store_true", help="only print what would be generated")
    args = parser.parse_args(argv)

    faults = DropFaults(duplicate_files=args.duplicate_files, late_files=args.late_files,
                        late_by_days=args.late_by_days, truncated_files=args.truncated_files,
                        resend_truncated=not args.no_resend)
    if args.upload:
        from hiring_signals.config import load_settings

        settings = load_settings()
        drops = replay(settings, seed=args.seed, candidates=args.candidates, employers=args.employers,
                       start=args.start, end=args.end, share=args.share, faults=faults)
        print(f"uploaded {len(drops.files)} files to s3://{settings.s3.lake_bucket}/{LANDING_DROPS_PREFIX}")
        print(orjson.dumps(drops.stats(), option=orjson.OPT_INDENT_2).decode())
        return 0
    population = generate_marketplace(args.seed, args.start, args.end, args.candidates, args.employers)
    drops = generate(population.candidates, seed=args.seed, start=args.start, end=args.end, share=args.share,
                     faults=faults)
    if args.out:
        from pathlib import Path

        root = Path(args.out)
        for f in drops.files:
            path = root / f.key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.body)
        (root / "drops.json").write_bytes(orjson.dumps(
            [{"key": f.key, "received_at": rfc3339(f.received_at), "kind": f.kind, "rows": f.rows}
             for f in drops.files], option=orjson.OPT_INDENT_2))
        print(f"wrote {len(drops.files)} files under {root / LANDING_DROPS_PREFIX}")
    print(orjson.dumps(drops.stats(), option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
