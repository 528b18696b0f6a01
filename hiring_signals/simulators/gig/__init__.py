"""Gig / freelance platform simulator: a deterministic activity log (contracts, milestones, reviews,
payments; epoch-millisecond timestamps, integer minor units, API v1 and v2) served over a real HTTP API,
with freelancers drawn from the marketplace simulator's people."""

from hiring_signals.simulators.gig.population import (
    API_VERSIONS,
    RENAMED_IN_V2,
    STATE_TIMESTAMP,
    Client,
    Freelancer,
    GigPopulation,
    GigRates,
    generate,
    marketplace_people,
    render,
)
from hiring_signals.simulators.gig.server import (
    EXPECTED_REASON,
    MALFORMED_KINDS,
    FaultConfig,
    GigSimulator,
    malform,
    serialise,
)

__all__ = [
    "API_VERSIONS", "EXPECTED_REASON", "MALFORMED_KINDS", "RENAMED_IN_V2", "STATE_TIMESTAMP", "Client", "FaultConfig",
    "Freelancer", "GigPopulation", "GigRates", "GigSimulator", "generate", "malform", "marketplace_people", "render",
    "serialise",
]
