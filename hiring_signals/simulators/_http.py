"""HTTP plumbing shared by the platform simulators (marketplace, gig).

* `HttpSimulator`: the loopback-only lifecycle (start/stop/context manager/url), connection tracking so
  stop() can close idle keep-alive connections, and the deterministic per-URL fault schedule (`_fault_for`).
* `SimulatorHandler`: the JSON request handler base - `_send`/`_error`, bearer-token auth, connection
  tracking, opt-in access log and POST /_admin/faults. Subclasses add do_GET.
* `FaultConfigBase`: validation and update helpers for the simulators' frozen FaultConfig dataclasses.
* `parse_date` and `serve_until_signal`: the command lines' shared pieces.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import signal
import socket
import sys
import threading
from collections import Counter
from dataclasses import asdict, fields, replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

import orjson

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class BadRequest(ValueError):
    pass


def unit_hash(*parts: object) -> float:
    """A uniform number in [0, 1) derived from the parts (stable across processes and platforms)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class FaultConfigBase:
    """Mixin for a frozen FaultConfig dataclass with the common fault fields (seed, rate_429, rate_5xx,
    rate_timeout, retry_after_s, timeout_delay_s, max_consecutive_faults)."""

    def _check_rates(self, names: tuple[str, ...]) -> None:
        for name in names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number within [0, 1], got {value!r}")
        if self.rate_429 + self.rate_5xx + self.rate_timeout > 1:
            raise ValueError("rate_429 + rate_5xx + rate_timeout must not exceed 1")
        for name in ("seed", "retry_after_s", "max_consecutive_faults"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    def _check_timeout(self) -> None:
        if isinstance(self.timeout_delay_s, bool) or not isinstance(self.timeout_delay_s, (int, float)) \
                or not 0 <= self.timeout_delay_s <= 300:
            raise ValueError(f"timeout_delay_s must be within [0, 300] seconds, got {self.timeout_delay_s!r}")

    def updated(self, changes: dict[str, Any]):
        """A copy with `changes` applied; unknown fields are an error."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class HttpSimulator:
    """Serves over HTTP on a loopback address; use as a context manager or start()/stop().

    Subclasses set `handler_class` and `thread_name`, keep `self.faults` (a FaultConfigBase) current and
    reset `_attempts`/`_consecutive` whenever the faults change."""

    handler_class: ClassVar[type[SimulatorHandler]]
    thread_name: ClassVar[str] = "simulator"

    def __init__(self, host: str, port: int, token: str | None, access_log: bool):
        if host not in LOOPBACK:
            raise ValueError(f"the simulator binds loopback only, not {host!r}")
        self.host = host
        self.port = port
        self.token = token or None
        self.access_log = access_log
        self._lock = threading.Lock()
        self._httpd: SimulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._served: Counter[str] = Counter()

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self):
        if self._httpd is not None:
            return self
        httpd = SimulatorServer((self.host, self.port), self.handler_class)
        httpd.simulator = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"{self.thread_name}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # idle keep-alive connections would otherwise linger
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- faults -----------------------------------------------------------------------------------------
    def _fault_for(self, url: str) -> tuple[str | None, int]:
        """Which fault the next request for `url` gets ('429', '5xx', 'timeout' or None), and its attempt number."""
        with self._lock:
            faults = self.faults
            attempt = self._attempts.get(url, 0)
            self._attempts[url] = attempt + 1
            fault = None
            if self._consecutive.get(url, 0) < faults.max_consecutive_faults:
                u = unit_hash(faults.seed, "fault", url, attempt)
                if u < faults.rate_429:
                    fault = "429"
                elif u < faults.rate_429 + faults.rate_5xx:
                    fault = "5xx"
                elif u < faults.rate_429 + faults.rate_5xx + faults.rate_timeout:
                    fault = "timeout"
            self._consecutive[url] = self._consecutive.get(url, 0) + 1 if fault else 0
            self._served["requests"] += 1
            if fault:
                self._served[fault] += 1
            return fault, attempt


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    simulator: HttpSimulator


class SimulatorHandler(BaseHTTPRequestHandler):
    """JSON handler base. Subclasses set `server_version`, `realm` (of the 401's WWW-Authenticate) and
    `logger` (where the access log goes), and implement do_GET."""

    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    realm: ClassVar[str] = "simulator"
    logger: ClassVar[logging.Logger] = logging.getLogger(__name__)

    def setup(self) -> None:
        super().setup()
        with self.server.simulator._lock:
            self.server.simulator._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.simulator._lock:
                self.server.simulator._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if self.server.simulator.access_log:
            self.logger.info("%s %s", self.address_string(), format % args)

    # -- helpers ----------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. a timeout fault)
            self.close_connection = True

    def _error(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, orjson.dumps({"error": error, "detail": detail}), headers)

    def _authorised(self) -> bool:
        token = self.server.simulator.token
        if token is None:
            return True
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        self._error(401, "unauthorized", "missing or invalid bearer token",
                    {"WWW-Authenticate": f'Bearer realm="{self.realm}"'})
        return False

    def _drain_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- routes -----------------------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """POST /_admin/faults: update the fault configuration (a JSON object of FaultConfig fields)."""
        sim = self.server.simulator
        parts = urlsplit(self.path)
        body = self._drain_body()
        if parts.path != "/_admin/faults":
            self._error(404, "not_found", f"no route for POST {parts.path}")
            return
        if not self._authorised():
            return
        try:
            changes = orjson.loads(body or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of FaultConfig fields")
            faults = sim.faults.updated(changes)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            self._error(400, "invalid_request", str(exc))
            return
        sim.set_faults(faults)
        stats = sim.stats()
        self._send(200, orjson.dumps({"faults": faults.to_dict(), "malformed": {
            "total": stats["malformed"]["total"], "by_kind": stats["malformed"]["by_kind"]}}))


# -- command line -----------------------------------------------------------------------------------------
def parse_date(value: str) -> date:
    """argparse type for YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def serve_until_signal(simulator: HttpSimulator, name: str, records: int) -> int:
    """Start `simulator`, print "<name> simulator serving N records on URL", serve until SIGTERM or SIGINT,
    then stop cleanly. The exit status: 0, or 1 when the port cannot be bound."""
    stop = threading.Event()

    def _on_signal(signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        simulator.start()
    except OSError as exc:
        print(f"error: cannot bind {simulator.host}:{simulator.port}: {exc}", file=sys.stderr)
        return 1
    print(f"{name} simulator serving {records} records on {simulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
    return 0


def add_fault_arguments(p: argparse.ArgumentParser, retry_after_help: str, retry_after_format: bool = False) -> None:
    """The fault, auth and logging options both simulators' command lines take (see `fault_settings`)."""
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--rate-5xx", type=float, default=0.0)
    p.add_argument("--rate-timeout", type=float, default=0.0)
    p.add_argument("--timeout-delay", type=float, default=5.0, help="seconds a 'timeout' fault delays a response")
    p.add_argument("--retry-after", type=int, default=1, help=retry_after_help)
    if retry_after_format:
        p.add_argument("--retry-after-format", choices=("seconds", "http-date"), default="seconds")
    p.add_argument("--max-consecutive-faults", type=int, default=2)
    p.add_argument("--malformed-rate", type=float, default=0.005)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--token", default=None, help="require 'Authorization: Bearer <token>'")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")


def fault_settings(args: argparse.Namespace) -> dict[str, Any]:
    """FaultConfig keyword arguments from the options `add_fault_arguments` added; also turns on the access
    log's logging when --access-log was given."""
    if args.access_log:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return {"seed": args.fault_seed, "rate_429": args.rate_429, "rate_5xx": args.rate_5xx,
            "rate_timeout": args.rate_timeout, "retry_after_s": args.retry_after, "timeout_delay_s": args.timeout_delay,
            "max_consecutive_faults": args.max_consecutive_faults, "malformed_rate": args.malformed_rate}
