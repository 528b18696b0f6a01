"""Identity resolution and pseudonymisation at the edge.

A person is recognised across sources by their email, normalised, then replaced by a keyed HMAC
reference before anything leaves the raw zone. The key comes from configuration (see config.py);
without the key a reference cannot be reversed or recomputed by someone holding only the data.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

CANDIDATE_REF_PREFIX = "cand_"
CANDIDATE_REF_PATTERN = r"^cand_[0-9a-f]{32}$"


class InvalidEmail(ValueError):
    pass


def normalise_email(raw: str) -> str:
    """Case-fold, trim and NFKC-normalise an email; reject what cannot be an address.

    Provider-specific rewrites (dropping +tags or Gmail dots) are deliberately not applied: they would merge
    distinct people at providers where those characters are significant.
    """
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    local, sep, domain = email.rpartition("@")
    if not sep or not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or " " in email:
        raise InvalidEmail(f"not an email address: {raw!r}")
    return email


class Pseudonymiser:
    def __init__(self, key: bytes):
        if len(key) < 32:
            raise ValueError("the pseudonymisation key must be at least 32 bytes")
        self._key = key

    def candidate_ref(self, email: str) -> str:
        digest = hmac.new(self._key, normalise_email(email).encode(), hashlib.sha256).hexdigest()
        return CANDIDATE_REF_PREFIX + digest[:32]
