"""Object-store zones, atomic batch commits and manifests."""

from hiring_signals.storage.batches import (ConcurrentCommit, Interval, StagedFile, commit_batch, commit_uploaded,
                                             read_manifests)
from hiring_signals.storage.lake import Lake, ObjectRef, PreconditionFailed, canonical_json, gzip_deterministic, utc_key

__all__ = ["ConcurrentCommit", "Interval", "PreconditionFailed", "Lake", "ObjectRef", "StagedFile", "canonical_json", "commit_batch", "commit_uploaded", "gzip_deterministic",
           "read_manifests", "utc_key"]
