"""The skill vocabulary: one versioned CSV, shared by Spark (literal map) and dbt (seed)."""

from __future__ import annotations

import csv
import re

import pytest

from hiring_signals.config import REPO_ROOT, load_settings, ConfigError
from hiring_signals.contract import vocabulary as v
from hiring_signals.contract.curated_schema import DEFAULT_HALF_LIFE_DAYS
from hiring_signals.simulators.marketplace.population import CATEGORIES


def test_the_vocabulary_is_one_version_of_normalised_unique_aliases():
    aliases = v.skill_aliases()
    assert v.VOCABULARY_VERSION == v.vocabulary_version() == "skills-v1"
    assert len({a.alias for a in aliases}) == len(aliases)
    assert all(a.alias == v.normalise_skill(a.alias) for a in aliases)
    assert all(a.skill_uri == v.SKILL_URI_PREFIX + a.skill_id for a in aliases)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", a.skill_id) for a in aliases)
    esco = {a.esco_uri for a in aliases if a.esco_uri}
    assert esco and all(re.fullmatch(r"http://data\.europa\.eu/esco/skill/[0-9a-f-]{36}", u) for u in esco)


def test_every_skill_the_simulated_sources_use_is_in_the_vocabulary():
    used = {s for spec in CATEGORIES.values() for s in spec["skills"]}
    assert {s for s in used if v.skill_for(s) is None} == set()


@pytest.mark.parametrize("name,skill", [("  Python 3 ", "python"), ("MS\tExcel", "spreadsheets"), ("Excel", "spreadsheets"),
                                        ("Postgres", "postgresql"), ("HTML/CSS", "html-css"), ("basket weaving", None)])
def test_free_text_names_map_after_normalisation(name, skill):
    assert v.skill_for(name) == skill


def test_dbt_seeds_the_very_same_file():
    import yaml

    project = yaml.safe_load((REPO_ROOT / "dbt_project" / "dbt_project.yml").read_text())
    seed_dirs = [(REPO_ROOT / "dbt_project" / p).resolve() for p in project["seed-paths"]]
    assert (REPO_ROOT / "hiring_signals" / "contract" / "vocabulary").resolve() in seed_dirs
    with open(REPO_ROOT / "hiring_signals" / "contract" / "vocabulary" / v.VOCABULARY_FILE, newline="") as f:
        assert tuple(next(csv.reader(f))) == v.COLUMNS


def test_half_life_setting():
    assert load_settings({}).signal_half_life_days == DEFAULT_HALF_LIFE_DAYS == 180
    assert load_settings({"HS_SIGNAL_HALF_LIFE_DAYS": "30.5"}).signal_half_life_days == 30.5
    for bad in ("0", "-3", "soon", "inf"):
        with pytest.raises(ConfigError, match="HS_SIGNAL_HALF_LIFE_DAYS"):
            load_settings({"HS_SIGNAL_HALF_LIFE_DAYS": bad})
