"""The skill vocabulary: one small, versioned CSV that both Spark and dbt read (the single source of truth).

    hiring_signals/contract/vocabulary/skill_vocabulary.csv
        vocabulary_version, alias, skill_id, skill_label, skill_uri, esco_uri

One row per alias (a normalised spelling a source may use) -> one skill. `skill_id` is the short stable key the
signals use; `skill_uri` is its stable project URI (`urn:hiring-signals:skill:<skill_id>`, never reused);
`esco_uri` is the ESCO v1.2 concept where it is known (empty otherwise), so a consumer that speaks ESCO can map
onto it without the project's key changing when more ESCO links are added.

Spark reads the CSV through `alias_map()` (turned into a literal map expression: no join, no UDF); dbt loads
the same file as the seed `skill_vocabulary` (`seed-paths` in dbt_project.yml points at this directory).
Changing a mapping is a new `vocabulary_version`: every signal row names the version it was computed with.

Normalisation (`normalise_skill`, mirrored by `spark_jobs.candidate_signals.transforms.normalised_skill`):
lower case, surrounding whitespace removed, inner runs of whitespace collapsed to one space. A skill name
that is not an alias after normalisation is not in the vocabulary and counts as no skill evidence.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

VOCABULARY_FILE = "skill_vocabulary.csv"
COLUMNS = ("vocabulary_version", "alias", "skill_id", "skill_label", "skill_uri", "esco_uri")
SKILL_URI_PREFIX = "urn:hiring-signals:skill:"

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SkillAlias:
    alias: str
    skill_id: str
    skill_label: str
    skill_uri: str
    esco_uri: str | None


def normalise_skill(name: str) -> str:
    return _WHITESPACE.sub(" ", name.strip().lower())


def vocabulary_text() -> str:
    return (resources.files("hiring_signals.contract") / "vocabulary" / VOCABULARY_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _load() -> tuple[str, tuple[SkillAlias, ...]]:
    rows = list(csv.DictReader(io.StringIO(vocabulary_text())))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise ValueError(f"{VOCABULARY_FILE}: expected columns {COLUMNS}")
    versions = {r["vocabulary_version"] for r in rows}
    if len(versions) != 1:
        raise ValueError(f"{VOCABULARY_FILE}: one vocabulary_version expected, found {sorted(versions)}")
    aliases: dict[str, SkillAlias] = {}
    skills: dict[str, tuple[str, str, str | None]] = {}
    for r in rows:
        alias = r["alias"]
        if alias != normalise_skill(alias):
            raise ValueError(f"{VOCABULARY_FILE}: alias {alias!r} is not normalised")
        if alias in aliases:
            raise ValueError(f"{VOCABULARY_FILE}: alias {alias!r} appears twice")
        if r["skill_uri"] != SKILL_URI_PREFIX + r["skill_id"]:
            raise ValueError(f"{VOCABULARY_FILE}: skill_uri of {r['skill_id']!r} must be {SKILL_URI_PREFIX}{r['skill_id']}")
        entry = (r["skill_label"], r["skill_uri"], r["esco_uri"] or None)
        if skills.setdefault(r["skill_id"], entry) != entry:
            raise ValueError(f"{VOCABULARY_FILE}: skill {r['skill_id']!r} has conflicting label or URIs")
        aliases[alias] = SkillAlias(alias, r["skill_id"], *entry)
    return versions.pop(), tuple(aliases.values())


def vocabulary_version() -> str:
    return _load()[0]


def skill_aliases() -> tuple[SkillAlias, ...]:
    return _load()[1]


def alias_map() -> dict[str, str]:
    """Normalised alias -> skill_id."""
    return {a.alias: a.skill_id for a in skill_aliases()}


def skill_for(name: str) -> str | None:
    """The vocabulary skill_id a free-text skill name maps to, or None."""
    return alias_map().get(normalise_skill(name))


VOCABULARY_VERSION = vocabulary_version()
