"""A deterministic, realistic micro-internship marketplace population.

`generate(seed, start, end, ...)` simulates employers posting short engagements, candidates applying and
being selected, deliverables submitted (on time or late, per a candidate's reliability) and reviewed,
engagements completing or being cancelled, mentor feedback (scores driven by a candidate's skill), measured
outcomes, payments, offers (conversions to a role), verifiable credentials with re-checks and revocations,
referrals and profile updates. The result is the list of event records the marketplace API serves, in the
wire shape below, sorted by (updated_at, id, delivery sequence):

    {"id": "evt_...", "type": "<event_type>.v1", "occurred_at": "...Z", "updated_at": "...Z",
     "tenant": "<program>", "candidate": {"id": "...", "email": "..."} | null,
     "employer_id": str | null, "engagement_id": str | null, "data": {<payload>}}

Source-side imperfections are part of the population: a fraction of records is recorded 2-20 days after
it occurred (`late_rate`), a fraction is delivered twice with a later updated_at (`redelivery_rate`), and
candidates' emails vary in case and surrounding whitespace from event to event. Nothing occurs or is
recorded at or after `end` (00:00 UTC): what would happen later is simply not there yet, so engagements
running at `end` stay in progress. Everything derives from `random.Random` instances seeded from `seed`;
no global random state and no wall clock.

The scripted personas (personas.py) are always included and never touched by late / redelivery injection.
"""

from __future__ import annotations

import bisect
import calendar
import math
import random
import time as _time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timezone
from itertools import accumulate
from typing import Any

from hiring_signals.simulators.marketplace.personas import PERSONAS, persona_events

DAY = 86_400
HOUR = 3_600
US = 1_000_000
WIRE_VERSION = "v1"

TENANTS = ("northbridge-university", "riverside-community-college", "coding-bootcamp-collective",
           "civic-fellows-program")
_TENANT_WEIGHTS = (0.35, 0.25, 0.25, 0.15)


@dataclass(frozen=True)
class Rates:
    """Knobs of the simulation; `generate(**rates)` overrides any of them."""

    late_rate: float = 0.03  # records recorded (updated_at) 2-20 days after they occurred
    redelivery_rate: float = 0.01  # records served a second time, same id and content, later updated_at
    email_variation_rate: float = 0.04  # candidate events whose email differs in case / whitespace
    fill_rate: float = 0.88  # posts that select a candidate
    completion_rate: float = 0.85  # started engagements that complete (rest are cancelled)
    feedback_rate: float = 0.9  # completions followed by mentor feedback
    outcome_rate: float = 0.3  # approved deliverables of completed engagements with a measured KPI
    offer_rate: float = 0.08  # completions followed by an offer (skewed towards high scores)
    offer_accept_rate: float = 0.6
    invite_rate: float = 0.25  # applications answering an employer's invitation
    revocation_rate: float = 0.05  # verified credentials revoked later
    referral_rate: float = 0.12  # candidates making a referral
    posts_per_day_per_300_employers: float = 25.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"rate {f.name} must be a non-negative number, got {value!r}")
            if f.name.endswith("_rate") and value > 1:
                raise ValueError(f"rate {f.name} must be within [0, 1], got {value!r}")


# --------------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------------

CATEGORIES: dict[str, dict[str, Any]] = {
    "data-analysis": {
        "skills": ["SQL", "Python", "Excel", "Tableau", "Power BI", "statistics", "pandas", "data cleaning",
                   "A/B testing", "dbt"],
        "titles": ["Customer churn analysis", "Sales dashboard build", "Survey data clean-up",
                   "Marketing attribution study", "Inventory forecast model", "Cohort retention report",
                   "Donor giving analysis", "Pricing elasticity study"],
        "deliverables": ["Data audit", "Analysis notebook", "Dashboard", "Findings deck", "Final report"],
        "weekly_rate": 520,
        "metrics": [("report_prep_hours", "hours", 8, 40, -0.7), ("forecast_error_pct", "percent", 12, 35, -0.4),
                    ("dashboard_weekly_users", "count", 5, 40, 1.5)],
        "achievements": ["Data Analysis with SQL", "Google Data Analytics Certificate", "Applied Statistics",
                         "Tableau Desktop Specialist", "Python for Data Analysis"],
    },
    "web-dev": {
        "skills": ["JavaScript", "TypeScript", "React", "HTML/CSS", "Node.js", "Django", "accessibility",
                   "REST APIs", "testing", "PostgreSQL"],
        "titles": ["Landing page rebuild", "Checkout bug bash", "Booking widget", "Accessibility fixes",
                   "Internal tool prototype", "API integration", "Site performance tune-up"],
        "deliverables": ["Technical plan", "Prototype", "Pull request", "Test suite", "Deployment notes"],
        "weekly_rate": 600,
        "metrics": [("page_load_ms", "ms", 1800, 5200, -0.45), ("open_defects", "count", 12, 60, -0.6),
                    ("checkout_conversion_pct", "percent", 1.5, 4.5, 0.2)],
        "achievements": ["Responsive Web Design", "JavaScript Algorithms", "Front End Development Libraries",
                         "AWS Cloud Practitioner", "Web Accessibility Specialist"],
    },
    "design": {
        "skills": ["Figma", "UX research", "UI design", "prototyping", "branding", "illustration",
                   "accessibility", "design systems"],
        "titles": ["Onboarding flow redesign", "Brand refresh", "Mobile app mock-ups", "Usability study",
                   "Design system starter kit", "Newsletter template"],
        "deliverables": ["Research summary", "Wireframes", "High-fidelity mock-ups", "Style guide", "Hand-off file"],
        "weekly_rate": 540,
        "metrics": [("signup_conversion_pct", "percent", 2, 9, 0.25), ("task_success_pct", "percent", 55, 80, 0.15)],
        "achievements": ["Google UX Design Certificate", "Figma Professional", "Accessibility Foundations",
                         "Interaction Design Foundations"],
    },
    "marketing": {
        "skills": ["SEO", "copywriting", "social media", "email marketing", "Google Analytics", "market research",
                   "content strategy", "paid ads"],
        "titles": ["SEO content audit", "Email campaign refresh", "Social media calendar", "Competitor research",
                   "Launch messaging", "Paid search experiment"],
        "deliverables": ["Audit", "Content calendar", "Campaign copy", "Results report", "Playbook"],
        "weekly_rate": 450,
        "metrics": [("email_ctr_pct", "percent", 1.2, 4.0, 0.3), ("organic_sessions_weekly", "count", 400, 5000, 0.25),
                    ("qualified_leads_weekly", "count", 5, 40, 0.4)],
        "achievements": ["HubSpot Inbound Marketing", "Google Analytics Certification", "Content Marketing",
                         "Meta Social Media Marketing"],
    },
    "ops": {
        "skills": ["process mapping", "Excel", "Airtable", "project management", "Zapier", "customer support",
                   "logistics", "documentation"],
        "titles": ["Support macro clean-up", "Vendor onboarding process", "Inventory tracker", "SOP documentation",
                   "Scheduling automation", "Ticket triage workflow"],
        "deliverables": ["Current-state map", "Automation", "SOP document", "Training session", "Handover"],
        "weekly_rate": 430,
        "metrics": [("hours_saved_weekly", "hours", 4, 25, 0.0), ("ticket_backlog", "count", 40, 300, -0.5),
                    ("first_response_minutes", "minutes", 30, 240, -0.4)],
        "achievements": ["Google Project Management Certificate", "Lean Six Sigma Yellow Belt",
                         "Customer Service Fundamentals", "Airtable Builder"],
    },
    "research": {
        "skills": ["user interviews", "survey design", "literature review", "qualitative coding", "statistics",
                   "report writing"],
        "titles": ["Customer interview series", "Policy literature review", "Survey programme", "Market sizing",
                   "Program evaluation"],
        "deliverables": ["Research plan", "Interview notes", "Synthesis", "Final report"],
        "weekly_rate": 480,
        "metrics": [("interviews_completed", "count", 0, 0, 0.0), ("survey_responses", "count", 0, 0, 0.0)],
        "achievements": ["Research Methods", "Survey Design Certificate", "Qualitative Analysis"],
    },
}
_CATEGORY_NAMES = tuple(CATEGORIES)

_ISSUERS = ("Northbridge University", "Riverside Community College", "Coding Bootcamp Collective", "Coursera",
            "freeCodeCamp", "Google Career Certificates", "Microsoft Learn", "HubSpot Academy", "AWS Training",
            "Open Design School")
_PROOF_TYPES = ("DataIntegrityProof", "DataIntegrityProof", "Ed25519Signature2020", "JsonWebSignature2020")

_FIRST = ("Aaliyah", "Aarav", "Abigail", "Adrian", "Aisha", "Alejandro", "Alex", "Amara", "Amelia", "Andre",
          "Anika", "Arjun", "Ava", "Benjamin", "Bianca", "Brandon", "Camila", "Carlos", "Chen", "Chloe", "Daniel",
          "Deepa", "Diego", "Elena", "Eli", "Emily", "Emma", "Ethan", "Fatima", "Gabriel", "Grace", "Hannah",
          "Hiro", "Ibrahim", "Imani", "Isabella", "Isaac", "Jada", "Jamal", "James", "Jasmine", "Javier", "Jin",
          "Jordan", "Jose", "Julia", "Kai", "Kavya", "Kenji", "Keisha", "Laila", "Leah", "Leo", "Liam", "Lucia",
          "Malik", "Maria", "Mateo", "Maya", "Mei", "Mohammed", "Nadia", "Naomi", "Nathan", "Nia", "Noah",
          "Olivia", "Omar", "Priya", "Rafael", "Rahul", "Rosa", "Ryan", "Samir", "Sara", "Sofia", "Tariq",
          "Thomas", "Tomas", "Uma", "Valentina", "Victor", "Wei", "Xavier", "Yara", "Yusuf", "Zainab", "Zoe")
_LAST = ("Abbott", "Adeyemi", "Ahmed", "Alvarez", "Anderson", "Baker", "Banerjee", "Becker", "Brown", "Campbell",
         "Castillo", "Chen", "Clarke", "Cohen", "Diaz", "Dubois", "Edwards", "Evans", "Fernandez", "Fischer",
         "Garcia", "Gonzalez", "Gupta", "Haddad", "Hall", "Hernandez", "Hughes", "Ibrahim", "Ito", "Jackson",
         "Johnson", "Kaur", "Kelly", "Khan", "Kim", "Kowalski", "Kumar", "Lee", "Lewis", "Lopez", "Martin",
         "Martinez", "Mensah", "Miller", "Moore", "Morales", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor",
         "Oliveira", "Park", "Patel", "Perez", "Petrov", "Reyes", "Rivera", "Robinson", "Rossi", "Santos",
         "Schmidt", "Shah", "Silva", "Singh", "Smith", "Sullivan", "Tanaka", "Taylor", "Thompson", "Torres",
         "Tran", "Walker", "Wang", "Williams", "Wilson", "Wong", "Wright", "Yamamoto", "Young", "Zhang")
_PERSONAL_DOMAINS = ("gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "icloud.com",
                     "proton.me", "hotmail.co.uk", "fastmail.com")
_TENANT_DOMAINS = {
    "northbridge-university": "student.northbridge.edu",
    "riverside-community-college": "mail.riverside.edu",
    "coding-bootcamp-collective": "learners.cbc.example",
    "civic-fellows-program": "fellows.civic.example",
}
_COMPANY_A = ("Acme", "Blue", "Bright", "Cedar", "Copper", "Delta", "Ember", "Fern", "Granite", "Harbor", "Indigo",
              "Juniper", "Kite", "Lark", "Maple", "Nimbus", "Orbit", "Pine", "Quartz", "River", "Sage", "Tidal",
              "Umber", "Vista", "Willow", "Yarrow", "Zenith")
_COMPANY_B = ("Analytics", "Health", "Labs", "Logistics", "Media", "Retail", "Foods", "Energy", "Robotics",
              "Finance", "Studios", "Works", "Outfitters", "Mobility", "Learning", "Nonprofit")
_COMPANY_C = ("Inc.", "LLC", "Co.", "Group", "Partners", "Cooperative", "Foundation")

_CANCEL_REASONS = {
    "candidate": ("schedule_conflict", "accepted_other_offer", "personal_reasons", "scope_mismatch"),
    "employer": ("project_deprioritised", "budget_cut", "quality_concerns", "missed_deadlines"),
    "platform": ("policy_violation", "payment_issue", "account_verification_failed"),
}
_COMMENTS_GOOD = ("Excellent work, clear communication throughout.", "Delivered ahead of schedule and well documented.",
                  "Would love to have them back for the next phase.", "Great attention to detail.",
                  "Picked up our stack quickly and asked good questions.")
_COMMENTS_MIXED = ("Solid work overall; a few revisions were needed.", "Good output but updates were sporadic.",
                   "Needed more guidance than expected on scope.")
_COMMENTS_POOR = ("Missed deadlines and was hard to reach.", "Quality was below what we agreed.",
                  "Had to redo parts of the deliverable internally.")


# --------------------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Candidate:
    id: str
    email: str  # canonical form; events may carry case / whitespace variants
    first_name: str
    last_name: str
    tenant: str
    reliability: float  # probability a deliverable is submitted by its due date
    skill: float  # 1..5, drives review outcomes and rubric scores
    activity: float  # relative application volume
    joined_s: int  # epoch seconds
    categories: tuple[str, ...]
    skills: list[str]


@dataclass(slots=True)
class Employer:
    id: str
    name: str
    tenant: str
    categories: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Population:
    """The generated marketplace: entities plus the records its API serves.

    `records` are the wire records, sorted by (updated_at, id, delivery sequence); `positions[i]` is the
    sort key of `records[i]` as (updated_at in epoch microseconds, id, seq) where seq is 0 for a first
    delivery and 1 for a redelivered duplicate.
    """

    seed: int
    start: date
    end: date
    rates: Rates
    candidates: tuple[Candidate, ...]
    employers: tuple[Employer, ...]
    records: list[dict]
    positions: list[tuple[int, str, int]]
    persona_event_ids: frozenset[str]
    late_event_ids: frozenset[str]
    generation_seconds: float = field(default=0.0, compare=False)

    @property
    def end_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=timezone.utc)

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=timezone.utc)

    def is_persona_record(self, index: int) -> bool:
        return self.positions[index][1] in self.persona_event_ids

    def window(self, updated_since_us: int | None = None, updated_until_us: int | None = None) -> tuple[int, int]:
        """Index range [lo, hi) of records with updated_since <= updated_at < updated_until."""
        return window_range(self.positions, updated_since_us, updated_until_us)

    def stats(self) -> dict[str, Any]:
        by_type = Counter(r["type"] for r in self.records)
        redeliveries = sum(1 for p in self.positions if p[2] > 0)
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "records": len(self.records),
            "distinct_events": len(self.records) - redeliveries,
            "redeliveries": redeliveries,
            "late_arrivals": len(self.late_event_ids),
            "persona_records": len(self.persona_event_ids),
            "candidates": len(self.candidates),
            "employers": len(self.employers),
            "personas": sorted(PERSONAS),
            "engagements": {
                "posted": by_type["engagement.posted.v1"],
                "started": by_type["engagement.started.v1"],
                "completed": by_type["engagement.completed.v1"],
                "cancelled": by_type["engagement.cancelled.v1"],
            },
            "by_type": dict(sorted(by_type.items())),
            "generation_seconds": round(self.generation_seconds, 3),
        }


# --------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------

def _epoch(d: date) -> int:
    return calendar.timegm((d.year, d.month, d.day, 0, 0, 0))


def rfc3339(ts: int) -> str:
    return _time.strftime("%Y-%m-%dT%H:%M:%SZ", _time.gmtime(ts))


def window_range(positions: list[tuple], since: int | None, until: int | None) -> tuple[int, int]:
    """Index range [lo, hi) of the sorted `positions` whose first element lies in [since, until)."""
    lo = 0 if since is None else bisect.bisect_left(positions, (since,))
    hi = len(positions) if until is None else bisect.bisect_left(positions, (until,))
    return lo, max(lo, hi)


def unique_id(rng: random.Random, used: set[str], prefix: str, bits: int = 48) -> str:
    """A `prefix`_<hex> id drawn from `rng`, never one already in `used` (which it joins)."""
    while True:
        value = f"{prefix}_{rng.getrandbits(bits):0{bits // 4}x}"
        if value not in used:
            used.add(value)
            return value


def check_generate_args(seed: Any, start: date, end: date, candidates: int, employers: int,
                        rates: dict[str, float], rates_type: type) -> None:
    """The argument checks `generate` (here and in the gig simulator) makes before simulating anything."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError("seed must be an int")
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if candidates < 2 or employers < 1:
        raise ValueError("need at least 2 candidates and 1 employer")
    unknown = set(rates) - {f.name for f in fields(rates_type)}
    if unknown:
        raise TypeError(f"unknown rate(s): {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(f.name for f in fields(rates_type))}")


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _score(x: float) -> int:
    return int(_clip(round(x), 1, 5))


class _Generator:
    def __init__(self, seed: int, start: date, end: date, n_candidates: int, n_employers: int, rates: Rates):
        self.seed = seed
        self.rates = rates
        self.S = _epoch(start)
        self.E = _epoch(end)
        self.n_candidates = n_candidates
        self.n_employers = n_employers
        # Independent streams, so e.g. a change in credential logic does not reshuffle engagements.
        self.rng_people = random.Random(f"{seed}:people")
        self.rng_eng = random.Random(f"{seed}:engagements")
        self.rng_cand = random.Random(f"{seed}:candidate-events")
        self.rng_ids = random.Random(f"{seed}:ids")
        self.rng_wire = random.Random(f"{seed}:delivery")
        # (occurred_s, type, tenant, candidate | None, employer_id, engagement_id, data)
        self.events: list[tuple] = []
        self._used_emails: set[str] = set()
        self._used_ids: set[str] = set()

    # -- ids --------------------------------------------------------------------------------------------
    def _id(self, prefix: str, bits: int = 48) -> str:
        return unique_id(self.rng_ids, self._used_ids, prefix, bits)

    # -- people -----------------------------------------------------------------------------------------
    def _email(self, rng: random.Random, first: str, last: str, tenant: str) -> str:
        f, l = first.lower(), last.lower()
        while True:
            domain = _TENANT_DOMAINS[tenant] if rng.random() < 0.3 else rng.choice(_PERSONAL_DOMAINS)
            pattern = rng.randrange(7)
            if pattern == 0:
                local = f"{f}.{l}"
            elif pattern == 1:
                local = f"{f}{l}"
            elif pattern == 2:
                local = f"{f[0]}.{l}"
            elif pattern == 3:
                local = f"{f}_{l}"
            elif pattern == 4:
                local = f"{f}.{l}{rng.randint(1, 99)}"
            elif pattern == 5:
                local = f"{l}.{f}{rng.randint(70, 99) if rng.random() < 0.5 else ''}"
            else:
                local = f"{f}{l[0]}{rng.randint(1, 999)}"
            if rng.random() < 0.03:
                local += "+jobs"
            email = f"{local}@{domain}"
            if email not in self._used_emails:
                self._used_emails.add(email)
                return email

    def make_people(self) -> None:
        rng = self.rng_people
        self.candidates: list[Candidate] = []
        for _ in range(self.n_candidates):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            tenant = rng.choices(TENANTS, weights=_TENANT_WEIGHTS)[0]
            if rng.random() < 0.15:  # a minority is much less reliable
                reliability = rng.betavariate(3, 3)
            else:
                reliability = rng.betavariate(9, 1.5)
            cats = tuple(rng.sample(_CATEGORY_NAMES, k=rng.choice((1, 1, 2))))
            pool = sorted({s for c in cats for s in CATEGORIES[c]["skills"]})
            joined = self.S - rng.randint(1, 400) * DAY if rng.random() < 0.6 else rng.randint(self.S, self.E - 1)
            self.candidates.append(Candidate(
                id=self._id("usr", 40),
                email=self._email(rng, first, last, tenant),
                first_name=first,
                last_name=last,
                tenant=tenant,
                reliability=reliability,
                skill=_clip(rng.gauss(3.7, 0.65), 1.5, 5.0),
                activity=rng.lognormvariate(0, 0.7),
                joined_s=joined,
                categories=cats,
                skills=rng.sample(pool, k=min(len(pool), rng.randint(2, 5))),
            ))
        self.employers: list[Employer] = []
        names: set[str] = set()
        for _ in range(self.n_employers):
            while True:
                name = f"{rng.choice(_COMPANY_A)} {rng.choice(_COMPANY_B)} {rng.choice(_COMPANY_C)}"
                if name not in names or len(names) > 2000:
                    names.add(name)
                    break
            self.employers.append(Employer(
                id=self._id("emp", 32),
                name=name,
                tenant=rng.choices(TENANTS, weights=_TENANT_WEIGHTS)[0],
                categories=tuple(rng.sample(_CATEGORY_NAMES, k=rng.choice((1, 2, 2, 3)))),
                weight=rng.lognormvariate(0, 0.8),
            ))
        self._emp_cum = list(accumulate(e.weight for e in self.employers))
        # Tenants are separate programs: employers recruit among their own program's candidates, mostly
        # those interested in the post's category. Small populations fall back to wider pools.
        self._pools: dict[tuple[str, str | None], tuple[list[Candidate], list[float]]] = {}
        for tenant in TENANTS:
            in_tenant = [c for c in self.candidates if c.tenant == tenant] or self.candidates
            self._pools[(tenant, None)] = (in_tenant, list(accumulate(c.activity for c in in_tenant)))
            for cat in _CATEGORY_NAMES:
                members = [c for c in in_tenant if cat in c.categories] or in_tenant
                self._pools[(tenant, cat)] = (members, list(accumulate(c.activity for c in members)))

    # -- emission ---------------------------------------------------------------------------------------
    def emit(self, t: int, type_: str, tenant: str, candidate: Candidate | None, employer_id: str | None,
             engagement_id: str | None, data: dict) -> bool:
        """Record an event occurring at `t`; events at or after the end of the window do not exist yet."""
        if t >= self.E:
            return False
        self.events.append((t, type_, tenant, candidate, employer_id, engagement_id, data))
        return True

    # -- engagements ------------------------------------------------------------------------------------
    def make_engagements(self) -> None:
        rng = self.rng_eng
        base = self.rates.posts_per_day_per_300_employers * self.n_employers / 300.0
        for d in range((self.E - self.S) // DAY):
            day0 = self.S + d * DAY
            weekday = _time.gmtime(day0).tm_wday
            mean = base * (1.16 if weekday < 5 else 0.6)
            n = max(0, round(rng.gauss(mean, math.sqrt(mean)))) if mean > 0 else 0
            for _ in range(n):
                self._engagement(rng, day0 + rng.randint(7 * HOUR, 20 * HOUR))

    def _pick_applicants(self, rng: random.Random, tenant: str, category: str, n: int, posted: int) -> list[Candidate]:
        chosen: dict[str, Candidate] = {}
        members, cum = self._pools[(tenant, category)]
        everyone, everyone_cum = self._pools[(tenant, None)]
        for _ in range(n * 4):
            if len(chosen) >= n:
                break
            if rng.random() < 0.75:
                c = rng.choices(members, cum_weights=cum)[0]
            else:
                c = rng.choices(everyone, cum_weights=everyone_cum)[0]
            if c.joined_s < posted and c.id not in chosen:
                chosen[c.id] = c
        return list(chosen.values())

    def _engagement(self, rng: random.Random, posted: int) -> None:
        employer = rng.choices(self.employers, cum_weights=self._emp_cum)[0]
        tenant = employer.tenant
        category = rng.choice(employer.categories)
        spec = CATEGORIES[category]
        engagement_id = self._id("eng")
        skills = rng.sample(spec["skills"], k=rng.randint(1, 4))
        weeks = rng.randint(2, 6)
        planned_start = (posted // DAY + rng.randint(8, 12)) * DAY + 9 * HOUR
        planned_end = planned_start + weeks * 7 * DAY + 8 * HOUR
        n_deliverables = rng.randint(1, 3)
        titles = rng.sample(spec["deliverables"], k=n_deliverables)
        deliverables = []
        for k in range(n_deliverables):
            due_day = (planned_start + (weeks * 7 * DAY * (k + 1)) // n_deliverables) // DAY
            deliverables.append((self._id("dlv"), titles[k], due_day * DAY + 17 * HOUR))
        pay = float(round(spec["weekly_rate"] * weeks * rng.uniform(0.75, 1.35), -1))
        currency = "USD" if rng.random() < 0.85 else rng.choice(("EUR", "GBP", "CAD"))
        self.emit(posted, "engagement.posted", tenant, None, employer.id, engagement_id, {
            "title": rng.choice(spec["titles"]),
            "category": category,
            "skills": skills,
            "duration_weeks": weeks,
            "pay": {"amount": pay, "currency": currency},
            "deliverables": [{"deliverable_id": d, "title": t, "due_at": rfc3339(due)} for d, t, due in deliverables],
            "employer_name": employer.name,
            "planned_start_at": rfc3339(planned_start),
            "openings": 1,
            "remote": rng.random() < 0.8,
        })
        applicants = self._pick_applicants(rng, tenant, category, rng.randint(3, 10), posted)
        refs = (employer.id, engagement_id)
        applications = []  # (applied_at, candidate, application_id)
        for cand in applicants:
            application_id = self._id("app")
            data: dict[str, Any] = {"application_id": application_id}
            if rng.random() < self.rates.invite_rate:
                invited = posted + rng.randint(20 * 60, 2 * DAY)
                applied = invited + int(rng.expovariate(1 / (10 * HOUR))) + 300
                data["invited_at"] = rfc3339(invited)
                data["channel"] = "invite"
            else:
                applied = posted + min(int(rng.expovariate(1 / (1.6 * DAY))), 9 * DAY) + 600
                data["channel"] = rng.choice(("search", "search", "recommendation", "newsletter"))
            data["skills_matched"] = sorted(set(skills) & set(cand.skills))
            if self.emit(applied, "application.submitted", tenant, cand, *refs, data):
                applications.append((applied, cand, application_id))
        applications.sort(key=lambda a: a[0])

        shortlist_at = posted + rng.randint(3 * DAY, 5 * DAY)
        considered = [a for a in applications if a[0] < shortlist_at]
        latecomers = [a for a in applications if a[0] >= shortlist_at]
        if not considered or rng.random() >= self.rates.fill_rate:
            # Never filled: the post closes; some applicants hear back, some never do.
            closed_at = posted + rng.randint(10 * DAY, 20 * DAY)
            for applied, cand, application_id in applications:
                if rng.random() < 0.6:
                    self.emit(max(closed_at, applied + HOUR) + rng.randint(0, 4 * HOUR), "application.decided",
                              tenant, cand, *refs, {"application_id": application_id, "decision": "declined"})
            return

        ranked = sorted(considered, key=lambda a: a[1].skill + 0.4 * len(set(skills) & set(a[1].skills))
                        + rng.gauss(0, 0.6), reverse=True)
        shortlisted = ranked[: rng.randint(1, min(3, len(ranked)))]
        for applied, cand, application_id in ranked[len(shortlisted):]:
            self.emit(shortlist_at + rng.randint(0, 3 * HOUR), "application.decided", tenant, cand, *refs,
                      {"application_id": application_id, "decision": "declined"})
        for applied, cand, application_id in shortlisted:
            self.emit(shortlist_at + rng.randint(0, 2 * HOUR), "application.decided", tenant, cand, *refs,
                      {"application_id": application_id, "decision": "shortlisted"})
        select_at = shortlist_at + rng.randint(DAY, int(2.5 * DAY))
        _, chosen, chosen_app = shortlisted[0]
        self.emit(select_at, "application.decided", tenant, chosen, *refs,
                  {"application_id": chosen_app, "decision": "selected"})
        for applied, cand, application_id in shortlisted[1:]:
            self.emit(select_at + rng.randint(HOUR, 8 * HOUR), "application.decided", tenant, cand, *refs,
                      {"application_id": application_id, "decision": "declined"})
        for applied, cand, application_id in latecomers:
            if rng.random() < 0.7:
                self.emit(max(select_at, applied) + rng.randint(HOUR, 3 * DAY), "application.decided", tenant,
                          cand, *refs, {"application_id": application_id, "decision": "declined"})

        started = planned_start + rng.randint(0, 6 * HOUR)
        self._run(rng, chosen, employer, tenant, engagement_id, category, skills, chosen_app, started,
                  planned_end, deliverables, pay, currency)

    def _run(self, rng: random.Random, cand: Candidate, employer: Employer, tenant: str, engagement_id: str,
             category: str, skills: list[str], application_id: str, started: int, planned_end: int,
             deliverables: list[tuple[str, str, int]], pay: float, currency: str) -> None:
        refs = (employer.id, engagement_id)
        if not self.emit(started, "engagement.started", tenant, cand, *refs,
                         {"application_id": application_id, "planned_end_at": rfc3339(planned_end)}):
            return
        p_complete = _clip(self.rates.completion_rate + 0.35 * (cand.reliability - 0.8), 0.3, 0.99)
        completes = rng.random() < p_complete
        cancel_at = None if completes else started + int((planned_end - started) * rng.uniform(0.1, 0.9))
        p_first_pass = _clip(0.55 + 0.15 * (cand.skill - 3.5), 0.2, 0.95)
        last = started
        approved: list[str] = []
        on_time = submitted = 0
        stopped = False
        for deliverable_id, _title, due in deliverables:
            if rng.random() < cand.reliability:
                sub = due - int(rng.expovariate(1 / (20 * HOUR))) - 60
            else:
                sub = due + int(rng.expovariate(1 / (1.8 * DAY))) + 30 * 60
            sub = max(sub, last + 15 * 60)
            if cancel_at is not None and sub >= cancel_at:
                break
            artifact = f"https://files.marketplace.example/{engagement_id}/{deliverable_id}"
            if not self.emit(sub, "deliverable.submitted", tenant, cand, *refs, {
                    "deliverable_id": deliverable_id, "due_at": rfc3339(due), "submitted_at": rfc3339(sub),
                    "artifact_url": f"{artifact}/v1.zip", "submission_round": 1}):
                stopped = True
                break
            submitted += 1
            on_time += sub <= due
            review = sub + rng.randint(3 * HOUR, 3 * DAY)
            if cancel_at is not None and review >= cancel_at:
                break
            if rng.random() < p_first_pass:
                if not self.emit(review, "deliverable.reviewed", tenant, cand, *refs,
                                 {"deliverable_id": deliverable_id, "outcome": "approved", "review_round": 1}):
                    stopped = True
                    break
                last = review
            else:
                if not self.emit(review, "deliverable.reviewed", tenant, cand, *refs,
                                 {"deliverable_id": deliverable_id, "outcome": "changes_requested", "review_round": 1}):
                    stopped = True
                    break
                resub = review + rng.randint(2 * HOUR, 3 * DAY)
                if cancel_at is not None and resub >= cancel_at:
                    break
                if not self.emit(resub, "deliverable.submitted", tenant, cand, *refs, {
                        "deliverable_id": deliverable_id, "due_at": rfc3339(due), "submitted_at": rfc3339(resub),
                        "artifact_url": f"{artifact}/v2.zip", "submission_round": 2}):
                    stopped = True
                    break
                review2 = resub + rng.randint(2 * HOUR, 2 * DAY)
                if cancel_at is not None and review2 >= cancel_at:
                    break
                if not self.emit(review2, "deliverable.reviewed", tenant, cand, *refs,
                                 {"deliverable_id": deliverable_id, "outcome": "approved", "review_round": 2}):
                    stopped = True
                    break
                last = review2
            approved.append(deliverable_id)
        if stopped:
            return  # the window ended mid-engagement: it stays in progress

        if not completes:
            by = rng.choices(("candidate", "employer", "platform"),
                             weights=(0.45 + (0.8 - cand.reliability), 0.4, 0.15))[0]
            self.emit(cancel_at, "engagement.cancelled", tenant, cand, *refs,
                      {"cancelled_by": by, "reason": rng.choice(_CANCEL_REASONS[by])})
            return

        completed = max(last, planned_end - rng.randint(0, 2 * DAY)) + rng.randint(HOUR, 2 * DAY)
        if not self.emit(completed, "engagement.completed", tenant, cand, *refs,
                         {"deliverables_approved": len(approved)}):
            return
        self.emit(completed + rng.randint(DAY, 5 * DAY), "payment.settled", tenant, cand, *refs, {
            "payment_id": self._id("pay"), "amount": {"amount": pay, "currency": currency},
            "method": rng.choice(("bank_transfer", "bank_transfer", "paypal", "payoneer"))})

        mean_score = None
        if rng.random() < self.rates.feedback_rate:
            on_time_frac = on_time / submitted if submitted else 1.0
            fit = len(set(skills) & set(cand.skills)) / len(skills)
            scores = {
                "quality": _score(rng.gauss(cand.skill, 0.6)),
                "communication": _score(rng.gauss(0.5 * cand.skill + 1.9 + 0.6 * (cand.reliability - 0.8), 0.7)),
                "timeliness": _score(rng.gauss(1.6 + 3.4 * on_time_frac, 0.5)),
                "skill_fit": _score(rng.gauss(cand.skill - 0.4 + 0.8 * fit, 0.6)),
            }
            mean_score = sum(scores.values()) / 4
            would_rehire = mean_score >= 3.5
            if rng.random() < 0.08:
                would_rehire = not would_rehire
            data: dict[str, Any] = {"rubric_id": "mp-mentor-rubric", "rubric_version": 2, "scores": scores,
                                    "would_rehire": would_rehire, "reviewer_role": "mentor"}
            if rng.random() < 0.35:
                pool = _COMMENTS_GOOD if mean_score >= 4 else _COMMENTS_MIXED if mean_score >= 3 else _COMMENTS_POOR
                data["comment"] = rng.choice(pool)
            self.emit(completed + rng.randint(2 * HOUR, 6 * DAY), "feedback.recorded", tenant, cand, *refs, data)

        for deliverable_id in approved:
            if rng.random() < self.rates.outcome_rate:
                metric, unit, lo, hi, change = rng.choice(CATEGORIES[category]["metrics"])
                if hi == 0:  # counts produced from nothing (research)
                    baseline, result = 0.0, float(rng.randint(5, 60))
                else:
                    baseline = round(rng.uniform(lo, hi), 1)
                    effect = change * rng.uniform(0.2, 1.0) * (cand.skill / 4.0)
                    result = round(baseline * (1 + effect) if change else rng.uniform(2, 20), 1)
                self.emit(completed + rng.randint(7 * DAY, 30 * DAY), "outcome.measured", tenant, cand, *refs, {
                    "deliverable_id": deliverable_id, "metric": metric, "baseline": baseline, "result": result,
                    "unit": unit, "measured_by": "employer"})

        p_offer = self.rates.offer_rate if mean_score is None else self.rates.offer_rate * ((mean_score - 1) / 2.9) ** 2
        if rng.random() < p_offer:
            offered = completed + rng.randint(5 * DAY, 25 * DAY)
            offer_id = self._id("ofr")
            employment = rng.choices(("full_time", "part_time", "contract", "internship"),
                                     weights=(0.65, 0.1, 0.1, 0.15))[0]
            role = {"data-analysis": "Data Analyst", "web-dev": "Software Engineer", "design": "Product Designer",
                    "marketing": "Marketing Associate", "ops": "Operations Associate",
                    "research": "Research Associate"}[category]
            salary = {"full_time": 62000, "part_time": 30000, "contract": 55000, "internship": 38000}[employment]
            if self.emit(offered, "offer.extended", tenant, cand, *refs, {
                    "offer_id": offer_id, "role_title": ("Junior " if rng.random() < 0.5 else "") + role,
                    "employment_type": employment, "is_conversion": rng.random() < 0.9,
                    "compensation": {"amount": float(round(salary * rng.uniform(0.85, 1.3), -2)),
                                     "currency": currency, "period": "year"}}):
                if rng.random() < self.rates.offer_accept_rate:
                    self.emit(offered + rng.randint(DAY, 10 * DAY), "offer.accepted", tenant, cand, *refs,
                              {"offer_id": offer_id, "start_date": rfc3339(offered + rng.randint(14, 45) * DAY)[:10]})

    # -- candidate-level events -------------------------------------------------------------------------
    def make_candidate_events(self) -> None:
        rng = self.rng_cand
        S, E = self.S, self.E
        for cand in self.candidates:
            first_seen = max(S, cand.joined_s)
            if cand.joined_s >= S:
                self.emit(cand.joined_s + rng.randint(60, 2 * HOUR), "candidate.profile_updated", cand.tenant, cand,
                          None, None, {"skills": list(cand.skills)})
            skills = list(cand.skills)
            for t in sorted(rng.randint(first_seen, E - 1) for _ in range(rng.choice((0, 0, 1, 1, 2)))):
                pool = [s for c in cand.categories for s in CATEGORIES[c]["skills"] if s not in skills]
                if pool:
                    skills.append(rng.choice(pool))
                self.emit(t, "candidate.profile_updated", cand.tenant, cand, None, None, {"skills": list(skills)})

            for _ in range(rng.choices((0, 1, 2, 3), weights=(0.35, 0.35, 0.2, 0.1))[0]):
                self._credential(rng, cand, rng.randint(first_seen, E - 1))

            if rng.random() < self.rates.referral_rate:
                if rng.random() < 0.6:
                    other = rng.choice(self.candidates)
                    referred = other.email if other is not cand else None
                else:
                    referred = None
                if referred is None:
                    referred = self._email(rng, rng.choice(_FIRST), rng.choice(_LAST), cand.tenant)
                self.emit(rng.randint(first_seen, E - 1), "referral.made", cand.tenant, cand, None, None, {
                    "referral_id": self._id("ref"), "referred_email": referred,
                    "channel": rng.choice(("link", "email", "in_app"))})

    def _credential(self, rng: random.Random, cand: Candidate, issued: int) -> None:
        category = rng.choice(cand.categories)
        spec = CATEGORIES[category]
        credential_id = "urn:uuid:" + "-".join(f"{rng.getrandbits(b):0{b // 4}x}" for b in (32, 16, 16, 16, 48))
        if rng.random() < 0.7:  # earned now
            valid_from = issued - rng.randint(0, DAY)
        else:  # imported: earned some time ago, some already expired
            valid_from = issued - rng.randint(60, 1100) * DAY
        valid_until = None if rng.random() < 0.5 else valid_from + rng.randint(180, 1100) * DAY
        verification = rng.choices(("verified", "failed", "unverifiable"), weights=(0.93, 0.04, 0.03))[0]
        status_list = f"https://status.credentials.example/lists/{rng.randint(1, 40)}"
        if not self.emit(issued, "credential.issued", cand.tenant, cand, None, None, {
                "credential_id": credential_id,
                "issuer": rng.choice(_ISSUERS),
                "achievement": rng.choice(spec["achievements"]),
                "skills": rng.sample(spec["skills"], k=rng.randint(1, 3)),
                "valid_from": rfc3339(valid_from),
                "valid_until": rfc3339(valid_until) if valid_until is not None else None,
                "proof_type": rng.choice(_PROOF_TYPES),
                "verification_result": verification,
                "credential_status": {"type": "BitstringStatusListEntry", "status_list_credential": status_list,
                                      "status_list_index": rng.randint(0, 131_071)},
        }):
            return
        if verification != "verified":
            return
        revoke_at = issued + rng.randint(5 * DAY, 120 * DAY) if rng.random() < self.rates.revocation_rate else None
        t = issued
        while True:  # periodic status re-checks against the status list
            t += rng.randint(30 * DAY, 75 * DAY)
            if revoke_at is not None and revoke_at <= t:
                self.emit(revoke_at, "credential.status_changed", cand.tenant, cand, None, None, {
                    "credential_id": credential_id, "status": "revoked", "verification_result": "verified",
                    "status_list_credential": status_list})
                return
            if t >= self.E:
                return
            expired = valid_until is not None and valid_until <= t
            self.emit(t, "credential.status_changed", cand.tenant, cand, None, None, {
                "credential_id": credential_id, "status": "expired" if expired else "active",
                "verification_result": "verified", "status_list_credential": status_list})
            if expired:
                return

    # -- wire records -----------------------------------------------------------------------------------
    def _served_email(self, cand: Candidate) -> str:
        rng = self.rng_wire
        if rng.random() >= self.rates.email_variation_rate:
            return cand.email
        kind = rng.randrange(4)
        if kind == 0:
            local, _, domain = cand.email.partition("@")
            return f"{local.title()}@{domain.title()}"
        if kind == 1:
            return cand.email.upper()
        if kind == 2:
            return f" {cand.email}  "
        return f"\t{cand.email[0].upper()}{cand.email[1:]}"

    def build(self) -> tuple[list[dict], list[tuple[int, str, int]], frozenset[str], frozenset[str]]:
        rng = self.rng_wire
        rates = self.rates
        E = self.E
        rows: list[tuple[int, str, int, dict]] = []
        late: set[str] = set()
        for occurred, type_, tenant, cand, employer_id, engagement_id, data in self.events:
            event_id = self._id("evt", 80)
            if rng.random() < rates.late_rate:
                updated = occurred + rng.randint(2 * DAY, 20 * DAY)
                is_late = True
            else:
                updated = occurred + min(1 + int(rng.expovariate(1 / 90)), 1800)
                is_late = False
            if updated >= E:
                continue  # recorded after the window: the API does not have it yet
            record = {
                "id": event_id,
                "type": f"{type_}.{WIRE_VERSION}",
                "occurred_at": rfc3339(occurred),
                "updated_at": rfc3339(updated),
                "tenant": tenant,
                "candidate": {"id": cand.id, "email": self._served_email(cand)} if cand is not None else None,
                "employer_id": employer_id,
                "engagement_id": engagement_id,
                "data": data,
            }
            if is_late:
                late.add(event_id)
            rows.append((updated * US, event_id, 0, record))
            if rng.random() < rates.redelivery_rate:
                again = updated + rng.randint(60, 2 * DAY)
                if again < E:
                    rows.append((again * US, event_id, 1, {**record, "updated_at": rfc3339(again)}))

        persona_ids = set()
        for pe in persona_events(datetime.fromtimestamp(self.S, timezone.utc).date()):
            occurred, updated = int(pe.occurred_at.timestamp()), int(pe.updated_at.timestamp())
            if updated >= E:
                continue
            persona_ids.add(pe.id)
            rows.append((updated * US, pe.id, 0, {
                "id": pe.id,
                "type": f"{pe.type}.{WIRE_VERSION}",
                "occurred_at": rfc3339(occurred),
                "updated_at": rfc3339(updated),
                "tenant": pe.tenant,
                "candidate": {"id": pe.candidate_id, "email": pe.email} if pe.candidate_id else None,
                "employer_id": pe.employer_id,
                "engagement_id": pe.engagement_id,
                "data": pe.data,
            }))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return ([r[3] for r in rows], [(r[0], r[1], r[2]) for r in rows], frozenset(persona_ids), frozenset(late))


def generate(seed: int, start: date, end: date, candidates: int = 3000, employers: int = 300, **rates: float) -> Population:
    """Simulate the marketplace between `start` and `end` (00:00 UTC each) deterministically from `seed`.

    `rates` overrides fields of `Rates` (late_rate, redelivery_rate, completion_rate, ...). At the default
    size (3000 candidates, 300 employers, six months) this yields on the order of 10^5 records.
    """
    check_generate_args(seed, start, end, candidates, employers, rates, Rates)
    began = _time.perf_counter()
    settings = Rates(**rates)
    gen = _Generator(seed, start, end, candidates, employers, settings)
    gen.make_people()
    gen.make_engagements()
    gen.make_candidate_events()
    records, positions, persona_ids, late_ids = gen.build()
    return Population(
        seed=seed, start=start, end=end, rates=settings,
        candidates=tuple(gen.candidates), employers=tuple(gen.employers),
        records=records, positions=positions, persona_event_ids=persona_ids, late_event_ids=late_ids,
        generation_seconds=_time.perf_counter() - began,
    )
