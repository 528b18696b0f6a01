"""HTTP for source connectors: bounded retries with exponential backoff and jitter (tenacity), honouring
Retry-After on 429/503, and a clear error once the attempts are spent."""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 300.0


class SourceUnavailable(RuntimeError):
    """A source kept failing after every allowed attempt; the message says what it answered last."""


class RetryableResponse(Exception):
    def __init__(self, response: requests.Response):
        self.response = response
        super().__init__(f"HTTP {response.status_code} from {response.url}")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_S)


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    waited_s: float = 0.0
    retry_after_honoured: list[float] = field(default_factory=list)


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, (RetryableResponse, requests.ConnectionError, requests.Timeout))


class SourceHttpClient:
    def __init__(self, base_url: str, *, token: str = "", timeout_s: float = 30.0, max_attempts: int = 6,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0, session: requests.Session | None = None,
                 sleep=time.sleep):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.stats = RequestStats()
        self._session = session or requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._session.headers.setdefault("Accept", "application/json")
        self._backoff = wait_exponential_jitter(initial=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s)
        self._sleep = sleep

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableResponse):
            advised = retry_after_seconds(exc.response.headers.get("Retry-After"))
            if advised is not None:
                self.stats.retry_after_honoured.append(advised)
                return advised
        return self._backoff(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        self.stats.waited_s += state.next_action.sleep if state.next_action else 0.0
        log.warning("attempt %d/%d failed (%s); retrying in %.1fs", state.attempt_number, self.max_attempts,
                    state.outcome.exception(), state.next_action.sleep if state.next_action else 0.0)

    def get_json(self, path: str, params: dict | None = None) -> tuple[dict, bytes]:
        """GET base_url+path; returns (parsed JSON, body bytes exactly as received)."""
        url = f"{self.base_url}{path}"

        def attempt() -> requests.Response:
            self.stats.requests += 1
            response = self._session.get(url, params=params, timeout=self.timeout_s)
            if response.status_code in RETRYABLE_STATUS:
                if response.status_code == 429:
                    self.stats.throttled += 1
                else:
                    self.stats.server_errors += 1
                raise RetryableResponse(response)
            response.raise_for_status()
            return response

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except RetryableResponse as exc:
            raise SourceUnavailable(
                f"{url} params={params} still answered HTTP {exc.response.status_code} after {self.max_attempts} attempts"
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SourceUnavailable(f"{url} unreachable after {self.max_attempts} attempts: {exc}") from exc
        try:
            return response.json(), response.content
        except ValueError as exc:
            raise SourceUnavailable(f"{url} returned a body that is not JSON: {response.content[:200]!r}") from exc
