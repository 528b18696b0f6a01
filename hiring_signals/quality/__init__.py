"""Great Expectations gates between the pipeline's stages; suites live in expectations/suites/."""

from hiring_signals.quality.gates import GateFailed, GateResult, enforce, validate

__all__ = ["GateFailed", "GateResult", "enforce", "validate"]
