"""A local demo Gainsight CS tenant: the real REST endpoints over generated data, on loopback.

``DemoTenant`` serves a ``DemoDataset`` with the stdlib ``ThreadingHTTPServer`` in a daemon
thread: the object list, describe, and the object query endpoint, behind the ``accesskey``
header, with Gainsight's envelopes, error bodies and quirks (an HTML page with status 200 for
errors when the caller does not ask for JSON; three spellings of "no rows"; epoch or ISO dates).
It can enforce a fixed-window rate limit, inject faults (429, 5xx, delays, HTML, dropped
connections) and counts every call, so that tests and benchmarks can check a client's behaviour.

Control endpoints (no access key; loopback only): ``GET /__demo__/stats``,
``POST /__demo__/stats/reset``, ``POST /__demo__/faults`` (a JSON list of faults),
``DELETE /__demo__/faults`` and ``POST /__demo__/delete`` (``{"object", "ids", "at"}``: delete
records, which then answer no query and appear in ``record_delete_log``).

Run it with ``gainsight-demo-tenant`` or ``python -m gainsight_assets.demo.server``.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import html
import json
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from gainsight_assets.demo.engine import QueryEngine, QueryError
from gainsight_assets.demo.generator import DemoDataset, generate_dataset
from resources.gainsight.resource import is_loopback

ENVELOPES = ("records", "list")
EMPTY_RESULTS = ("records", "result-false", "http-400")
LIST_PATH = "/v1/meta/services/objects/list"
OBJECTS_PATH = "/v1/meta/services/objects"
DESCRIBE_PREFIX = "/v1/meta/services/objects/"
QUERY_PREFIX = "/v1/data/objects/query/"
CONTROL_PREFIX = "/__demo__/"
DELETE_LOG = "record_delete_log"
JSON_TYPE = "application/json"


def _request_id() -> str:
    return str(uuid.uuid4())


# -- faults -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, consumed by the next request whose path contains ``path``.

    ``delay_seconds`` sleeps first; then ``drop_connection`` closes the socket without an
    answer, ``html`` answers an HTML page with status 200, and ``status`` answers that status
    with ``body`` (a dict is sent as JSON, a string as is; a Gainsight-style body by default).
    A fault with only a delay answers normally after it.
    """

    status: int | None = None
    body: dict[str, Any] | list[Any] | str | None = None
    delay_seconds: float = 0.0
    html: bool = False
    drop_connection: bool = False
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, payload: Any) -> Fault:
        if not isinstance(payload, dict):
            raise ValueError("each fault must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown fault key(s) {', '.join(unknown)}; use {sorted(known)}")
        return cls(**payload)

    def matches(self, path: str) -> bool:
        return self.path is None or self.path in path


def default_error_body(status: int) -> dict[str, Any]:
    """What Gainsight (or its gateway) answers for a status, as far as it is known."""
    if status == HTTPStatus.UNAUTHORIZED:
        return _unauthorized_body()
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return _error_body("GU_2400", "Too many request")
    if status >= 500:
        return _error_body("GU_1101", "Oops, something went wrong.")
    return _error_body(f"GS_DEMO_{status}", _phrase(status) or "Error")


def _error_body(code: str, desc: str) -> dict[str, Any]:
    return {
        "result": False,
        "errorCode": code,
        "errorDesc": desc,
        "requestId": _request_id(),
        "data": None,
        "message": None,
    }


def _unauthorized_body() -> dict[str, Any]:
    return {
        "result": False,
        "errorCode": "GS_APIG_2401",
        "errorDesc": "Unauthorized",
        "requestId": _request_id(),
        "message": "Unauthorized",
    }


def _not_found_body() -> dict[str, Any]:
    return {
        "requestId": _request_id(),
        "result": False,
        "instance": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "title": "OBJECT_NOT_FOUND",
        "detail": "Requested object not found.",
        "errorDesc": "Requested object not found.",
        "errorCode": "GSOBJ_1023",
    }


# -- rate limit and stats -----------------------------------------------------------------------


class CallLog:
    """Counts calls per endpoint kind and per fixed rate window, and enforces the limit."""

    def __init__(
        self, *, limit: int | None, window_seconds: float, clock: Callable[[], float]
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.kinds: Counter[str] = Counter()
            self.queries: Counter[str] = Counter()
            self.windows: dict[int, int] = {}
            self.limited_windows: dict[int, int] = {}
            self.rate_limited = 0
            self.statuses: Counter[int] = Counter()
            self.server_seconds = 0.0

    def record(self, kind: str, object_name: str | None = None) -> None:
        with self._lock:
            self.calls += 1
            self.kinds[kind] += 1
            if kind == "query" and object_name:
                self.queries[object_name.casefold()] += 1
            window = self._window()
            self.windows[window] = self.windows.get(window, 0) + 1

    def admit(self) -> bool:
        """Whether one more call fits this window's limit (it is counted either way)."""
        if self.limit is None:
            return True
        with self._lock:
            window = self._window()
            seen = self.limited_windows.get(window, 0) + 1
            self.limited_windows[window] = seen
            return seen <= self.limit

    def busy(self, seconds: float) -> None:
        """Time spent answering one API call (read the body, build and write the answer)."""
        with self._lock:
            self.server_seconds += seconds

    def answered(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self.rate_limited += 1

    def seconds_to_next_window(self) -> float:
        now = self.clock()
        return self.window_seconds - (now % self.window_seconds)

    def _window(self) -> int:
        return int(self.clock() // self.window_seconds)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            ordered = sorted(self.windows.items())
            return {
                "calls": self.calls,
                "calls_by_kind": {k: self.kinds.get(k, 0) for k in ("query", "describe", "list")}
                | {k: v for k, v in self.kinds.items() if k not in {"query", "describe", "list"}},
                "query_calls": self.kinds.get("query", 0),
                "query_calls_by_object": dict(sorted(self.queries.items())),
                "describe_calls": self.kinds.get("describe", 0),
                "list_calls": self.kinds.get("list", 0),
                "rate_limited": self.rate_limited,
                "server_seconds": self.server_seconds,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "rate_limit_per_window": self.limit,
                "window_seconds": self.window_seconds,
                "max_calls_per_window": max((count for _, count in ordered), default=0),
                "window_counts": [count for _, count in ordered],
                "windows": [
                    {"start": window * self.window_seconds, "calls": count}
                    for window, count in ordered
                ],
            }


# -- responses ----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, json.dumps(payload).encode(), JSON_TYPE, headers or {})

    @property
    def is_error(self) -> bool:
        return self.status >= 400


def html_page(status: int, detail: str) -> Response:
    """The page Gainsight answers errors with (status 200) when JSON was not asked for."""
    title = f"{status} {_phrase(status)}".strip()
    text = (
        "<!DOCTYPE html><html><head><title>Gainsight</title></head><body>"
        f"<h1>Something went wrong</h1><p>{html.escape(title)}</p>"
        f"<p>{html.escape(detail)}</p></body></html>"
    )
    return Response(200, text.encode(), "text/html; charset=utf-8")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _success(payload_data: Any) -> dict[str, Any]:
    return {"requestId": _request_id(), "result": True, "data": payload_data}


# -- the tenant ---------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], tenant: DemoTenant) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.tenant = tenant
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """End kept-alive connections too, so that no answer comes after ``stop()``."""
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up; report anything else in one line."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        print(f"demo tenant: error answering {client_address}: {error!r}", file=sys.stderr)


class DemoTenant:
    """The demo tenant's HTTP server: ``with DemoTenant(dataset, access_key="k") as tenant:``."""

    def __init__(
        self,
        dataset: DemoDataset,
        *,
        access_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        envelope: str = "records",
        empty_result: str = "records",
        date_format: str = "epoch",
        rate_limit_per_minute: int | None = None,
        rate_limit_window_seconds: float = 60.0,
        retry_after: bool = False,
        page_cache_bytes: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(
                f"refusing to serve the demo tenant on {host!r}: it is for loopback only"
                " (use 127.0.0.1, ::1 or localhost)"
            )
        if envelope not in ENVELOPES:
            raise ValueError(f"envelope must be one of {ENVELOPES}, got {envelope!r}")
        if empty_result not in EMPTY_RESULTS:
            raise ValueError(f"empty_result must be one of {EMPTY_RESULTS}, got {empty_result!r}")
        if not access_key:
            raise ValueError("access_key must not be empty")
        self.dataset = dataset
        self.access_key = access_key
        self.host = host.strip("[]")
        self.port = port
        self.envelope = envelope
        self.empty_result = empty_result
        self.retry_after = retry_after
        self.engine = QueryEngine(
            dataset, date_format=date_format, page_cache_bytes=page_cache_bytes
        )
        self.calls = CallLog(
            limit=rate_limit_per_minute, window_seconds=rate_limit_window_seconds, clock=clock
        )
        self._faults: deque[Fault] = deque()
        self._faults_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    def start(self) -> DemoTenant:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"demo-tenant-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> DemoTenant:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the demo tenant is not running; call start() or use `with`")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- faults and stats --

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each is used once, by the next request its ``path`` matches."""
        with self._faults_lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        with self._faults_lock:
            return len(self._faults)

    def take_fault(self, path: str) -> Fault | None:
        with self._faults_lock:
            for position, fault in enumerate(self._faults):
                if fault.matches(path):
                    del self._faults[position]
                    return fault
        return None

    def stats(self) -> dict[str, Any]:
        """Calls (total and per kind), 429s sent, and calls per rate window."""
        return self.calls.snapshot() | {"pending_faults": self.pending_faults()}

    def reset_stats(self) -> None:
        self.calls.reset()

    # -- deletions --

    def delete(
        self, object_name: str, record_ids: list[str], *, at: datetime | None = None
    ) -> list[str]:
        """Delete records by Gsid, as a user in Gainsight would: they stop answering queries
        and ``record_delete_log`` gains one entry each, ``DeletedOn`` = ``at`` (default now).
        Returns the ids that existed."""
        when = at or datetime.now(UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return self.engine.delete(
            object_name, record_ids, at_ms=round(when.timestamp() * 1000), log_object=DELETE_LOG
        )

    # -- the API --

    def authorized(self, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(key.encode(), self.access_key.encode())

    def rate_limited(self) -> Response | None:
        if self.calls.admit():
            return None
        headers = {}
        if self.retry_after:
            headers["Retry-After"] = str(max(1, round(self.calls.seconds_to_next_window())))
        return Response.json(429, default_error_body(429), headers)

    def route(self, method: str, path: str, body: bytes) -> Response:
        """Answer one authorized, admitted API call."""
        if path == LIST_PATH and method == "GET":
            return Response.json(200, _success(self.object_list()))
        if path == OBJECTS_PATH and method == "POST":
            return Response.json(200, _success(self.object_list()))
        if path == DESCRIBE_PREFIX + "describe" and method == "POST":
            return self.describe_many(body)
        if path.startswith(DESCRIBE_PREFIX) and path.endswith("/describe") and method == "GET":
            return self.describe_one(unquote(path[len(DESCRIBE_PREFIX) : -len("/describe")]))
        if path.startswith(QUERY_PREFIX) and method == "POST":
            return self.query(unquote(path[len(QUERY_PREFIX) :]), body)
        return Response.json(
            404, _error_body("GS_APIG_1000", f"No route for {method} {path} on this host")
        )

    def object_list(self) -> list[dict[str, Any]]:
        return [
            {
                "objectName": describe["objectName"],
                "label": describe["label"],
                "labelPlural": describe["labelPlural"],
                "objectType": describe["objectType"],
                "keyPrefix": describe["keyPrefix"],
                "transactional": False,
                "multiCurrencySupported": False,
                "readable": True,
                "createable": True,
                "schemaUpdateable": describe["objectType"] == "CUSTOM",
            }
            for describe in self.dataset.describe.values()
        ]

    def describe_one(self, object_name: str) -> Response:
        name = self.dataset.resolve(object_name)
        if name is None:
            return Response.json(404, _not_found_body())
        return Response.json(200, _success([self.dataset.describe[name]]))

    def describe_many(self, body: bytes) -> Response:
        try:
            names = json.loads(body or b"{}").get("objectNames") or []
        except (json.JSONDecodeError, AttributeError):
            return Response.json(400, _error_body("GSOBJ_1008", "Body must be a JSON object"))
        found = [self.dataset.resolve(str(n)) for n in names]
        if not names or None in found:
            return Response.json(404, _not_found_body())
        return Response.json(200, _success([self.dataset.describe[n] for n in found if n]))

    def query(self, object_name: str, raw: bytes) -> Response:
        try:
            body = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return Response.json(400, _error_body("GSOBJ_1008", "Request body is not valid JSON"))
        try:
            page = self.engine.query(object_name, body)
        except QueryError as err:
            if err.status == 404:
                return Response.json(404, _not_found_body())
            return Response.json(err.status, _error_body(err.error_code, err.error_desc))
        if page.count == 0 and self.empty_result == "result-false":
            return Response.json(200, _error_body("GSOBJ_1XXX", "No data found for given criteria"))
        if page.count == 0 and self.empty_result == "http-400":
            return Response.json(
                400, _error_body("GSOBJ_1011", "No entity matches the given criteria")
            )
        request_id = _request_id().encode()
        head = b'{"result":true,"errorCode":null,"errorDesc":null,"requestId":"' + request_id
        if self.envelope == "list":
            parts = [head, b'","data":', page.records_json, b',"message":null}']
        else:
            parts = [head, b'","data":{"records":', page.records_json, b'},"message":null}']
        payload = b"".join(parts)
        return Response(200, payload)

    def control(self, method: str, path: str, body: bytes) -> Response:
        """The ``/__demo__/`` endpoints: stats and fault injection for a CLI-started tenant."""
        action = path[len(CONTROL_PREFIX) :].strip("/")
        if action == "stats" and method == "GET":
            return Response.json(200, self.stats())
        if action == "stats/reset" and method == "POST":
            self.reset_stats()
            return Response.json(200, {"reset": True})
        if action == "delete" and method == "POST":
            try:
                payload = json.loads(body or b"{}")
                at = payload.get("at")
                deleted = self.delete(
                    str(payload["object"]),
                    [str(i) for i in payload["ids"]],
                    at=datetime.fromisoformat(at.replace("Z", "+00:00")) if at else None,
                )
            except (json.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError) as err:
                return Response.json(400, {"error": f"bad delete request: {err}"})
            return Response.json(200, {"deleted": deleted})
        if action == "faults" and method == "DELETE":
            self.clear_faults()
            return Response.json(200, {"pending": 0})
        if action == "faults" and method == "POST":
            try:
                payload = json.loads(body or b"[]")
                items = payload if isinstance(payload, list) else [payload]
                faults = [Fault.from_json(item) for item in items]
            except (json.JSONDecodeError, ValueError, TypeError) as err:
                return Response.json(400, {"error": str(err)})
            self.inject(*faults)
            return Response.json(200, {"queued": len(faults), "pending": self.pending_faults()})
        return Response.json(404, {"error": f"no control endpoint {method} {path}"})


# -- HTTP handler -------------------------------------------------------------------------------


def _endpoint_kind(path: str) -> str:
    if path.startswith(QUERY_PREFIX):
        return "query"
    if path.endswith("/describe"):
        return "describe"
    if path in {LIST_PATH, OBJECTS_PATH}:
        return "list"
    return "other"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GainsightDemo/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request on stderr."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        tenant = self.server.tenant
        path = urlsplit(self.path).path
        if path.startswith(CONTROL_PREFIX):
            self._send(tenant.control(method, path, self._body()))
            return
        started = time.perf_counter()
        try:
            self._answer(tenant, method, path)
        finally:
            tenant.calls.busy(time.perf_counter() - started)

    def _answer(self, tenant: DemoTenant, method: str, path: str) -> None:
        body = self._body()
        kind = _endpoint_kind(path)
        tenant.calls.record(kind, unquote(path[len(QUERY_PREFIX) :]) if kind == "query" else None)
        fault = tenant.take_fault(path)
        if fault is not None:
            if fault.delay_seconds > 0:
                time.sleep(fault.delay_seconds)
            if fault.drop_connection:
                self._drop()
                return
            if fault.html:
                self._send(html_page(500, "The server encountered an error."), quirk=False)
                return
            if fault.status is not None:
                self._send(self._fault_response(fault))
                return
        if not tenant.authorized(self.headers.get("accesskey")):
            self._send(Response.json(401, _unauthorized_body()))
            return
        limited = tenant.rate_limited()
        self._send(limited or tenant.route(method, path, body))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        status = fault.status or 500
        if fault.body is None:
            response = Response.json(status, default_error_body(status))
        elif isinstance(fault.body, str):
            response = Response(status, fault.body.encode(), "text/plain; charset=utf-8")
        else:
            response = Response.json(status, fault.body)
        response.headers.update(fault.headers)
        return response

    def _wants_json(self) -> bool:
        return JSON_TYPE in (self.headers.get("Accept") or "").lower()

    def _send(self, response: Response, *, quirk: bool = True) -> None:
        """Write the whole answer at once; errors become an HTML 200 page without JSON Accept."""
        if not self.path.startswith(CONTROL_PREFIX):
            self.server.tenant.calls.answered(response.status)
            if quirk and response.is_error and not self._wants_json():
                response = html_page(response.status, self._error_detail(response))
        self._write(response)

    @staticmethod
    def _error_detail(response: Response) -> str:
        try:
            payload = json.loads(response.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return response.body.decode(errors="replace")[:200]
        if isinstance(payload, dict):
            return str(payload.get("errorDesc") or payload.get("detail") or "")
        return ""

    def _write(self, response: Response) -> None:
        head = [
            f"HTTP/1.1 {response.status} {_phrase(response.status)}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        self.wfile.write(response.body)

    def _drop(self) -> None:
        """Close the socket without a byte of answer, as a failing load balancer might."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# -- CLI ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gainsight-demo-tenant",
        description="Serve a local demo Gainsight CS tenant with generated data (loopback only).",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="port (0 picks a free one; default 8765)")
    add("--access-key", default="demo-access-key", help="the accesskey header value to accept")
    add("--companies", type=int, default=40)
    add("--activities-per-company", type=int, default=12)
    add("--surveys-per-company", type=int, default=6)
    add("--usage-rows-per-company", type=int, default=40)
    add("--days", type=int, default=35, help="data spans the last DAYS days before the anchor")
    add("--variant", type=int, default=7, help="which demo dataset (each has other data)")
    add("--anchor", help="end of the data window, ISO-8601 UTC (default: now, floored to the hour)")
    add("--rate-limit-per-minute", type=int, default=None, help="calls per window, then 429")
    add("--rate-limit-window-seconds", type=float, default=60.0, help="window length (default 60)")
    add("--retry-after", action="store_true", help="send a Retry-After header with 429s")
    add("--envelope", choices=ENVELOPES, default="records", help="data.records or a bare list")
    add("--empty-result", choices=EMPTY_RESULTS, default="records", help="how 'no rows' looks")
    add("--date-format", choices=("epoch", "iso"), default="epoch", help="dates in records")
    return parser


def _anchor(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host):
        print(
            f"gainsight-demo-tenant: refusing to bind to {args.host!r}. The demo tenant serves"
            " fake data behind a well-known key and is for this machine only: use --host"
            " 127.0.0.1 (or ::1 / localhost).",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    dataset = generate_dataset(
        companies=args.companies,
        activities_per_company=args.activities_per_company,
        surveys_per_company=args.surveys_per_company,
        usage_rows_per_company=args.usage_rows_per_company,
        days=args.days,
        anchor=_anchor(args.anchor),
        variant=args.variant,
    )
    generated_in = time.perf_counter() - started
    tenant = DemoTenant(
        dataset,
        access_key=args.access_key,
        host=args.host,
        port=args.port,
        envelope=args.envelope,
        empty_result=args.empty_result,
        date_format=args.date_format,
        rate_limit_per_minute=args.rate_limit_per_minute,
        rate_limit_window_seconds=args.rate_limit_window_seconds,
        retry_after=args.retry_after,
    )
    try:
        tenant.start()
    except OSError as err:
        print(
            f"gainsight-demo-tenant: cannot listen on {args.host}:{args.port}: {err}",
            file=sys.stderr,
        )
        return 1
    _announce(tenant, dataset, generated_in)
    return _serve_until_stopped(tenant)


def _announce(tenant: DemoTenant, dataset: DemoDataset, generated_in: float) -> None:
    counts = ", ".join(f"{name}={count}" for name, count in dataset.counts().items())
    print(f"Demo Gainsight tenant listening on {tenant.base_url}", flush=True)
    print(f"  access key: {tenant.access_key}", flush=True)
    print(
        f"  data up to {dataset.anchor.isoformat()} (generated in {generated_in:.1f}s): {counts}",
        flush=True,
    )
    print("Press Ctrl-C to stop.", flush=True)


def _serve_until_stopped(tenant: DemoTenant) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        tenant.stop()
        print("Demo Gainsight tenant stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
