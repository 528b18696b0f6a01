"""Micro-internship marketplace simulator: a deterministic population served over a real HTTP API."""

from hiring_signals.simulators.marketplace.personas import (
    PERSONAS,
    SIGNAL_NAMES,
    persona_as_of,
    persona_events,
    persona_expected_signals,
)
from hiring_signals.simulators.marketplace.population import Population, Rates, generate
from hiring_signals.simulators.marketplace.server import (
    MALFORMED_KINDS,
    FaultConfig,
    MarketplaceSimulator,
)

__all__ = [
    "MALFORMED_KINDS", "PERSONAS", "SIGNAL_NAMES", "FaultConfig", "MarketplaceSimulator", "Population", "Rates",
    "generate", "persona_as_of", "persona_events", "persona_expected_signals",
]
