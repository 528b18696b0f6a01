"""Which sources exist and how each is pulled. The pipeline looks sources up here by name, so adding a
source is one entry plus its module; nothing else dispatches on source names.

Pulled API sources (marketplace, gig) have a `connector(settings)` whose `pages(interval)` yields pages as
received, and a `to_envelope(record)` mapping one record onto the contract envelope. File-drop sources
(recruiter agencies) are ingested per landed file instead; see hiring_signals.drops.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Callable


@dataclass(frozen=True)
class ApiSource:
    name: str
    module: str  # module holding `make_connector(settings)` and `to_envelope(record)`

    def connector(self, settings):
        return import_module(self.module).make_connector(settings)

    def to_envelope(self, settings) -> Callable[[object], object]:
        module = import_module(self.module)
        # An adapter whose mapping depends on settings (e.g. the API version asked for) offers a factory.
        factory = getattr(module, "envelope_mapper", None)
        return factory(settings) if factory else module.to_envelope


API_SOURCES: dict[str, ApiSource] = {
    "marketplace": ApiSource("marketplace", "hiring_signals.sources.marketplace"),
    "gig": ApiSource("gig", "hiring_signals.sources.gig"),
}


def api_source(name: str) -> ApiSource:
    try:
        return API_SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown API source {name!r}; known: {sorted(API_SOURCES)}") from None
