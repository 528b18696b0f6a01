"""Versioned JSON Schemas of the event contract, loaded once and compiled for speed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable

import fastjsonschema

ENVELOPE_VERSION = 1


@dataclass(frozen=True)
class EventTypeSpec:
    name: str  # e.g. "engagement.completed"
    version: int
    description: str
    requires: frozenset[str]  # which refs must be present: candidate, employer, engagement
    drop_fields: tuple[str, ...]  # free text kept out of the lake
    pseudonymise_fields: tuple[str, ...]  # payload emails replaced by candidate refs
    validate: Callable[[dict], dict]
    schema: dict


def _schemas_dir():
    return resources.files("hiring_signals.contract") / "schemas"


@lru_cache(maxsize=1)
def envelope_schema() -> dict:
    return json.loads((_schemas_dir() / f"envelope.v{ENVELOPE_VERSION}.json").read_text())


@lru_cache(maxsize=1)
def envelope_fields() -> frozenset[str]:
    """The envelope keys contract v1 models; anything else a source sends is kept as source_extras."""
    return frozenset(envelope_schema()["properties"])


def envelope_validator() -> Callable[[dict], dict]:
    return fastjsonschema.compile(envelope_schema())


@lru_cache(maxsize=1)
def event_types() -> dict[tuple[str, int], EventTypeSpec]:
    """All (type, version) pairs the contract knows, from schemas/payloads/<type>.v<version>.json."""
    specs: dict[tuple[str, int], EventTypeSpec] = {}
    for entry in sorted((_schemas_dir() / "payloads").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        stem = entry.name[: -len(".json")]
        name, _, version_tag = stem.rpartition(".v")
        schema = json.loads(entry.read_text())
        spec = EventTypeSpec(
            name=name,
            version=int(version_tag),
            description=schema.get("description", ""),
            requires=frozenset(schema.get("x-requires", [])),
            drop_fields=tuple(schema.get("x-drop", [])),
            pseudonymise_fields=tuple(schema.get("x-pseudonymise", [])),
            validate=fastjsonschema.compile(schema),
            schema=schema,
        )
        specs[(name, spec.version)] = spec
    return specs


def known_type_names() -> frozenset[str]:
    return frozenset(name for name, _ in event_types())


def known_versions(name: str) -> list[int]:
    return sorted(v for n, v in event_types() if n == name)
