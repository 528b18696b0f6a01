"""Retry behaviour of source HTTP against a real local HTTP server answering scripted statuses."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hiring_signals.sources.http import SourceHttpClient, SourceUnavailable, retry_after_seconds


class Scripted:
    def __init__(self, responses):
        self.responses = list(responses)
        self.calls = 0

    def __enter__(self):
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                script.calls += 1
                status, headers = script.responses.pop(0) if script.responses else (200, {})
                body = json.dumps({"data": [], "next_cursor": None}).encode() if status == 200 else b"{}"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


def client(url, sleeps, attempts=4):
    return SourceHttpClient(url, max_attempts=attempts, backoff_initial_s=0.5, sleep=sleeps.append)


def test_retry_after_is_honoured_on_429():
    sleeps = []
    with Scripted([(429, {"Retry-After": "7"}), (429, {"Retry-After": "3"})]) as server:
        c = client(server.url, sleeps)
        parsed, _ = c.get_json("/v1/events")
    assert parsed == {"data": [], "next_cursor": None}
    assert sleeps == [7.0, 3.0] and server.calls == 3
    assert c.stats.throttled == 2 and c.stats.retries == 2


def test_5xx_backs_off_exponentially_with_jitter_then_succeeds():
    sleeps = []
    with Scripted([(503, {}), (500, {}), (502, {})]) as server:
        client(server.url, sleeps).get_json("/x")
    assert server.calls == 4 and len(sleeps) == 3
    # wait_exponential_jitter(initial=0.5): 0.5, 1, 2 plus up to 0.5 of jitter each
    for expected, slept in zip([0.5, 1.0, 2.0], sleeps):
        assert expected <= slept <= expected + 0.5


def test_attempts_are_bounded_and_the_failure_is_clear():
    sleeps = []
    with Scripted([(503, {})] * 10) as server:
        with pytest.raises(SourceUnavailable, match=r"still answered HTTP 503 after 4 attempts"):
            client(server.url, sleeps, attempts=4).get_json("/x")
    assert server.calls == 4


def test_client_errors_are_not_retried():
    with Scripted([(404, {})]) as server:
        with pytest.raises(Exception, match="404"):
            client(server.url, []).get_json("/x")
    assert server.calls == 1


def test_unreachable_source():
    with pytest.raises(SourceUnavailable, match="unreachable after 2 attempts"):
        SourceHttpClient("http://127.0.0.1:9", max_attempts=2, sleep=lambda s: None, timeout_s=1).get_json("/x")


def test_retry_after_parsing():
    from datetime import datetime, timezone
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30.0
    assert retry_after_seconds("99999") == 300.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
