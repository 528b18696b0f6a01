"""Identity resolution and pseudonymisation at the edge.

A person is recognised across sources by their email, normalised, then replaced by a keyed HMAC
reference before anything leaves the raw zone. The key comes from configuration (see config.py);
without the key a reference cannot be reversed or recomputed by someone holding only the data.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

CANDIDATE_REF_PREFIX = "cand_"
CANDIDATE_REF_PATTERN = r"^cand_[0-9a-f]{32}$"
EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


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

    def scrub_emails(self, text: str) -> str:
        """Replace every email-looking substring with its reference: for text we keep but do not model
        (quarantined records, unknown source fields), so no email leaves the raw zone in clear."""

        def ref(match: re.Match) -> str:
            try:
                return f"<email:{self.candidate_ref(match.group(0))}>"
            except InvalidEmail:
                return "<email:unparseable>"

        return EMAIL_IN_TEXT.sub(ref, text)

    def scrub(self, value):
        """`scrub_emails` applied to every string (keys included) inside decoded JSON: working on values, not on
        serialised text, keeps escape sequences intact."""
        if isinstance(value, str):
            return self.scrub_emails(value)
        if isinstance(value, dict):
            return {self.scrub_emails(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value
