"""An httpx client for the Gainsight CS (NXT) REST API.

It speaks the documented API: the ``accesskey`` header with ``Accept: application/json`` (without
it Gainsight answers errors with an HTML page and status 200), the metadata endpoints, and the
object query endpoint paged with ``limit``/``offset``. It keeps every call inside the tenant's rate
limit, retries what is transient, and turns everything else into an error that names the object,
the request and Gainsight's ``errorCode``/``errorDesc`` — never into a silent empty result.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import polars as pl

from resources.gainsight.envelope import (
    AUTH_CODES,
    Envelope,
    MalformedEnvelope,
    data_list,
    query_records,
)
from resources.gainsight.errors import (
    GainsightAuthError,
    GainsightConfigError,
    GainsightError,
    GainsightObjectNotFound,
    GainsightRequestError,
    GainsightResponseError,
    GainsightRetriesExhausted,
)
from resources.gainsight.frames import (
    UnparseableValues,
    frame_schema,
    json_page_frame,
    records_to_frame,
)
from resources.gainsight.metadata import ObjectDescription, ObjectInfo, close_matches
from resources.gainsight.query import MAX_PAGE_SIZE, Where
from resources.gainsight.rate_limit import RateLimiter
from resources.redaction import REDACTED, redact

LIST_PATH = "/v1/meta/services/objects/list"
DESCRIBE_PATH = "/v1/meta/services/objects/{object}/describe"
QUERY_PATH = "/v1/data/objects/query/{object}"

log = logging.getLogger("gainsight")
T = TypeVar("T")


@dataclass
class CallStats:
    """What the client spent, for run metadata and the benchmark."""

    calls: int = 0
    query_calls: int = 0
    metadata_calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    pages: int = 0
    records: int = 0

    def snapshot(self) -> CallStats:
        return CallStats(**self.__dict__)

    def since(self, earlier: CallStats) -> CallStats:
        return CallStats(**{k: v - getattr(earlier, k) for k, v in self.__dict__.items()})


@dataclass
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_rate_limit_waits: int = 20
    rate_window: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half fixed, half random, capped."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def until_next_window(self, now: float) -> float:
        """Gainsight's windows are fixed (10:00 to 10:01): wait for the next one, plus a margin."""
        return self.rate_window - (now % self.rate_window) + min(1.0, self.rate_window / 20)


@dataclass
class PageStream:
    """Pages of one query, as typed Polars frames, fetched lazily as the caller iterates.

    Offset paging at ``page_size`` in a stable order; stops on a short or empty page; drops
    records already seen on an earlier page (offset paging is not snapshot-stable); stops at
    ``max_records`` and then says whether more existed (``truncated``). A full page that brings
    no record not seen before (a server that ignores ``offset``) stops paging too (``stalled``).
    ``complete`` says whether the query was read in full: only then may a caller treat what it
    did not receive as absent.

    While the caller works on a full page, the next one is already being fetched and parsed on
    the client's fetch thread (one call ahead, never more: reading every page makes exactly the
    calls of a sequential loop, and at most two pages are held at once; a caller that stops
    early may have caused that one call more, which closing the stream cancels or awaits).
    Errors of that call surface where the caller asks for the page.
    """

    client: GainsightClient
    object_name: str
    select: list[str]
    where: Where | None
    order_by: dict[str, str] | None
    max_records: int | None
    schema: pl.Schema
    id_field: str | None
    pages: int = 0
    records: int = 0
    duplicates: int = 0
    truncated: bool = False
    stalled: bool = False
    # ids of earlier pages: their hashes, and the exact ids once a hash is seen twice
    _seen_hashes: set[int] = field(default_factory=set)
    _seen_ids: list[pl.Series] = field(default_factory=list)
    _seen: set[str | None] | None = None

    def __iter__(self) -> Iterator[pl.DataFrame]:
        page_size = self.client.page_size
        fetched = 0  # records served so far (duplicates included): the next offset
        kept = 0  # records kept so far: what max_records counts

        def fetch(body: dict[str, Any]) -> tuple[pl.DataFrame, PageIds | None]:
            page = self.client.query_frame(self.object_name, body, schema=self.schema)
            return page, page_ids(page, self.id_field)

        def ask(offset: int, kept: int) -> tuple[int, Future[tuple[pl.DataFrame, PageIds | None]]]:
            remaining = None if self.max_records is None else self.max_records - kept
            # Ask for one record past the cap so truncation is known, not guessed.
            limit = page_size if remaining is None else min(page_size, remaining + 1)
            return limit, self.client.fetch_async(fetch, self._body(limit, offset))

        limit, pending = ask(0, 0)
        try:
            while pending is not None:
                page, ids = pending.result()
                pending = None
                served = page.height
                fetched += served
                remaining = None if self.max_records is None else self.max_records - kept
                if remaining is not None and served > remaining:
                    self.truncated = True
                    page = page.head(remaining)
                    ids = page_ids(page, self.id_field)
                frame = self._dedupe(page, ids)
                kept += frame.height
                if served >= limit and served and not frame.height:
                    self.stalled = True  # the same records again: more paging reads nothing new
                elif not self.truncated and served >= limit:
                    limit, pending = ask(fetched, kept)  # fetched while the caller works
                if frame.height:
                    self.pages += 1
                    self.records += frame.height
                    self.client.stats.pages += 1
                    self.client.stats.records += frame.height
                    yield frame
        finally:
            if pending is not None and not pending.cancel():
                _settle(pending)  # the caller stopped early: let the call in flight end
            self._seen_hashes, self._seen_ids, self._seen = set(), [], None  # paging is over

    @property
    def complete(self) -> bool:
        """Was the query read to its end (not cut by ``max_records``, paging not stalled)?"""
        return not (self.truncated or self.stalled)

    def _body(self, limit: int, offset: int) -> dict[str, Any]:
        body: dict[str, Any] = {"select": self.select}
        if self.where:
            body["where"] = self.where
        if self.order_by:
            body["orderBy"] = self.order_by
        body["limit"] = limit
        body["offset"] = offset
        return body

    def _dedupe(self, frame: pl.DataFrame, ids: PageIds | None = None) -> pl.DataFrame:
        """Drop ids already served on an earlier page (and repeats within the page).

        Ids compare trimmed; a blank or missing id names no record, so such records are never
        taken for repeats of one another (the caller decides what to do with them). Earlier
        pages are remembered by the 64-bit hashes of their ids, which is cheap; only when a hash
        comes back (a record moved across a page boundary, or a collision) are the exact ids
        collected, and from then on compared exactly.

        ``ids`` is the page's :func:`page_ids`, worked out on the fetch thread while the caller
        was busy with the page before: in the common case (no repeat) what is left here is two
        set operations, with no work handed to Polars.
        """
        if ids is None:
            ids = page_ids(frame, self.id_field)
        if ids is None:
            return frame
        if self._seen is None:
            if self._seen_hashes.isdisjoint(ids.hashes):
                self._seen_hashes.update(ids.hashes)
                self._seen_ids.append(ids.named)
                if ids.unique:
                    return frame  # the common case: nothing to drop, nothing to copy
                fresh = frame.filter(ids.keep)
                self.duplicates += frame.height - fresh.height
                return fresh
            self._seen = set(pl.concat(self._seen_ids).to_list()) if self._seen_ids else set()
            self._seen_hashes, self._seen_ids = set(), []
        keep = ids.keep
        named_list = ids.named.to_list()
        if not self._seen.isdisjoint(named_list):  # rare: a record moved across a page boundary
            keep = keep & pl.Series([i is None or i not in self._seen for i in ids.ids.to_list()])
        fresh = frame.filter(keep)
        self.duplicates += frame.height - fresh.height
        self._seen.update(named_list)
        return fresh


@dataclass(frozen=True)
class PageIds:
    """The ids of one page, as :meth:`PageStream._dedupe` compares them."""

    ids: pl.Series  # each record's id, trimmed; null when blank or missing
    named: pl.Series  # the ids that are present
    keep: pl.Series  # first occurrence within the page, or no id at all
    unique: bool  # whether ``keep`` keeps every record
    hashes: list[int]  # the 64-bit hashes of ``named``


def page_ids(frame: pl.DataFrame, id_field: str | None) -> PageIds | None:
    """A page's :class:`PageIds` (``None``: the query names no id field, or the page is empty)."""
    if id_field is None or not frame.height:
        return None
    text = pl.col(id_field).cast(pl.String).str.strip_chars()
    ids = frame.select(pl.when(text != "").then(text)).to_series()
    present = ids.is_not_null()
    named = ids.filter(present)
    keep = ~present | ids.is_first_distinct()
    return PageIds(ids, named, keep, bool(keep.all()), named.hash().to_list())


def _settle(future: Future[Any]) -> None:
    with contextlib.suppress(Exception):
        future.result()


class GainsightClient:
    """One tenant's API, with its metadata cached for the life of the client (one run)."""

    def __init__(
        self,
        *,
        base_url: str,
        access_key: str,
        page_size: int = MAX_PAGE_SIZE,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        base_url_setting: str = "GAINSIGHT_BASE_URL",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.base_url_setting = base_url_setting  # where the URL came from, for messages
        self.page_size = page_size
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter(90, 60.0)
        self.stats = CallStats()
        self._access_key = access_key
        self._sleep = sleep
        self._clock = clock
        self._objects: list[ObjectInfo] | None = None
        self._fetcher: ThreadPoolExecutor | None = None
        self._fetcher_lock = threading.Lock()
        self._describes: dict[str, ObjectDescription] = {}
        # Until a first answer arrives, a refused connection or an unknown host is a wrong
        # GAINSIGHT_BASE_URL, not an outage: it fails at once instead of being retried.
        self._connected = False
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "accesskey": access_key,
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"GainsightClient(base_url={self.base_url!r}, access_key={REDACTED})"

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.shutdown(wait=True)
            self._fetcher = None
        self._http.close()

    def fetch_async(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run one call on the client's fetch thread (one call at a time, in order)."""
        with self._fetcher_lock:
            if self._fetcher is None:
                self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="gainsight-fetch")
            return self._fetcher.submit(call, *args, **kwargs)

    def __enter__(self) -> GainsightClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- metadata ---------------------------------------------------------------------------

    def list_objects(self) -> list[ObjectInfo]:
        if self._objects is None:
            envelope = self._call("GET", LIST_PATH, object_name=None, kind="metadata")
            self._objects = [
                ObjectInfo.model_validate(item)
                for item in self._read(lambda: data_list(envelope, "objects"), None, LIST_PATH)
            ]
        return self._objects

    def validate_connection(self) -> int:
        """Validate the connection: authenticate and count the objects discovered."""
        self._objects = None
        return len(self.list_objects())

    def describe(self, object_name: str) -> ObjectDescription:
        key = object_name.casefold()
        if key not in self._describes:
            path = DESCRIBE_PATH.format(object=object_name)
            envelope = self._call("GET", path, object_name=object_name, kind="metadata")
            entries = self._read(lambda: data_list(envelope, "objects"), object_name, path)
            if not entries:
                raise self._not_found(object_name, path)
            self._describes[key] = ObjectDescription.model_validate(entries[0])
        return self._describes[key]

    # -- data -------------------------------------------------------------------------------

    def query_pages(
        self,
        object_name: str,
        select: Sequence[str],
        *,
        where: Where | None = None,
        order_by: Mapping[str, str] | None = None,
        max_records: int | None = None,
        field_types: Mapping[str, str] | None = None,
        id_field: str | None = "Gsid",
    ) -> PageStream:
        """A lazy stream of typed pages. Types come from describe unless ``field_types`` is given.

        Without an explicit ``order_by`` the stream orders by ``id_field`` so that offsets are
        stable between calls.
        """
        select = list(dict.fromkeys(select))
        if not select:
            raise GainsightRequestError(
                f"Query on '{object_name}' selects no fields.", object_name=object_name
            )
        if field_types is None:
            field_types = self.describe(object_name).field_types()
        if id_field is not None and id_field not in select:
            id_field = None
        if order_by is None and id_field is not None:
            order_by = {id_field: "asc"}
        return PageStream(
            client=self,
            object_name=object_name,
            select=select,
            where=where,
            order_by=dict(order_by) if order_by else None,
            max_records=max_records,
            schema=frame_schema(select, field_types),
            id_field=id_field,
        )

    def query_once(
        self,
        object_name: str,
        body: dict[str, Any],
        *,
        select: Sequence[str],
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> list[dict[str, Any]]:
        """One query call; ``timeout``/``max_retries`` override the client's for this call."""
        path = QUERY_PATH.format(object=object_name)
        envelope = self._call(
            "POST",
            path,
            object_name=object_name,
            kind="query",
            body=body,
            timeout=timeout,
            max_retries=max_retries,
        )
        return self._read(lambda: query_records(envelope), object_name, path)

    def query_frame(
        self, object_name: str, body: dict[str, Any], *, schema: pl.Schema
    ) -> pl.DataFrame:
        """One query call, answered as a typed frame in ``schema`` (before de-duplication)."""
        path = QUERY_PATH.format(object=object_name)

        def fast(response: httpx.Response) -> pl.DataFrame | None:
            if "json" not in response.headers.get("content-type", ""):
                return None
            return json_page_frame(response.content, schema, object_name=object_name)

        try:
            answer = self._call(
                "POST", path, object_name=object_name, kind="query", body=body, fast=fast
            )
            if isinstance(answer, pl.DataFrame):
                return answer
            records = self._read(lambda: query_records(answer), object_name, path)
            return records_to_frame(records, schema, object_name=object_name)
        except UnparseableValues as exc:
            raise GainsightResponseError(str(exc), object_name=object_name) from exc

    # -- transport --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        object_name: str | None,
        kind: str,
        body: dict[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fast: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        """One call with its waits and retries: the ``Envelope``, or what ``fast`` made of a
        200 answer (``fast`` returns ``None`` to leave the answer to the general path)."""
        request = f"{method} {path}"
        retries = self.retry.max_retries if max_retries is None else max_retries
        extra = {} if timeout is None else {"timeout": timeout}
        failures = 0
        rate_waits = 0
        while True:
            self.limiter.acquire()
            self.stats.calls += 1
            if kind == "query":
                self.stats.query_calls += 1
            else:
                self.stats.metadata_calls += 1
            try:
                response = self._http.request(method, path, json=body, **extra)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
                envelope = None
            except httpx.TransportError as exc:
                if not self._connected:
                    self._raise_if_unreachable(exc)
                problem = f"connection failed ({type(exc).__name__})"
                envelope = None
            else:
                self._connected = True
                if fast is not None and response.status_code == 200:
                    made = fast(response)
                    if made is not None:
                        return made
                envelope = self._envelope_or_none(response)
                if response.status_code == 429 or (envelope and envelope.is_rate_limited):
                    rate_waits += 1
                    self.stats.rate_limited += 1
                    if rate_waits > self.retry.max_rate_limit_waits:
                        raise self._error(
                            GainsightRetriesExhausted,
                            f"still rate limited (HTTP 429) after {rate_waits - 1} waits",
                            object_name,
                            request,
                            response,
                            envelope,
                        )
                    wait = self._rate_limit_wait(response)
                    log.warning(
                        "Gainsight rate limit reached on %s; waiting %.1fs for the next window",
                        request,
                        wait,
                    )
                    self.limiter.defer(wait)
                    continue
                if response.status_code < 500:
                    return self._accept(response, envelope, object_name, request)
                problem = f"answered HTTP {response.status_code}"
            failures += 1
            if failures > retries:
                detail = f" ({envelope.explanation})" if envelope else ""
                raise GainsightRetriesExhausted(
                    self._redact(
                        f"Gainsight {request} for object '{object_name or '-'}' {problem}{detail}"
                        f" and still failed after {retries} retries. Gainsight may"
                        " be degraded; re-run later, or raise `max_retries`/`timeout_seconds`."
                    ),
                    object_name=object_name,
                    request=request,
                    status=None if envelope is None else response.status_code,
                    error_code=envelope.error_code if envelope else None,
                    error_desc=envelope.error_desc if envelope else None,
                )
            self.stats.retries += 1
            wait = self.retry.backoff(failures)
            log.warning(
                "Gainsight %s %s; retry %d/%d in %.1fs",
                request,
                problem,
                failures,
                retries,
                wait,
            )
            self._sleep(wait)

    def _accept(
        self,
        response: httpx.Response,
        envelope: Envelope | None,
        object_name: str | None,
        request: str,
    ) -> Envelope:
        status = response.status_code
        code = envelope.error_code if envelope else None
        if status == 401 or code in AUTH_CODES:
            raise self._error(
                GainsightAuthError,
                "rejected the access key (HTTP 401). The key has expired or been rotated: generate"
                " a new one in Gainsight (Administration > Connectors 2.0 > Gainsight API) and"
                " set it as GAINSIGHT_ACCESS_KEY",
                object_name,
                request,
                response,
                envelope,
            )
        if envelope is None:
            raise self._error(
                GainsightResponseError,
                f"answered HTTP {status} with {self._describe_body(response)} instead of a JSON"
                " envelope. Check that GAINSIGHT_BASE_URL is the tenant's API host (e.g."
                " https://acme.gainsightcloud.com) and that no proxy strips the Accept header",
                object_name,
                request,
                response,
                None,
            )
        if status >= 400:
            if envelope.describes_no_data and request.startswith("POST"):
                return Envelope(result=True, data=[])
            if status == 404 or envelope.title == "OBJECT_NOT_FOUND":
                raise self._not_found(object_name or "-", request)
            raise self._error(
                GainsightRequestError,
                f"refused the request (HTTP {status})",
                object_name,
                request,
                response,
                envelope,
            )
        return envelope

    def _read(self, extract: Callable[[], Any], object_name: str | None, path: str) -> Any:
        try:
            return extract()
        except MalformedEnvelope as exc:
            raise GainsightResponseError(
                self._redact(
                    f"Gainsight answered {path} for object '{object_name or '-'}' with a malformed"
                    f" envelope: {exc}."
                ),
                object_name=object_name,
                request=path,
            ) from None

    @staticmethod
    def _envelope_or_none(response: httpx.Response) -> Envelope | None:
        content_type = response.headers.get("content-type", "")
        if "html" in content_type or response.content.lstrip()[:1] == b"<":
            return None
        try:
            return Envelope.parse(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError, MalformedEnvelope):
            return None

    @staticmethod
    def _describe_body(response: httpx.Response) -> str:
        if not response.content:
            return "an empty body"
        if b"<html" in response.content[:512].lower() or response.content.lstrip()[:1] == b"<":
            return "an HTML page"
        return "a body that is not a Gainsight JSON envelope"

    def _rate_limit_wait(self, response: httpx.Response) -> float:
        retry_after = response.headers.get("retry-after")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        return self.retry.until_next_window(self._clock())

    def _not_found(self, object_name: str, request: str) -> GainsightObjectNotFound:
        hint = ""
        if self._objects is not None or request != LIST_PATH:
            try:
                names = [o.object_name for o in self.list_objects()]
                matches = close_matches(object_name, names)
                hint = f" Close matches: {', '.join(matches)}." if matches else ""
            except GainsightError:
                hint = ""
        return GainsightObjectNotFound(
            f"Gainsight tenant has no object '{object_name}'.{hint} Pick an object from"
            " `gainsight-sync objects` (the tenant's object list).",
            object_name=object_name,
            request=request,
            status=404,
        )

    def _error(
        self,
        kind: type[GainsightError],
        what: str,
        object_name: str | None,
        request: str,
        response: httpx.Response,
        envelope: Envelope | None,
    ) -> GainsightError:
        detail = f" Gainsight said {envelope.explanation}." if envelope else ""
        return kind(
            self._redact(f"Gainsight {request} for object '{object_name or '-'}' {what}.{detail}"),
            object_name=object_name,
            request=request,
            status=response.status_code,
            error_code=envelope.error_code if envelope else None,
            error_desc=self._redact(envelope.error_desc or "") if envelope else None,
        )

    def _raise_if_unreachable(self, exc: httpx.TransportError) -> None:
        """A configuration error for a refused connection or a host name that does not resolve."""
        if not isinstance(exc, httpx.ConnectError):
            return
        text = str(exc).lower()
        if "refused" in text:
            problem = "the connection was refused"
        elif any(
            hint in text
            for hint in ("name or service not known", "name resolution", "nodename", "getaddrinfo")
        ):
            problem = "the host name does not resolve"
        else:
            return
        host = httpx.URL(self.base_url).host
        raise GainsightConfigError(
            f"Cannot reach Gainsight at {host}: {problem}. Check {self.base_url_setting}"
            f" (now {self.base_url}); it must be your tenant's root URL, like"
            " https://acme.gainsightcloud.com."
        ) from None

    def _redact(self, text: str) -> str:
        return redact(text, (self._access_key,))
