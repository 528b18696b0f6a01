"""A deterministic gig / freelance platform population.

`generate(seed, start, end, candidates, employers)` simulates clients hiring freelancers on fixed-price
(milestone) and hourly contracts between `start` and `end` (00:00 UTC each): contract offers and starts,
milestones submitted, sent back for changes and approved, escrow releases and weekly hourly payments,
contracts ending (completed, or cancelled by the client, the freelancer or the platform) and client reviews.

People: the freelancers are drawn from the *same people* as the marketplace population for the same
(seed, start, end, candidates): a seeded ~40% of its candidates (same email, same reliability and skill, so
the two sources tell a consistent story about one person), plus gig-only freelancers who never used the
marketplace. The platform keeps emails its own way: a freelancer's account email is stored as they typed it
at sign-up (upper case or title case for some), occasionally served with stray whitespace, and a few shared
people registered with another address altogether (identity resolution cannot, and must not, join those).

The wire shape is the platform's **activity log**: one entry per change of an object (a new `revision`),
carrying the object's full state after the change, with epoch-millisecond timestamps and integer minor
units of money. Records are kept in the API v2 shape; `render(record, "1")` gives the v1 shape, where
`worker_id` / `worker_email` were still `freelancer_id` / `freelancer_email` and every `*_minor_units`
field was `*_cents` (renamed in v2 because for zero-decimal currencies such as JPY it never held cents).

    {"object": "contract", "id": "ct_..", "revision": 1..3, "status": "offered" | "active" | "ended",
     "client_id", "worker_id", "worker_email", "region", "title", "category", "skills": [..],
     "contract_type": "fixed_price" | "hourly", "currency", "budget_minor_units" | "hourly_rate_minor_units",
     "duration_weeks", "milestones": [{"id", "sequence", "title", "due_at", "amount_minor_units"}],
     "proposal_id", "offered_at", "started_at", "planned_end_at", "ended_at", "end_reason", "end_note",
     "created_at", "modified_at"}
    {"object": "milestone", "id": "ms_..", "revision", "status": "submitted" | "changes_requested" | "approved",
     "contract_id", "client_id", "worker_id", "worker_email", "region", "sequence", "title", "due_at",
     "amount_minor_units", "currency", "submission_round", "submitted_at", "reviewed_at", "attachment_url",
     "modified_at"}
    {"object": "review", "id": "rv_..", "revision": 1, "status": "published", "contract_id", "client_id",
     "worker_id", "worker_email", "region", "ratings": {"quality", "communication", "deadlines", "expertise",
     "cooperation": 1..5}, "overall", "would_hire_again", "comment", "created_at", "modified_at"}
    {"object": "payment", "id": "py_..", "revision": 1, "status": "paid", "kind": "milestone" | "hourly" | "bonus",
     "contract_id", "milestone_id", "client_id", "worker_id", "worker_email", "region", "amount_minor_units",
     "currency", "hours", "paid_at", "modified_at"}

Milestones are created with the contract and listed on it (`milestones`); a milestone object enters the
activity log with its first own change, the submission.

Source-side imperfections are part of the population: entries written to the log 2-30 days after the change
(`late_rate`), entries written twice (`duplicate_rate`: the same entry, same modified_at) and objects whose
latest state is served again later after a re-index (`retouch_rate`: same revision, later modified_at).
Nothing happens or is logged at or after `end`. Everything derives from `random.Random` instances seeded
from `seed`; no global random state and no wall clock.
"""

from __future__ import annotations

import bisect
import random
import time as _time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from itertools import accumulate
from typing import Any

from hiring_signals.simulators.marketplace.population import CATEGORIES, Candidate, Rates as _MarketplaceRates
from hiring_signals.simulators.marketplace.population import _clip, _epoch, check_generate_args, unique_id, window_range
from hiring_signals.simulators.marketplace.population import _score as _stars

SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

API_VERSIONS = ("1", "2")
LATEST_API_VERSION = "2"
# v2 renamed these (v1 name -> v2 name); `*_cents` -> `*_minor_units` applies to every amount field.
RENAMED_IN_V2 = {"freelancer_id": "worker_id", "freelancer_email": "worker_email", "*_cents": "*_minor_units"}

OBJECTS = ("contract", "milestone", "review", "payment")
END_REASONS = ("completed", "cancelled_by_client", "withdrawn_by_freelancer", "terminated_by_platform")
RATING_DIMENSIONS = ("quality", "communication", "deadlines", "expertise", "cooperation")
# Which field holds the time of the change that produced an entry, per (object, status).
STATE_TIMESTAMP = {
    ("contract", "offered"): "offered_at",
    ("contract", "active"): "started_at",
    ("contract", "ended"): "ended_at",
    ("milestone", "submitted"): "submitted_at",
    ("milestone", "changes_requested"): "reviewed_at",
    ("milestone", "approved"): "reviewed_at",
    ("review", "published"): "created_at",
    ("payment", "paid"): "paid_at",
}

# Client regions and the currencies they pay in (weights within a region); FX is units per USD.
REGIONS: dict[str, tuple[float, tuple[tuple[str, float], ...]]] = {
    "us": (0.45, (("USD", 1.0),)),
    "eu": (0.22, (("EUR", 1.0),)),
    "uk": (0.12, (("GBP", 1.0),)),
    "apac": (0.21, (("AUD", 0.55), ("JPY", 0.3), ("SGD", 0.15))),
}
FX_PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "AUD": 1.52, "JPY": 151.0, "SGD": 1.35}
MINOR_UNIT_EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "JPY": 0, "SGD": 2}

_CANCEL_NOTES = {
    "cancelled_by_client": ("budget_cut", "project_deprioritised", "quality_concerns", "missed_deadlines",
                            "hired_in_house"),
    "withdrawn_by_freelancer": ("schedule_conflict", "scope_creep", "personal_reasons", "took_other_contract"),
    "terminated_by_platform": ("policy_violation", "payment_dispute", "identity_verification_failed"),
}
_COMMENTS = {
    "good": ("Fantastic to work with, would hire again.", "Delivered everything early and documented well.",
             "Great communication and very strong skills."),
    "mixed": ("Good work in the end, needed a couple of revision rounds.", "Decent output, updates were slow.",
              "Did the job; had to clarify scope more than once."),
    "poor": ("Missed several deadlines.", "Quality was not what we agreed.", "Hard to reach during the contract."),
}


@dataclass(frozen=True)
class GigRates:
    """Knobs of the simulation; `generate(**rates)` overrides any of them."""

    freelancer_share: float = 0.4  # fraction of the marketplace's people who also freelance here
    gig_only_ratio: float = 0.25  # gig-only freelancers per shared freelancer
    other_email_rate: float = 0.06  # shared people who signed up here with another address
    email_upper_rate: float = 0.3  # accounts whose email the platform stores upper-cased
    email_title_rate: float = 0.1  # accounts whose email was typed Title.Case@Domain.Com
    email_whitespace_rate: float = 0.03  # entries whose email carries stray whitespace
    late_rate: float = 0.04  # entries written to the log 2-30 days after the change
    duplicate_rate: float = 0.015  # entries written to the log twice (same entry, same modified_at)
    retouch_rate: float = 0.02  # objects whose latest state is served again later (re-index)
    hourly_share: float = 0.2  # contracts paid by the hour (no milestones)
    completion_rate: float = 0.84  # started contracts that complete (rest end early)
    review_rate: float = 0.75  # completed contracts the client reviews
    rehire_rate: float = 0.25  # new contracts going to a freelancer the client would hire again
    bonus_rate: float = 0.08  # completed contracts with a bonus payment
    contracts_per_day_per_300_clients: float = 22.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"rate {f.name} must be a non-negative number, got {value!r}")
            if (f.name.endswith("_rate") or f.name.endswith("_share")) and value > 1:
                raise ValueError(f"rate {f.name} must be within [0, 1], got {value!r}")


@dataclass(slots=True)
class Freelancer:
    id: str
    email: str  # the person's canonical address
    account_email: str  # what the platform stores and serves (case as typed; maybe another address)
    marketplace_candidate_id: str | None  # the same person's marketplace id, if they are one
    first_name: str
    last_name: str
    reliability: float
    skill: float
    activity: float
    joined_ms: int
    categories: tuple[str, ...]
    skills: list[str]

    @property
    def resolvable(self) -> bool:
        """True when the platform's address is the person's marketplace address (same normalised email)."""
        return self.marketplace_candidate_id is not None and self.account_email.strip().lower() == self.email


@dataclass(slots=True)
class Client:
    id: str
    name: str
    region: str
    currency: str
    categories: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class GigPopulation:
    """The generated platform: people plus its activity log.

    `records` are the log entries in the v2 wire shape, sorted by (modified_at, id, revision, seq);
    `positions[i]` is that sort key of `records[i]`, where seq is 0 for the entry itself, 1 for a copy
    written twice and 2 for a re-served (re-indexed) latest state.
    """

    seed: int
    start: date
    end: date
    rates: GigRates
    freelancers: tuple[Freelancer, ...]
    clients: tuple[Client, ...]
    records: list[dict]
    positions: list[tuple[int, str, int, int]]
    late_keys: frozenset[tuple[str, int]]
    generation_seconds: float = field(default=0.0, compare=False)

    @property
    def start_ms(self) -> int:
        return _epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return _epoch_ms(self.end)

    def window(self, since_ms: int | None = None, until_ms: int | None = None) -> tuple[int, int]:
        """Index range [lo, hi) of entries with since_ms <= modified_at < until_ms."""
        return window_range(self.positions, since_ms, until_ms)

    def window_stats(self, since_ms: int | None = None, until_ms: int | None = None) -> dict[str, int]:
        """What a consumer pulling exactly this window receives: entries, distinct states (object id and
        revision) and the copies of a state already served earlier in the same window."""
        lo, hi = self.window(since_ms, until_ms)
        distinct = len({(p[1], p[2]) for p in self.positions[lo:hi]})
        late = sum(1 for p in self.positions[lo:hi] if p[3] == 0 and (p[1], p[2]) in self.late_keys)
        return {"records": hi - lo, "distinct_states": distinct, "duplicate_copies": hi - lo - distinct, "late": late}

    def stats(self) -> dict[str, Any]:
        by_object_status = Counter(f"{r['object']}.{r['status']}" for r, p in zip(self.records, self.positions)
                                   if p[3] == 0)
        seqs = Counter(p[3] for p in self.positions)
        shared = [f for f in self.freelancers if f.marketplace_candidate_id is not None]
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "records": len(self.records),
            "distinct_states": seqs[0],
            "duplicate_copies": seqs[1],
            "retouched": seqs[2],
            "late_entries": len(self.late_keys),
            "freelancers": len(self.freelancers),
            "shared_with_marketplace": len(shared),
            "resolvable_with_marketplace": sum(1 for f in shared if f.resolvable),
            "clients": len(self.clients),
            "contracts": by_object_status["contract.offered"],
            "by_object_status": dict(sorted(by_object_status.items())),
            "generation_seconds": round(self.generation_seconds, 3),
        }


# --------------------------------------------------------------------------------------------------------
# Wire versions
# --------------------------------------------------------------------------------------------------------

_V1_NAMES = {"worker_id": "freelancer_id", "worker_email": "freelancer_email"}


def _v1_key(key: str) -> str:
    if key in _V1_NAMES:
        return _V1_NAMES[key]
    if key.endswith("_minor_units"):
        return key[: -len("_minor_units")] + "_cents"
    return key


def render(record: Any, api_version: str) -> Any:
    """A v2 record in the shape API `api_version` serves (a new object; the input is not modified)."""
    if api_version == "2":
        return record
    if api_version != "1":
        raise ValueError(f"unknown API version {api_version!r}; known: {', '.join(API_VERSIONS)}")
    if isinstance(record, dict):
        return {_v1_key(k): render(v, "1") for k, v in record.items()}
    if isinstance(record, list):
        return [render(v, "1") for v in record]
    return record


def minor_units(amount: float, currency: str) -> int:
    return int(round(amount * 10 ** MINOR_UNIT_EXPONENT[currency]))


# --------------------------------------------------------------------------------------------------------
# People shared with the marketplace
# --------------------------------------------------------------------------------------------------------

def _epoch_ms(d: date) -> int:
    return _epoch(d) * SECOND


def _marketplace_generator(seed: int, start: date, end: date, candidates: int, employers: int):
    # Only the marketplace generator's people step runs: it is the first consumer of its people and id
    # streams, so these are exactly `marketplace.generate(seed, start, end, candidates, employers)`'s
    # candidates and employers (tests/unit/test_gig_population.py holds that), at a fraction of the cost.
    from hiring_signals.simulators.marketplace.population import _Generator

    gen = _Generator(seed, start, end, candidates, employers, _MarketplaceRates())
    gen.make_people()
    return gen


def marketplace_people(seed: int, start: date, end: date, candidates: int = 3000,
                       employers: int = 300) -> tuple[tuple[Candidate, ...], tuple]:
    """The marketplace population's (candidates, employers) for these arguments."""
    gen = _marketplace_generator(seed, start, end, candidates, employers)
    return tuple(gen.candidates), tuple(gen.employers)


class _Generator:
    def __init__(self, seed: int, start: date, end: date, n_candidates: int, n_employers: int, rates: GigRates):
        self.seed = seed
        self.rates = rates
        self.S = _epoch_ms(start)
        self.E = _epoch_ms(end)
        self.n_candidates = n_candidates
        self.n_employers = n_employers
        self.rng_people = random.Random(f"{seed}:gig:people")
        self.rng_contracts = random.Random(f"{seed}:gig:contracts")
        self.rng_life = random.Random(f"{seed}:gig:lifecycle")
        self.rng_ids = random.Random(f"{seed}:gig:ids")
        self.rng_log = random.Random(f"{seed}:gig:log")
        self._used_ids: set[str] = set()
        # (occurred_ms, record) for every change, in generation order; the log is built from these.
        self.changes: list[tuple[int, dict]] = []
        self.final_revision: dict[str, int] = {}

    def _id(self, prefix: str, bits: int = 48) -> str:
        return unique_id(self.rng_ids, self._used_ids, prefix, bits)

    # -- people -----------------------------------------------------------------------------------------
    def make_people(self) -> None:
        rng = self.rng_people
        rates = self.rates
        mp = _marketplace_generator(self.seed, datetime.fromtimestamp(self.S / SECOND, timezone.utc).date(),
                                    datetime.fromtimestamp(self.E / SECOND, timezone.utc).date(),
                                    self.n_candidates, self.n_employers)
        self.freelancers: list[Freelancer] = []
        shared = [c for c in mp.candidates if rng.random() < rates.freelancer_share]
        for cand in shared:
            account = cand.email
            if rng.random() < rates.other_email_rate:
                # Signed up here with another address: the same person, but nothing links the two.
                account = mp._email(rng, cand.first_name, cand.last_name, cand.tenant)
            self.freelancers.append(self._freelancer(rng, account, cand.email, cand.id, cand.first_name,
                                                     cand.last_name, cand.reliability, cand.skill, cand.activity,
                                                     cand.joined_s * SECOND, cand.categories, list(cand.skills)))
        # Gig-only people: drawn like the marketplace draws its people, with addresses no marketplace
        # candidate has (the marketplace generator's email registry guarantees it).
        from hiring_signals.simulators.marketplace.population import _CATEGORY_NAMES, _FIRST, _LAST, TENANTS

        for _ in range(int(round(len(shared) * rates.gig_only_ratio))):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email = mp._email(rng, first, last, rng.choice(TENANTS))
            cats = tuple(rng.sample(_CATEGORY_NAMES, k=rng.choice((1, 1, 2))))
            pool = sorted({s for c in cats for s in CATEGORIES[c]["skills"]})
            reliability = rng.betavariate(3, 3) if rng.random() < 0.15 else rng.betavariate(9, 1.5)
            joined = self.S - rng.randint(1, 700) * DAY if rng.random() < 0.7 else rng.randint(self.S, self.E - 1)
            self.freelancers.append(self._freelancer(rng, email, email, None, first, last, reliability,
                                                     _clip(rng.gauss(3.7, 0.65), 1.5, 5.0),
                                                     rng.lognormvariate(0, 0.7), joined, cats,
                                                     rng.sample(pool, k=min(len(pool), rng.randint(2, 5)))))
        if not self.freelancers:
            raise ValueError("no freelancers: raise candidates or freelancer_share")

        self.clients: list[Client] = []
        region_names = tuple(REGIONS)
        region_weights = tuple(w for w, _ in REGIONS.values())
        for employer in mp.employers:  # the same companies, with their own accounts here
            region = rng.choices(region_names, weights=region_weights)[0]
            currencies = REGIONS[region][1]
            currency = rng.choices([c for c, _ in currencies], weights=[w for _, w in currencies])[0]
            self.clients.append(Client(id=self._id("cl", 40), name=employer.name, region=region, currency=currency,
                                       categories=employer.categories, weight=rng.lognormvariate(0, 0.8)))
        self._client_cum = list(accumulate(c.weight for c in self.clients))
        self._pools: dict[str, tuple[list[Freelancer], list[float]]] = {}
        for cat in CATEGORIES:
            members = [f for f in self.freelancers if cat in f.categories] or self.freelancers
            self._pools[cat] = (members, list(accumulate(f.activity for f in members)))

    def _freelancer(self, rng: random.Random, account: str, email: str, candidate_id: str | None, first: str,
                    last: str, reliability: float, skill: float, activity: float, joined_ms: int,
                    categories: tuple[str, ...], skills: list[str]) -> Freelancer:
        style = rng.random()
        if style < self.rates.email_upper_rate:
            account = account.upper()
        elif style < self.rates.email_upper_rate + self.rates.email_title_rate:
            local, _, domain = account.partition("@")
            account = f"{local.title()}@{domain.title()}"
        return Freelancer(id=self._id("fl", 40), email=email, account_email=account,
                          marketplace_candidate_id=candidate_id, first_name=first, last_name=last,
                          reliability=reliability, skill=skill, activity=activity,
                          joined_ms=joined_ms + rng.randrange(SECOND), categories=categories, skills=skills)

    # -- contracts --------------------------------------------------------------------------------------
    def make_contracts(self) -> None:
        rng = self.rng_contracts
        per_day = self.rates.contracts_per_day_per_300_clients * len(self.clients) / 300
        # clients who would hire a freelancer again: (client id) -> [(known from ms, freelancer)]
        self._rehire: dict[str, list[tuple[int, Freelancer]]] = {}
        day = self.S
        while day < self.E:
            weekday = datetime.fromtimestamp(day / SECOND, timezone.utc).weekday()
            rate = per_day * (0.35 if weekday >= 5 else 1.0)
            t = day
            while rate > 0:
                t += int(rng.expovariate(rate / DAY))
                if t >= day + DAY or t >= self.E:
                    break
                client = self.clients[bisect.bisect_left(self._client_cum, rng.random() * self._client_cum[-1])]
                category = rng.choice(client.categories)
                freelancer = self._pick_freelancer(rng, client, category, t)
                if freelancer is not None:
                    self._contract(t, client, freelancer, category)
            day += DAY

    def _pick_freelancer(self, rng: random.Random, client: Client, category: str, t: int) -> Freelancer | None:
        known = [f for since, f in self._rehire.get(client.id, ()) if since < t]
        if known and rng.random() < self.rates.rehire_rate:
            return rng.choice(known)
        members, cum = self._pools[category]
        for _ in range(8):
            f = members[bisect.bisect_left(cum, rng.random() * cum[-1])]
            if f.joined_ms <= t:
                return f
        return None

    def _served_email(self, f: Freelancer) -> str:
        rng = self.rng_life
        if rng.random() >= self.rates.email_whitespace_rate:
            return f.account_email
        return rng.choice((" {} ", "{}\t", "\t{}", "{}  ")).format(f.account_email)

    def _change(self, occurred: int, record: dict) -> bool:
        """Record a change at `occurred` (ms); False when it would happen at or after the window's end."""
        if occurred >= self.E:
            return False
        self.final_revision[record["id"]] = record["revision"]
        self.changes.append((occurred, dict(record)))
        return True

    def _contract(self, offered: int, client: Client, fl: Freelancer, category: str) -> None:
        rng = self.rng_life
        rates = self.rates
        spec = CATEGORIES[category]
        currency = client.currency
        hourly = rng.random() < rates.hourly_share
        weeks = rng.choice((1, 1, 2, 2, 2, 3, 4, 4, 6, 8))
        weekly_usd = spec["weekly_rate"] * 1.35 * rng.uniform(0.7, 1.5) * (0.8 + 0.06 * fl.skill)
        contract_id = self._id("ct")
        started = offered + rng.randint(20 * MINUTE, 3 * DAY)
        planned_end = started + weeks * WEEK
        base = {
            "object": "contract", "id": contract_id, "revision": 1, "status": "offered",
            "client_id": client.id, "worker_id": fl.id, "worker_email": self._served_email(fl),
            "region": client.region,
            "title": rng.choice(spec["titles"]), "category": category,
            "skills": rng.sample(spec["skills"], k=rng.randint(2, min(4, len(spec["skills"])))),
            "contract_type": "hourly" if hourly else "fixed_price", "currency": currency,
        }
        plan: list[dict] = []
        if hourly:
            hourly_rate = minor_units(weekly_usd / 20 * FX_PER_USD[currency], currency)
            base.update({"hourly_rate_minor_units": hourly_rate, "weekly_hours_limit": rng.choice((10, 20, 30, 40))})
        else:
            budget = minor_units(weekly_usd * weeks * FX_PER_USD[currency], currency)
            k = min(weeks + 1, rng.choice((1, 2, 2, 3, 3, 4)))
            titles = spec["deliverables"]
            share = budget // k
            for i in range(k):
                due = started + (i + 1) * weeks * WEEK // k
                due = due - due % DAY + DAY - SECOND  # end of that UTC day, 23:59:59.000
                plan.append({"id": self._id("ms"), "sequence": i + 1, "title": titles[min(i, len(titles) - 1)] if k > 1
                             else rng.choice(titles), "due_at": due,
                             "amount_minor_units": share if i < k - 1 else budget - share * (k - 1)})
            base["budget_minor_units"] = budget
        base.update({"duration_weeks": weeks, "milestones": plan, "proposal_id": self._id("pr"),
                     "offered_at": offered, "started_at": None, "planned_end_at": None, "ended_at": None,
                     "end_reason": None, "end_note": None, "created_at": offered})
        if not self._change(offered, base):
            return
        contract = dict(base, revision=2, status="active", started_at=started, planned_end_at=planned_end,
                        worker_email=self._served_email(fl))
        if not self._change(started, contract):
            return

        completes = rng.random() < _clip(rates.completion_rate + 0.3 * (fl.reliability - 0.82), 0.3, 0.98)
        cancel_at = None if completes else started + int((planned_end - started) * rng.uniform(0.15, 0.9))
        common = {"contract_id": contract_id, "client_id": client.id, "worker_id": fl.id, "region": client.region}
        stopped = False
        on_time = submitted = 0
        last = started
        if hourly:
            week_end = started + WEEK
            while week_end <= (cancel_at or planned_end):
                hours = round(_clip(rng.gauss(0.6 * base["weekly_hours_limit"], 4), 1, base["weekly_hours_limit"]), 2)
                paid = week_end + rng.randint(HOUR, 3 * DAY)
                if not self._payment(paid, common, fl, "hourly", int(round(hours * base["hourly_rate_minor_units"])),
                                     currency, hours=hours):
                    stopped = True
                    break
                last = week_end
                week_end += WEEK
        else:
            first_pass = _clip(0.35 + 0.15 * (fl.skill - 3), 0.1, 0.95)
            for m in plan:
                due = m["due_at"]
                if rng.random() < fl.reliability:
                    sub = due - rng.randint(0, min(3 * DAY, max(due - last, 1)))
                else:
                    sub = due + rng.randint(HOUR, 8 * DAY)
                sub = max(sub, last + rng.randint(30 * MINUTE, 6 * HOUR))
                if cancel_at is not None and sub >= cancel_at:
                    break
                submitted += 1
                on_time += sub <= due
                ms = {"object": "milestone", "id": m["id"], "revision": 1, "status": "submitted", **common,
                      "worker_email": self._served_email(fl), "sequence": m["sequence"], "title": m["title"],
                      "due_at": due, "amount_minor_units": m["amount_minor_units"], "currency": currency,
                      "submission_round": 1, "submitted_at": sub, "reviewed_at": None,
                      "attachment_url": f"https://files.gig.example/{m['id']}/r1.zip"}
                if not self._change(sub, ms):
                    stopped = True
                    break
                reviewed = sub + rng.randint(2 * HOUR, 3 * DAY)
                if cancel_at is not None and reviewed >= cancel_at:
                    break
                if rng.random() >= first_pass:
                    ms = dict(ms, revision=ms["revision"] + 1, status="changes_requested", reviewed_at=reviewed,
                              worker_email=self._served_email(fl))
                    if not self._change(reviewed, ms):
                        stopped = True
                        break
                    resub = reviewed + rng.randint(12 * HOUR, 4 * DAY)
                    if cancel_at is not None and resub >= cancel_at:
                        break
                    ms = dict(ms, revision=ms["revision"] + 1, status="submitted", submission_round=2,
                              submitted_at=resub, reviewed_at=None,
                              attachment_url=f"https://files.gig.example/{m['id']}/r2.zip",
                              worker_email=self._served_email(fl))
                    if not self._change(resub, ms):
                        stopped = True
                        break
                    reviewed = resub + rng.randint(2 * HOUR, 2 * DAY)
                    if cancel_at is not None and reviewed >= cancel_at:
                        break
                ms = dict(ms, revision=ms["revision"] + 1, status="approved", reviewed_at=reviewed,
                          worker_email=self._served_email(fl))
                if not self._change(reviewed, ms):
                    stopped = True
                    break
                last = reviewed
                if not self._payment(reviewed + rng.randint(10 * MINUTE, 2 * DAY), common, fl, "milestone",
                                     m["amount_minor_units"], currency, milestone_id=m["id"]):
                    stopped = True
                    break
        if stopped:
            return  # the window ended mid-contract: it stays active

        if cancel_at is not None:
            reason = rng.choices(END_REASONS[1:], weights=(0.45, 0.4 + (0.8 - fl.reliability), 0.1))[0]
            ended, note = cancel_at, rng.choice(_CANCEL_NOTES[reason])
        else:
            reason, note = "completed", None
            ended = (max(last, planned_end - 2 * DAY) if hourly else last) + rng.randint(HOUR, 2 * DAY)
        contract = dict(contract, revision=3, status="ended", ended_at=ended, end_reason=reason, end_note=note,
                        worker_email=self._served_email(fl))
        if not self._change(ended, contract):
            return
        if reason == "completed" and rng.random() < rates.bonus_rate:
            bonus = minor_units(weekly_usd * rng.uniform(0.05, 0.2) * FX_PER_USD[currency], currency)
            self._payment(ended + rng.randint(HOUR, 4 * DAY), common, fl, "bonus", bonus, currency)
        p_review = {"completed": rates.review_rate, "cancelled_by_client": 0.45, "withdrawn_by_freelancer": 0.4,
                    "terminated_by_platform": 0.0}[reason]
        if rng.random() < p_review:
            self._review(ended + rng.randint(HOUR, 7 * DAY), common, fl, client, base, on_time, submitted, reason)

    def _payment(self, paid: int, common: dict, fl: Freelancer, kind: str, amount: int, currency: str, *,
                 milestone_id: str | None = None, hours: float | None = None) -> bool:
        return self._change(paid, {
            "object": "payment", "id": self._id("py"), "revision": 1, "status": "paid", "kind": kind, **common,
            "milestone_id": milestone_id, "worker_email": self._served_email(fl), "amount_minor_units": amount,
            "currency": currency, "hours": hours, "paid_at": paid})

    def _review(self, created: int, common: dict, fl: Freelancer, client: Client, contract: dict, on_time: int,
                submitted: int, reason: str) -> None:
        rng = self.rng_life
        on_time_frac = on_time / submitted if submitted else fl.reliability
        fit = len(set(contract["skills"]) & set(fl.skills)) / len(contract["skills"])
        penalty = 0.8 if reason != "completed" else 0.0
        generosity = 0.3  # platform ratings run high
        ratings = {
            "quality": _stars(rng.gauss(fl.skill + generosity - penalty, 0.6)),
            "communication": _stars(rng.gauss(0.5 * fl.skill + 2.1 + 0.6 * (fl.reliability - 0.8) - penalty, 0.7)),
            "deadlines": _stars(rng.gauss(1.7 + 3.4 * on_time_frac - penalty, 0.5)),
            "expertise": _stars(rng.gauss(fl.skill - 0.2 + 0.8 * fit + generosity - penalty, 0.6)),
            "cooperation": _stars(rng.gauss(4.2 - penalty, 0.7)),
        }
        overall = round(sum(ratings.values()) / len(ratings), 2)
        would_hire = overall >= 3.8
        if rng.random() < 0.07:
            would_hire = not would_hire
        tone = "good" if overall >= 4.2 else "mixed" if overall >= 3 else "poor"
        if self._change(created, {
                "object": "review", "id": self._id("rv"), "revision": 1, "status": "published", **common,
                "worker_email": self._served_email(fl), "ratings": ratings, "overall": overall,
                "would_hire_again": would_hire, "comment": rng.choice(_COMMENTS[tone]), "created_at": created}) \
                and would_hire:
            self._rehire.setdefault(client.id, []).append((created, fl))

    # -- the activity log -------------------------------------------------------------------------------
    def build(self) -> tuple[list[dict], list[tuple[int, str, int, int]], frozenset[tuple[str, int]]]:
        rng = self.rng_log
        rates = self.rates
        E = self.E
        rows: list[tuple[int, str, int, int, dict]] = []
        late: set[tuple[str, int]] = set()
        for occurred, record in self.changes:
            if rng.random() < rates.late_rate:
                modified = occurred + rng.randint(2 * DAY, 30 * DAY)
                is_late = True
            else:
                modified = occurred + min(int(rng.expovariate(1 / (90 * SECOND))), 30 * MINUTE)
                is_late = False
            duplicated = rng.random() < rates.duplicate_rate
            retouch_after = rng.randint(HOUR, 10 * DAY) if rng.random() < rates.retouch_rate else None
            if modified >= E:
                continue  # logged after the window: the API does not have it yet
            key = (record["id"], record["revision"])
            entry = dict(record, modified_at=modified)
            rows.append((modified, key[0], key[1], 0, entry))
            if is_late:
                late.add(key)
            if duplicated:
                rows.append((modified, key[0], key[1], 1, entry))
            if retouch_after is not None and self.final_revision[key[0]] == key[1] and modified + retouch_after < E:
                rows.append((modified + retouch_after, key[0], key[1], 2, dict(entry, modified_at=modified + retouch_after)))
        rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
        return [r[4] for r in rows], [(r[0], r[1], r[2], r[3]) for r in rows], frozenset(late)


def generate(seed: int, start: date, end: date, candidates: int = 3000, employers: int = 300,
             **rates: float) -> GigPopulation:
    """Simulate the gig platform between `start` and `end` (00:00 UTC each) deterministically from `seed`.

    `candidates` and `employers` are the marketplace population's sizes: the freelancers are drawn from its
    people (same seed, start and end), the clients are its companies. `rates` overrides GigRates fields.
    """
    check_generate_args(seed, start, end, candidates, employers, rates, GigRates)
    began = _time.perf_counter()
    settings = GigRates(**rates)
    gen = _Generator(seed, start, end, candidates, employers, settings)
    gen.make_people()
    gen.make_contracts()
    records, positions, late = gen.build()
    return GigPopulation(seed=seed, start=start, end=end, rates=settings, freelancers=tuple(gen.freelancers),
                         clients=tuple(gen.clients), records=records, positions=positions, late_keys=late,
                         generation_seconds=_time.perf_counter() - began)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // SECOND, timezone.utc).replace(microsecond=(ms % SECOND) * 1000)


__all__ = ["API_VERSIONS", "LATEST_API_VERSION", "RENAMED_IN_V2", "STATE_TIMESTAMP", "Client", "Freelancer", "GigPopulation",
           "GigRates", "generate", "marketplace_people", "minor_units", "ms_to_datetime", "render"]
