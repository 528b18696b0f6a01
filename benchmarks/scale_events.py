"""Raw-zone events at benchmark scale (10^6 - 10^7 rows), generated vectorised and cached on disk.

The rows are what `hiring_signals.contract.Normaliser` writes to the raw zone (contract v1 columns, canonical
JSON payloads with sorted keys, namespaced engagement/employer refs, pseudonymous candidate refs), for every
event type the signals read and a few they do not (payments, placement submissions), in the proportions of a
busy marketplace: about one candidate per 40 events, three engagements per candidate, each with its posting,
applications, start, deliverables (resubmitted after requested changes), reviews, an end, mentor feedback and
measured outcomes; credentials with re-issues, revocations and failed re-verifications; offers, referrals,
recruiter placements. Late events (ingested days after they occurred, some after the as-of date) and cross-day
redeliveries (the same (source, event_id) again in a later day's batch) exercise the knowledge-time filter and
the de-duplication.

The simulators under hiring_signals/simulators build one Python dict per event (realistic, but ~10^4 events/s);
here every column is a numpy / pyarrow array and payloads are concatenated with pyarrow compute kernels, so
10^7 events take well under two minutes. Output: one Parquet file per ingest day,
`<root>/ingest_date=YYYY-MM-DD/part-0.parquet`, under $HS_HOME/bench/ keyed by size, seed and GENERATOR_VERSION
(bump it whenever the generated data changes, so a stale cache is never reused).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hiring_signals.contract.raw_schema import raw_event_arrow_schema
from hiring_signals.contract.vocabulary import alias_map
from hiring_signals.drops import SOURCE as RECRUITER_SOURCE

GENERATOR_VERSION = 1
START = date(2026, 1, 1)
DAYS = 181  # 2026-01-01 .. 2026-06-30
AS_OF_DATE = START + timedelta(days=DAYS - 1)
AS_OF_END = datetime.combine(AS_OF_DATE + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
START_US = (datetime.combine(START, datetime.min.time(), tzinfo=timezone.utc) - EPOCH) // timedelta(microseconds=1)
END_US = (AS_OF_END - EPOCH) // timedelta(microseconds=1)

EVENTS_PER_CANDIDATE = 40
LATE_SHARE = 0.03  # events ingested 2-20 days after the day they occurred
REDELIVERY_SHARE = 0.004  # rows that are a later day's redelivery of an event already landed

TS_TYPE = pa.timestamp("us", tz="UTC")
TITLES = ("Landing page copy", "Churn analysis", "Support macros", "Design system audit", "ETL clean-up",
          "A/B test readout", "API integration", "Onboarding emails")
CATEGORIES = ("writing", "data", "support", "design", "engineering", "marketing")
METRICS = ("conversion_rate", "nps", "tickets_closed", "latency_ms")


@dataclass(frozen=True)
class GeneratedEvents:
    root: Path
    rows: int
    days: list[date]  # ingest days with a partition, ascending

    def day_dir(self, day: date) -> Path:
        return self.root / f"ingest_date={day.isoformat()}"

    def files(self, days: list[date] | None = None) -> list[str]:
        return [str(self.day_dir(d) / "part-0.parquet") for d in (self.days if days is None else days)]


def cache_root(home: Path, events: int, seed: int) -> Path:
    return home / "bench" / f"raw-events-v{GENERATOR_VERSION}-n{events}-s{seed}"


def generate_cached(home: Path, events: int, seed: int = 7) -> GeneratedEvents:
    """The generated events for (events, seed, GENERATOR_VERSION): from the cache, else generated and cached.

    A `_DONE.json` marker written last makes the cache all-or-nothing (an interrupted run regenerates).
    """
    root = cache_root(home, events, seed)
    done = root / "_DONE.json"
    if done.is_file():
        meta = json.loads(done.read_text())
        return GeneratedEvents(root, meta["rows"], [date.fromisoformat(d) for d in meta["days"]])
    if root.exists():
        shutil.rmtree(root)
    table = generate_table(events, seed)
    days = write_partitioned(table, root)
    done.write_text(json.dumps({"rows": table.num_rows, "days": [d.isoformat() for d in days],
                                "generator_version": GENERATOR_VERSION, "seed": seed}))
    return GeneratedEvents(root, table.num_rows, days)


def write_partitioned(table: pa.Table, root: Path) -> list[date]:
    """One Parquet file per ingest day (the day whose data interval ended at ingested_at)."""
    ingest_day = pc.divide(pc.subtract(_micros(table.column("ingested_at")), 1), US_PER_DAY).to_numpy()
    order = np.argsort(ingest_day, kind="stable")
    table, ingest_day = table.take(order), ingest_day[order]
    bounds = np.flatnonzero(np.diff(ingest_day)) + 1
    days = []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ingest_day)]):
        day = EPOCH.date() + timedelta(days=int(ingest_day[lo]))
        path = root / f"ingest_date={day.isoformat()}"
        path.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(lo, hi - lo), path / "part-0.parquet", row_group_size=1 << 20)
        days.append(day)
    return days


# --- vectorised building blocks ----------------------------------------------------------------------------

def _micros(ts: pa.ChunkedArray | pa.Array):
    return pc.cast(ts, pa.int64())


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us, type=pa.int64()).cast(TS_TYPE)


def _iso(us: np.ndarray) -> pa.Array:
    """RFC 3339 strings, as the sources send them ('2026-05-05T17:00:00Z').

    Cast from a zone-less timestamp: ~8x faster than pc.strftime, which goes through the time-zone database."""
    text = pc.cast(pa.array(us // 1_000_000).cast(pa.timestamp("s")), pa.string())
    return _cat(pc.replace_substring(text, " ", "T"), "Z")


def _str(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _cat(*parts) -> pa.Array:
    """Element-wise string concatenation of arrays and literals (null in, null out)."""
    return pc.binary_join_element_wise(*[p if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(p)
                                         for p in parts], "")


def _choice(rng: np.random.Generator, options: tuple[str, ...], n: int, p=None) -> pa.Array:
    return pa.array(options).take(pa.array(rng.choice(len(options), size=n, p=p)))


def _json_bool(mask: np.ndarray) -> pa.Array:
    return pa.array(np.where(mask, "true", "false"))


def _json_list(rng: np.random.Generator, pool: pa.Array, n: int, lo: int, hi: int) -> pa.Array:
    """JSON arrays of lo..hi strings drawn from `pool` (already JSON-quoted)."""
    counts = rng.integers(lo, hi + 1, size=n)
    picks = pool.take(pa.array(rng.integers(0, len(pool), size=int(counts.sum()))))
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), picks)
    return _cat("[", pc.binary_join(lists, ","), "]")


def _skill_pool() -> pa.Array:
    """Skill names as sources spell them: vocabulary aliases in odd cases and spacing, and some that are not
    in the vocabulary at all (no evidence)."""
    aliases = sorted(alias_map())
    spelled = aliases + [a.upper() for a in aliases[::3]] + [f"  {a.title()} " for a in aliases[1::4]] \
        + [a.replace(" ", "   ") for a in aliases if " " in a] + ["basket weaving", "Underwater Rugby", "vibes"]
    return pa.array([json.dumps(s) for s in spelled])


class _Events:
    """Accumulates event columns per event type; `table()` assembles the raw-zone rows."""

    def __init__(self, candidate_refs: pa.Array):
        self.candidate_refs = candidate_refs
        self.parts: list[dict] = []

    def add(self, event_type: str, source: pa.Array, occurred_us: np.ndarray, payload: pa.Array, *,
            candidate: np.ndarray | None = None, engagement: pa.Array | None = None,
            employer: pa.Array | None = None, candidate_ref: pa.Array | None = None) -> None:
        n = len(occurred_us)
        if n == 0:
            return
        if candidate_ref is None:
            candidate_ref = (self.candidate_refs.take(pa.array(candidate)) if candidate is not None
                             else pa.nulls(n, pa.string()))
        self.parts.append({
            "event_type": pa.repeat(pa.scalar(event_type), n),
            "source": source, "occurred_us": occurred_us, "payload": payload, "candidate_ref": candidate_ref,
            "engagement_ref": engagement if engagement is not None else pa.nulls(n, pa.string()),
            "employer_ref": employer if employer is not None else pa.nulls(n, pa.string()),
        })

    def table(self, rng: np.random.Generator) -> pa.Table:
        def col(name):
            return pa.concat_arrays([p[name] if isinstance(p[name], pa.Array) else p[name].combine_chunks()
                                     for p in self.parts])
        occurred = np.concatenate([p["occurred_us"] for p in self.parts])
        n = len(occurred)
        source = col("source")
        event_type = col("event_type")
        event_id = _cat("evt_", _str(np.arange(n)))
        # knowledge time: the end of the UTC day the event occurred on; late events some days after that
        ingested = (occurred // US_PER_DAY + 1) * US_PER_DAY
        late = rng.random(n) < LATE_SHARE
        ingested = np.where(late, ingested + rng.integers(2, 21, size=n) * US_PER_DAY, ingested)
        return pa.table({
            "event_id": event_id, "source": source, "event_type": event_type,
            "occurred_us": occurred, "ingested_us": ingested,
            "candidate_ref": col("candidate_ref"), "employer_ref": col("employer_ref"),
            "engagement_ref": col("engagement_ref"), "payload": col("payload"),
        })


# --- the population ----------------------------------------------------------------------------------------

def generate_table(events: int, seed: int = 7) -> pa.Table:
    """Exactly `events` raw-zone rows (contract v1 Arrow schema), deterministic for (events, seed)."""
    if events < 1000:
        raise ValueError(f"the scale generator needs at least 1000 events, got {events}")
    # a pilot run fixes the engagements-per-event ratio, so the full run lands within a few percent of the target
    pilot = _population(np.random.default_rng(seed), 20_000)
    redeliveries = int(events * REDELIVERY_SHARE)
    firsts = events - redeliveries
    for margin in (1.01, 1.05, 1.2):  # small sizes vary more around the pilot's ratio
        body = _population(np.random.default_rng(seed), int(firsts * margin * 20_000 / pilot.num_rows))
        if body.num_rows >= firsts:
            break
    else:
        raise RuntimeError(f"generator produced {body.num_rows} events, fewer than the {firsts} planned")
    rng = np.random.default_rng([seed, 1])
    # the surplus (about 1%) is dropped at random: a few lost events, which the signals tolerate by design
    body = body.take(pa.array(np.sort(rng.choice(body.num_rows, size=firsts, replace=False))))
    rows = _raw_rows(body, rng)
    again = rows.take(pa.array(np.sort(rng.choice(rows.num_rows, size=redeliveries, replace=False))))
    later = _micros(again.column("ingested_at")).to_numpy() + rng.integers(1, 4, size=redeliveries) * US_PER_DAY
    again = again.set_column(again.schema.get_field_index("ingested_at"), "ingested_at", _ts(later))
    again = again.set_column(again.schema.get_field_index("batch_id"), "batch_id",
                             _batch_ids(again.column("source").combine_chunks(), later))
    table = pa.concat_tables([rows, again.cast(rows.schema)])
    if table.num_rows != events:
        raise RuntimeError(f"generated {table.num_rows} rows, expected {events}")
    return table


def _batch_ids(source: pa.Array, ingested_us: np.ndarray) -> pa.Array:
    return _cat(source, "/", pc.utf8_slice_codeunits(_iso(ingested_us - US_PER_DAY), 0, 10))


def _raw_rows(body: pa.Table, rng: np.random.Generator) -> pa.Table:
    n = body.num_rows
    occurred = body.column("occurred_us").to_numpy()
    ingested = body.column("ingested_us").to_numpy()
    source = body.column("source").combine_chunks()
    tenant = pa.array(np.where(rng.random(n) < 0.8, "tenant-main", "tenant-edu"))
    columns = {
        "event_id": body.column("event_id"), "source": source,
        "source_tenant": tenant, "event_type": body.column("event_type"),
        "event_version": pa.array(np.ones(n, dtype=np.int32)),
        "occurred_at": _ts(occurred), "source_updated_at": _ts(occurred + rng.integers(0, 3600, size=n) * 1_000_000),
        "ingested_at": _ts(ingested),
        "candidate_ref": body.column("candidate_ref"), "employer_ref": body.column("employer_ref"),
        "engagement_ref": body.column("engagement_ref"), "remote_id": body.column("event_id"),
        "payload": body.column("payload"),
        "source_extras": pa.array(np.where(rng.random(n) < 0.02, '{"ui_locale":"en-GB"}', None), pa.string()),
        "batch_id": _batch_ids(source, ingested),
    }
    return pa.table(columns, schema=raw_event_arrow_schema())


def _population(rng: np.random.Generator, engagements: int) -> pa.Table:
    """Events of `engagements` engagements and their candidates (one candidate per ~2.9 engagements)."""
    E = engagements
    C = max(1, int(E / 2.9))
    M = max(2, C // 8)
    cand_bits = rng.integers(0, 2**63, size=(C, 2), dtype=np.int64)
    candidate_refs = pa.array([f"cand_{a:016x}{b:016x}" for a, b in cand_bits.tolist()])
    ev = _Events(candidate_refs)
    skill_pool = _skill_pool()

    # engagements: two sources; a few busy candidates, a long tail
    is_gig = rng.random(E) < 0.35
    src = pa.array(np.where(is_gig, "gig", "marketplace"))
    cand = np.minimum((C * rng.random(E) ** 1.6).astype(np.int64), C - 1)
    employer_idx = rng.integers(0, M, size=E)
    # a third of engagements go back to an employer the candidate worked for before (repeat engagement)
    repeat = rng.random(E) < 0.3
    employer_idx = np.where(repeat, (cand * 7919) % M, employer_idx)
    eng_ref = _cat(src, ":eng_", _str(np.arange(E)))
    emp_ref = _cat(src, ":emp_", _str(employer_idx))
    start = START_US + rng.integers(0, (DAYS - 3) * US_PER_DAY, size=E)
    posted = np.maximum(start - rng.integers(1, 10 * 24, size=E) * US_PER_HOUR, START_US - 5 * US_PER_DAY)
    title = _choice(rng, TITLES, E)
    category = _choice(rng, CATEGORIES, E)
    skills = _json_list(rng, skill_pool, E, 0, 4)
    quoted = lambda a: _cat('"', a, '"')  # noqa: E731

    mp = np.flatnonzero(~is_gig)
    ev.add("engagement.posted", src.take(pa.array(mp)), posted[mp], _cat(
        '{"category":', quoted(category.take(pa.array(mp))), ',"deliverables":["draft","final"],"duration_weeks":',
        _str(rng.integers(1, 9, size=len(mp))), ',"pay":{"amount":', _str(rng.integers(2, 40, size=len(mp)) * 50),
        ',"currency":"USD"},"skills":', skills.take(pa.array(mp)), ',"title":', quoted(title.take(pa.array(mp))), "}"),
        engagement=eng_ref.take(pa.array(mp)), employer=emp_ref.take(pa.array(mp)))

    # applications: the hired candidate plus ~1 other applicant; half of them were invited first
    extra = rng.poisson(1.0, size=E)
    app_eng = np.r_[np.arange(E), np.repeat(np.arange(E), extra)]
    app_cand = np.r_[cand, rng.integers(0, C, size=int(extra.sum()))]
    hired = np.r_[np.ones(E, bool), np.zeros(int(extra.sum()), bool)]
    A = len(app_eng)
    applied = np.minimum(posted[app_eng] + rng.integers(1, 72, size=A) * US_PER_HOUR, start[app_eng] - US_PER_HOUR)
    invited = rng.random(A) < 0.5
    invited_at = applied - rng.integers(1, 96 * 60, size=A) * 60_000_000
    app_id = _cat("app_", _str(np.arange(A)))
    app_src, app_engref = src.take(pa.array(app_eng)), eng_ref.take(pa.array(app_eng))
    app_emp = emp_ref.take(pa.array(app_eng))
    ev.add("application.submitted", app_src, applied, pc.if_else(
        pa.array(invited), _cat('{"application_id":"', app_id, '","invited_at":"', _iso(invited_at), '"}'),
        _cat('{"application_id":"', app_id, '"}')), candidate=app_cand, engagement=app_engref, employer=app_emp)
    decided = applied + rng.integers(2, 48, size=A) * US_PER_HOUR
    decided = np.where(hired, np.minimum(decided, start[app_eng] - 1), decided)
    decision = pa.array(np.where(hired, "selected", np.where(rng.random(A) < 0.3, "shortlisted", "declined")))
    app_gig = is_gig[app_eng]
    scope = _cat(',"category":', quoted(category.take(pa.array(app_eng))), ',"decision":"', decision,
                 '","skills":', skills.take(pa.array(app_eng)), ',"title":', quoted(title.take(pa.array(app_eng))), "}")
    ev.add("application.decided", app_src, decided, pc.if_else(
        pa.array(app_gig & hired),  # the gig platform's contract offer carries the scope
        _cat('{"application_id":"', app_id, '"', scope),
        _cat('{"application_id":"', app_id, '","decision":"', decision, '"}')),
        candidate=app_cand, engagement=app_engref, employer=app_emp)

    # start (a few starts never reach us: lifecycle gaps)
    started = rng.random(E) < 0.95
    s = np.flatnonzero(started)
    ev.add("engagement.started", src.take(pa.array(s)), start[s],
           _cat('{"planned_end_at":"', _iso(start[s] + 28 * US_PER_DAY), '"}'),
           candidate=cand[s], engagement=eng_ref.take(pa.array(s)), employer=emp_ref.take(pa.array(s)))

    # end: completed, cancelled (by whom), or still in progress
    fate = rng.choice(3, size=E, p=[0.72, 0.16, 0.12])  # 0 completed, 1 cancelled, 2 in progress
    n_deliv = np.where(fate == 1, rng.integers(0, 2, size=E), rng.integers(1, 4, size=E))
    d_eng = np.repeat(np.arange(E), n_deliv)
    d_num = np.arange(len(d_eng)) - np.repeat(np.cumsum(n_deliv) - n_deliv, n_deliv)
    D = len(d_eng)
    due = (start[d_eng] // US_PER_DAY + 7 * (d_num + 1)) * US_PER_DAY + 17 * US_PER_HOUR
    submitted = due + (rng.normal(-1.0, 2.0, size=D) * US_PER_DAY).astype(np.int64)
    submitted = np.maximum(submitted, start[d_eng] + US_PER_HOUR)
    d_id = _cat("del_", _str(d_num + 1))
    d_src, d_engref, d_emp = src.take(pa.array(d_eng)), eng_ref.take(pa.array(d_eng)), emp_ref.take(pa.array(d_eng))
    art = _cat('"artifact_url":"https://files.example/', _str(np.arange(D)), '"')

    def submission(idx, at, rnd):
        ev.add("deliverable.submitted", d_src.take(pa.array(idx)), at, _cat(
            "{", art.take(pa.array(idx)), ',"deliverable_id":"', d_id.take(pa.array(idx)), '","due_at":"',
            _iso(due[idx]), '","submission_round":', str(rnd), ',"submitted_at":"', _iso(at), '"}'),
            candidate=cand[d_eng[idx]], engagement=d_engref.take(pa.array(idx)), employer=d_emp.take(pa.array(idx)))

    def review(idx, at, rnd, outcome):
        ev.add("deliverable.reviewed", d_src.take(pa.array(idx)), at, _cat(
            '{"deliverable_id":"', d_id.take(pa.array(idx)), '","outcome":"', outcome, '","review_round":', str(rnd),
            "}"), candidate=cand[d_eng[idx]], engagement=d_engref.take(pa.array(idx)),
            employer=d_emp.take(pa.array(idx)))

    all_d = np.arange(D)
    submission(all_d, submitted, 1)
    outcome1 = rng.choice(3, size=D, p=[0.7, 0.24, 0.06])
    reviewed1 = submitted + rng.integers(4, 72, size=D) * US_PER_HOUR
    review(all_d, reviewed1, 1, pa.array(np.array(["approved", "changes_requested", "rejected"])[outcome1]))
    again = np.flatnonzero(outcome1 == 1)
    resubmitted = reviewed1[again] + rng.integers(12, 96, size=len(again)) * US_PER_HOUR
    submission(again, resubmitted, 2)
    reviewed2 = resubmitted + rng.integers(4, 48, size=len(again)) * US_PER_HOUR
    review(again, reviewed2, 2, pa.array(np.where(rng.random(len(again)) < 0.9, "approved", "rejected")))
    last_review = reviewed1.copy()
    last_review[again] = reviewed2
    eng_last = np.full(E, 0, dtype=np.int64)
    np.maximum.at(eng_last, d_eng, last_review)

    done = np.flatnonzero(fate == 0)
    completed_at = np.maximum(eng_last[done], start[done]) + rng.integers(6, 72, size=len(done)) * US_PER_HOUR
    ev.add("engagement.completed", src.take(pa.array(done)), completed_at, pa.array(["{}"] * len(done)),
           candidate=cand[done], engagement=eng_ref.take(pa.array(done)), employer=emp_ref.take(pa.array(done)))
    stopped = np.flatnonzero(fate == 1)
    cancelled_at = start[stopped] + rng.integers(1, 20 * 24, size=len(stopped)) * US_PER_HOUR
    by = pa.array(np.array(["candidate", "employer", "platform"])[rng.choice(3, size=len(stopped), p=[.4, .4, .2])])
    ev.add("engagement.cancelled", src.take(pa.array(stopped)), cancelled_at,
           _cat('{"cancelled_by":"', by, '","reason":"scope change"}'),
           candidate=cand[stopped], engagement=eng_ref.take(pa.array(stopped)),
           employer=emp_ref.take(pa.array(stopped)))
    # a few completed engagements are later reported cancelled too: the first terminal event decides
    twice = done[rng.random(len(done)) < 0.01]
    ev.add("engagement.cancelled", src.take(pa.array(twice)), completed_at[np.isin(done, twice)] + US_PER_DAY,
           pa.array(['{"cancelled_by":"employer"}'] * len(twice)), candidate=cand[twice],
           engagement=eng_ref.take(pa.array(twice)), employer=emp_ref.take(pa.array(twice)))

    # mentor / client feedback on most completed engagements; a few with an incomplete rubric
    fb = rng.random(len(done)) < 0.9
    f_eng, f_at = done[fb], completed_at[fb] + rng.integers(1, 120, size=int(fb.sum())) * US_PER_HOUR
    F = len(f_eng)
    score = lambda: _str(np.clip(np.rint(rng.normal(4.0, 0.8, size=F)), 1, 5).astype(np.int64))  # noqa: E731
    quality = score()
    quality = pc.if_else(pa.array(rng.random(F) < 0.02), pa.nulls(F, pa.string()), quality)
    scores = pc.if_else(pc.is_null(quality),
                        _cat('{"communication":', score(), ',"skill_fit":', score(), ',"timeliness":', score(), "}"),
                        _cat('{"communication":', score(), ',"quality":', pc.fill_null(quality, "0"), ',"skill_fit":',
                             score(), ',"timeliness":', score(), "}"))
    gig_f = is_gig[f_eng]
    ev.add("feedback.recorded", src.take(pa.array(f_eng)), f_at, _cat(
        '{"rubric_id":"', pa.array(np.where(gig_f, "gig-client-stars", "mp-mentor-rubric")), '","rubric_version":',
        pa.array(np.where(gig_f, "1", "2")), ',"scores":', scores, ',"would_rehire":', _json_bool(rng.random(F) < 0.7),
        "}"), candidate=cand[f_eng], engagement=eng_ref.take(pa.array(f_eng)), employer=emp_ref.take(pa.array(f_eng)))

    # measured KPI outcomes on approved deliverables of completed engagements; some measured again later
    ok = np.flatnonzero((outcome1 == 0) & (fate[d_eng] == 0) & (rng.random(D) < 0.35))
    remeasured = ok[rng.random(len(ok)) < 0.1]
    o_idx = np.r_[ok, remeasured]
    O = len(o_idx)
    o_at = last_review[o_idx] + rng.integers(1, 30, size=O) * US_PER_DAY
    o_at[len(ok):] += 14 * US_PER_DAY
    baseline = np.round(rng.uniform(0, 200, size=O), 2)
    result = np.round(baseline * rng.uniform(0.5, 2.0, size=O), 2)
    zero = rng.random(O) < 0.01
    baseline[zero], result[zero] = 0.0, 0.0
    metric = _choice(rng, METRICS, O)
    metric = pc.if_else(pa.array(np.r_[np.zeros(len(ok), bool), np.ones(len(remeasured), bool)]),
                        metric.take(pa.array(np.r_[np.arange(len(ok)), np.searchsorted(ok, remeasured)])), metric)
    ev.add("outcome.measured", d_src.take(pa.array(o_idx)), o_at, _cat(
        '{"baseline":', pc.cast(pa.array(baseline), pa.string()), ',"deliverable_id":"', d_id.take(pa.array(o_idx)),
        '","metric":"', metric, '","result":', pc.cast(pa.array(result), pa.string()), ',"unit":"count"}'),
        candidate=cand[d_eng[o_idx]], engagement=d_engref.take(pa.array(o_idx)), employer=d_emp.take(pa.array(o_idx)))

    # payments: not a signal input, but candidate events all the same
    paid = done[rng.random(len(done)) < 0.8]
    ev.add("payment.settled", src.take(pa.array(paid)), completed_at[np.isin(done, paid)] + 3 * US_PER_DAY,
           _cat('{"amount":{"currency":"USD","value":', _str(rng.integers(100, 2000, size=len(paid))),
                '},"payment_id":"pay_', _str(paid), '"}'),
           candidate=cand[paid], engagement=eng_ref.take(pa.array(paid)), employer=emp_ref.take(pa.array(paid)))

    # offers after micro-engagements (some re-sent: offers count by offer_id), most accepted
    off = done[rng.random(len(done)) < 0.1]
    off_at = completed_at[np.isin(done, off)] + rng.integers(1, 20, size=len(off)) * US_PER_DAY
    resent = rng.random(len(off)) < 0.05
    o_rows = np.r_[np.arange(len(off)), np.flatnonzero(resent)]
    o_times = np.r_[off_at, off_at[resent] + 2 * US_PER_DAY]
    offer_id = _cat("offer_", _str(off[o_rows]))
    ev.add("offer.extended", src.take(pa.array(off[o_rows])), o_times, _cat(
        '{"employment_type":"', _choice(rng, ("full_time", "part_time", "contract"), len(o_rows)),
        '","is_conversion":', _json_bool(rng.random(len(o_rows)) < 0.7), ',"offer_id":"', offer_id,
        '","role_title":"Analyst"}'), candidate=cand[off[o_rows]], engagement=eng_ref.take(pa.array(off[o_rows])),
        employer=emp_ref.take(pa.array(off[o_rows])))
    acc = rng.random(len(off)) < 0.6
    ev.add("offer.accepted", src.take(pa.array(off[acc])), off_at[acc] + rng.integers(1, 96, size=int(acc.sum())) * US_PER_HOUR,
           _cat('{"offer_id":"offer_', _str(off[acc]), '"}'), candidate=cand[off[acc]],
           engagement=eng_ref.take(pa.array(off[acc])), employer=emp_ref.take(pa.array(off[acc])))

    # candidate-level events: profile updates, credentials, referrals, recruiter placements
    mp_src = lambda k: pa.array(np.where(rng.random(k) < 0.7, "marketplace", "gig"))  # noqa: E731
    pu = rng.poisson(2.5, size=C)
    pu_c = np.repeat(np.arange(C), pu)
    ev.add("candidate.profile_updated", mp_src(len(pu_c)), START_US + rng.integers(0, DAYS * US_PER_DAY, size=len(pu_c)),
           _cat('{"skills":', _json_list(rng, skill_pool, len(pu_c), 0, 3), "}"), candidate=pu_c)

    cr = rng.poisson(0.9, size=C)
    cr_c = np.repeat(np.arange(C), cr)
    K = len(cr_c)
    issued = START_US + rng.integers(0, DAYS * US_PER_DAY, size=K)
    valid_from = issued - rng.integers(0, 30, size=K) * US_PER_DAY
    open_ended = rng.random(K) < 0.3
    valid_until = valid_from + rng.integers(60, 400, size=K) * US_PER_DAY
    vr = _choice(rng, ("verified", "failed", "unverifiable"), K, p=[0.85, 0.1, 0.05])
    cred_id = _cat("cred_", _str(np.arange(K)))
    cred_src = mp_src(K)
    cred_skills = _json_list(rng, skill_pool, K, 0, 3)
    reissue = np.flatnonzero(rng.random(K) < 0.05)  # renewed: a later issue of the same credential id
    c_rows = np.r_[np.arange(K), reissue]
    c_at = np.r_[issued, issued[reissue] + rng.integers(10, 60, size=len(reissue)) * US_PER_DAY]
    c_until = np.r_[valid_until, valid_until[reissue] + 365 * US_PER_DAY]
    until_json = pc.if_else(pa.array(np.r_[open_ended, open_ended[reissue]]), pa.array(["null"] * len(c_rows)),
                            _cat('"', _iso(c_until), '"'))
    ev.add("credential.issued", cred_src.take(pa.array(c_rows)), c_at, _cat(
        '{"achievement":"Certificate","credential_id":"', cred_id.take(pa.array(c_rows)),
        '","issuer":"did:web:issuer.example","proof_type":"DataIntegrityProof","skills":',
        cred_skills.take(pa.array(c_rows)), ',"valid_from":"', _iso(valid_from[c_rows]), '","valid_until":', until_json,
        ',"verification_result":"', vr.take(pa.array(c_rows)), '"}'), candidate=cr_c[c_rows])
    sc = np.flatnonzero(rng.random(K) < 0.15)  # status re-checks: revocations, suspensions, failed re-verification
    status = _choice(rng, ("revoked", "suspended", "expired", "active"), len(sc), p=[0.4, 0.2, 0.15, 0.25])
    recheck = pc.if_else(pa.array(rng.random(len(sc)) < 0.2), pa.array(['"failed"'] * len(sc)),
                         pa.array(['"verified"'] * len(sc)))
    ev.add("credential.status_changed", cred_src.take(pa.array(sc)),
           issued[sc] + rng.integers(1, 120, size=len(sc)) * US_PER_DAY, _cat(
               '{"credential_id":"', cred_id.take(pa.array(sc)), '","status":"', status, '","verification_result":',
               recheck, "}"), candidate=cr_c[sc])

    rf = rng.poisson(0.35, size=C)
    rf_c = np.repeat(np.arange(C), rf)
    R = len(rf_c)
    outsider = _cat("cand_ext", _str(rng.integers(0, 10**9, size=R)))
    referred = pc.if_else(pa.array(rng.random(R) < 0.8), candidate_refs.take(pa.array(rng.integers(0, C, size=R))),
                          outsider)
    ev.add("referral.made", mp_src(R), START_US + rng.integers(0, DAYS * US_PER_DAY, size=R),
           _cat('{"referred_candidate_ref":"', referred, '"}'), candidate=rf_c)

    pl_c = np.flatnonzero(rng.random(C) < 0.1)
    P = len(pl_c)
    agency = _choice(rng, ("agency_a", "agency_b"), P)
    pl_ref = _cat("recruiter:", agency, ":plc_", _str(np.arange(P)))
    pl_emp = _cat("recruiter:", agency, ":client_", _str(rng.integers(0, 50, size=P)))
    pl_src = pa.array([RECRUITER_SOURCE] * P) if P else pa.array([], pa.string())
    at = START_US + rng.integers(0, (DAYS - 40) * US_PER_DAY, size=P)
    step = rng.random(P)
    for k, (stage, share) in enumerate((("submitted", 1.0), ("interviewed", 0.7), ("offered", 0.4),
                                        ("started", 0.3), ("fell_off", 0.1))):
        idx = np.flatnonzero(step < share)
        ev.add(f"placement.{stage}", pl_src.take(pa.array(idx)), at[idx] + k * 6 * US_PER_DAY,
               _cat('{"client":"Client","placement_id":"plc_', _str(idx), '","recruiter":"r1"}'),
               candidate=pl_c[idx], engagement=pl_ref.take(pa.array(idx)), employer=pl_emp.take(pa.array(idx)))

    table = ev.table(rng)
    # the window ends at the as-of date; later events have not happened yet
    keep = pc.less(table.column("occurred_us"), END_US)
    return table.filter(keep)
