"""The mock's ASGI application: routes over lazy collections and the write overlay.

A plain ASGI callable rather than a framework app: every request is a
handful of dictionary lookups before the records are made, which is where
the time should go. Routes (``NAME`` is a collection):

- ``GET /NAME`` list (pages, sorting, filters: :mod:`phony_server.mock.query`),
  ``POST /NAME`` create;
- ``GET``, ``PUT``, ``PATCH``, ``DELETE /NAME/ID`` (``?_dependent=CHILD`` deletes the
  records of CHILD referring to it too);
- ``GET /PARENT/ID/NAME`` the records of NAME whose reference field holds ID, ``POST``
  one with that ID;
- ``POST /__reset``, ``GET /__snapshot``, ``POST /__restore`` for the write
  state; ``GET /openapi.json``; ``GET /`` (or ``/__docs``) a page describing
  the collections.

CORS is open (any origin, credentials allowed; ``X-Total-Count``, ``Link`` and
``Location`` exposed). Errors are ``{"error": code, "detail": message}``, plus
``field`` on a 422. The HTTP plumbing (bodies, parameters, CORS, errors) is
:mod:`phony_server.mock.asgi`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any
from urllib.parse import unquote

from phony_registry.errors import PluginFault, ValidationError
from phony_server.mock.asgi import (
    CORS,
    JSON_HEADER,
    HTTPError,
    Receive,
    Scope,
    Send,
    allow,
    allow_header,
    cors_headers,
    drop,
    json_body,
    lifespan,
    preflight,
    query_parameters,
    read_body,
)
from phony_server.mock.blocks import BlockCache
from phony_server.mock.chaos import Chaos, parse_delay, parse_faults
from phony_server.mock.config import MockConfig
from phony_server.mock.query import (
    BadQuery,
    ListQuery,
    envelope,
    matching,
    parse_list_query,
    run_list,
    scans,
)
from phony_server.mock.records import MAX_ID, Collection, Field, link_references
from phony_server.mock.sources import load_source
from phony_server.mock.state import Overlay, OverlayFull, open_overlay
from phony_server.mock.validation import Invalid, validate_record
from phony_server.mock.words import singular

__all__ = ["MockApp", "build_collections"]

#: Faults of plugins while serving (a generator that raised).
logger = logging.getLogger(__name__)

_ID_DIGITS = len(str(MAX_ID))

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def build_collections(config: MockConfig) -> dict[str, Collection]:
    """Load every schema of ``config`` into a collection (models resolved, nothing generated).

    The collections share one cache of served blocks, of ``config.cache_mb`` MiB.
    """
    collections = {}
    cache = BlockCache(config.cache_mb << 20)
    for source in config.sources:
        schema = load_source(source, base=config.base)
        count = source.count if source.count is not None else config.count
        collections[source.name] = Collection(source.name, schema, count, config.seed, cache)
    link_references(collections)
    return collections


class MockApp:
    """The ASGI application of ``phony mock start``."""

    def __init__(self, config: MockConfig, *, warm: bool = True) -> None:
        self.config = config
        self.collections = build_collections(config)
        self.overlay: Overlay = open_overlay(
            config.state,
            {n: c.next_id for n, c in self.collections.items()},
            config.seed,
            steps={n: c.id_step for n, c in self.collections.items()},
        )
        self.chaos = Chaos(
            config.seed,
            parse_delay(config.delay) if config.delay else None,
            parse_faults(config.faults) if config.faults else [],
        )
        self._openapi: bytes | None = None
        self._docs: bytes | None = None
        if warm:
            import threading

            threading.Thread(target=self._warm, name="phony-mock-warm", daemon=True).start()

    def _warm(self) -> None:
        """Index the first chunk of every collection (all of them with ``--warm``) in the
        background, so the first requests do not pay for it."""
        for collection in self.collections.values():
            collection.warm(1)
        if self.config.warm:
            for collection in self.collections.values():
                collection.warm(collection.count)

    @property
    def openapi(self) -> bytes:
        """The OpenAPI document, made on first request (it shows a generated record)."""
        if self._openapi is None:
            from phony_server.mock.openapi import openapi_document

            self._openapi = _dumps(openapi_document(self.collections, self.config)).encode()
        return self._openapi

    @property
    def docs(self) -> bytes:
        """The docs page, made on first request."""
        if self._docs is None:
            from phony_server.mock.openapi import docs_page

            self._docs = docs_page(self.collections, self.config).encode()
        return self._docs

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await lifespan(receive, send)
            return
        if kind != "http":
            return
        method: str = scope["method"]
        path: str = scope["path"]
        query: str = scope["query_string"].decode("latin-1")
        cors = cors_headers(scope)
        if self.chaos.active:
            delay, fault = self.chaos.draw(method, f"{path}?{query}")
            if delay:
                await asyncio.sleep(delay)
            if fault == "reset":
                await drop(send)
                return
            if fault is not None:
                await self._error(
                    send, HTTPError(int(fault), "fault", f"injected by --faults ({fault})"), cors
                )
                return
        try:
            if method == "OPTIONS":
                await preflight(scope, send, cors)
                return
            body = await read_body(receive) if method in ("POST", "PUT", "PATCH") else b""
            route_method = "GET" if method == "HEAD" else method  # HEAD: GET's headers
            params = query_parameters(query)
            if (route_method == "GET" and scans(params)) or (
                method == "DELETE" and any(k == "_dependent" for k, _ in params)
            ):
                # A scan can take seconds: off the event loop, so other
                # clients are answered meanwhile (the GIL is shared, not held).
                status, payload, headers = await asyncio.to_thread(
                    self._route, route_method, path, params, body
                )
            else:
                status, payload, headers = self._route(route_method, path, params, body)
        except HTTPError as exc:
            await self._error(send, exc, cors)
            return
        except OverlayFull as exc:
            await self._error(send, HTTPError(507, "overlay_full", str(exc)), cors)
            return
        except PluginFault as exc:
            # A plugin's generator failed making records: its fault, named in one
            # line on the server's log and in the answer, not an anonymous 500.
            debug = os.environ.get("PHONY_DEBUG", "").strip().lower() not in (
                "",
                "0",
                "false",
                "no",
            )
            logger.error("%s", exc, exc_info=debug)  # PHONY_DEBUG=1: its traceback too
            await self._error(send, HTTPError(500, "plugin_fault", str(exc)), cors)
            return
        data = payload if isinstance(payload, bytes) else _dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, *cors, (b"content-length", str(len(data)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else data})

    async def _error(
        self, send: Send, exc: HTTPError, cors: list[tuple[bytes, bytes]] = CORS
    ) -> None:
        doc: dict[str, Any] = {"error": exc.code, "detail": exc.detail}
        if exc.field is not None:
            doc["field"] = exc.field
        data = _dumps(doc).encode()
        await send(
            {
                "type": "http.response.start",
                "status": exc.status,
                "headers": [
                    JSON_HEADER,
                    *exc.headers,
                    *cors,
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    # -- routing ---------------------------------------------------------------------

    def _route(
        self, method: str, path: str, params: list[tuple[str, str]], body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if not parts or parts == ["__docs"]:
            allow(method, "GET")
            return 200, self.docs, [(b"content-type", b"text/html; charset=utf-8")]
        if parts == ["openapi.json"]:
            allow(method, "GET")
            return 200, self.openapi, [JSON_HEADER]
        if parts[0].startswith("__"):
            return self._admin(method, parts, body)
        collection = self.collections.get(parts[0])
        if collection is None:
            raise HTTPError(404, "not_found", f"no collection {parts[0][:60]!r}")
        self.overlay.refresh()
        if len(parts) == 1:
            if method == "GET":
                return self._list(collection, params, f"/{collection.name}")
            allow(method, "GET", "POST")
            self._writable("GET")
            return self._create(collection, json_body(body))
        record_id = _parse_id(parts[1], collection)
        if len(parts) == 2:
            return self._item(method, collection, record_id, params, body)
        if len(parts) == 3:
            allow(method, "GET", "POST")
            if method == "POST":
                self._writable("GET")
                return self._create_nested(collection, record_id, parts[2], body)
            return self._nested(collection, record_id, parts[2], params)
        raise HTTPError(404, "not_found", "no such route")

    def _writable(self, *reads: str) -> None:
        """A 405 under ``--read-only``; ``reads`` are the methods the route still answers."""
        if self.config.read_only:
            raise HTTPError(
                405,
                "read_only",
                "this mock is read-only (--read-only)",
                headers=[allow_header(reads)],
            )

    def _admin(
        self, method: str, parts: list[str], body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        route = parts[0] if len(parts) == 1 else ""
        if route == "__reset":
            allow(method, "POST")
            self._writable()
            self.overlay.reset()
            return 200, {"reset": True}, [JSON_HEADER]
        if route == "__snapshot":
            allow(method, "GET")
            return 200, self.overlay.snapshot(), [JSON_HEADER]
        if route == "__restore":
            allow(method, "POST")
            self._writable()
            try:
                self.overlay.restore(json_body(body), self._restored)
            except ValidationError as exc:
                raise HTTPError(422, "invalid", str(exc), exc.field) from None
            return 200, {"restored": True}, [JSON_HEADER]
        raise HTTPError(404, "not_found", "no such route")

    # -- reads -----------------------------------------------------------------------

    def _list(
        self,
        collection: Collection,
        params: list[tuple[str, str]],
        base: str,
        shown: list[tuple[str, str]] | None = None,
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        """A list answer; its ``Link`` URLs carry ``shown`` (default ``params``) and ``_page``."""
        try:
            query = parse_list_query(params, collection, max_page=self.config.max_page)
            query.embed, query.expand = self._relations(collection, query.embed, query.expand)
            page = run_list(
                collection,
                self.overlay,
                query,
                scan_limit=self.config.scan_limit,
                base_url=base,
                params=params if shown is None else shown,
            )
            records: Any = (
                page.encoded
                if page.encoded is not None
                else self._decorate(collection, page.records, query.embed, query.expand)
            )
        except BadQuery as exc:
            raise HTTPError(400, "bad_query", str(exc)) from None
        headers = [JSON_HEADER, (b"x-total-count", str(page.total).encode())]
        if page.links:
            link = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in page.links.items())
            headers.append((b"link", link.encode()))
        if query.envelope:
            if isinstance(records, str):
                head = _dumps(envelope(query, page, []))
                return 200, f"{head[: -len('[]}')]}{records}}}".encode(), headers
            return 200, envelope(query, page, records), headers
        if isinstance(records, str):
            return 200, records.encode(), headers
        return 200, records, headers

    def _get(self, collection: Collection, record_id: int) -> dict[str, Any] | None:
        known, record = self.overlay.lookup(collection.name, record_id)
        if known:
            return record
        return collection.record(record_id)

    def _item(
        self,
        method: str,
        collection: Collection,
        record_id: int,
        params: list[tuple[str, str]],
        body: bytes,
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        allow(method, "GET", "PUT", "PATCH", "DELETE")
        if method == "GET" and not any(k in ("_embed", "_expand") for k, _ in params):
            known, written = self.overlay.lookup(collection.name, record_id)
            text = None if known else collection.record_json(record_id)
            if text is not None:
                return 200, text.encode(), [JSON_HEADER]
            if written is not None:
                return 200, written, [JSON_HEADER]
            raise HTTPError(404, "not_found", f"no {collection.name} with id {record_id}")
        current = self._get(collection, record_id)
        if current is None:
            raise HTTPError(404, "not_found", f"no {collection.name} with id {record_id}")
        if method == "GET":
            embed = _names(params, "_embed")
            expand = _names(params, "_expand")
            try:
                embed, expand = self._relations(collection, embed, expand)
                (record,) = self._decorate(collection, [current], embed, expand)
            except BadQuery as exc:
                raise HTTPError(400, "bad_query", str(exc)) from None
            return 200, record, [JSON_HEADER]
        self._writable("GET")
        if method == "DELETE":
            gone = [
                (collection.name, record_id, None),
                *self._dependents(collection, record_id, params),
            ]
            self.overlay.put_many(gone)
            return 200, current, [JSON_HEADER]
        changes = self._validate(
            collection, json_body(body), partial=method == "PATCH", record_id=record_id
        )
        record = {**current, **changes} if method == "PATCH" else {"id": record_id, **changes}
        record["id"] = record_id
        ordered = _in_field_order(collection, record)
        self.overlay.put(collection.name, record_id, ordered)
        return 200, ordered, [JSON_HEADER]

    def _children(
        self, parent: Collection, record_id: int, child_name: str
    ) -> tuple[Collection, Field]:
        """The collection of ``/PARENT/ID/CHILD`` and its field referring to the parent; a 404
        unless both are there."""
        child = self.collections.get(child_name)
        link = _reference_to(child, parent.name) if child is not None else None
        if child is None or link is None:
            raise HTTPError(
                404, "not_found", f"{child_name[:60]!r} has no field referring to {parent.name}"
            )
        if self._get(parent, record_id) is None:
            raise HTTPError(404, "not_found", f"no {parent.name} with id {record_id}")
        return child, link

    def _nested(
        self, parent: Collection, record_id: int, child_name: str, params: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        child, link = self._children(parent, record_id, child_name)
        filtered = [(k, v) for k, v in params if k != link.name]
        # The route names the parent: its links need not say it twice.
        where = f"/{parent.name}/{record_id}/{child.name}"
        return self._list(child, [*filtered, (link.name, str(record_id))], where, filtered)

    def _relations(
        self, collection: Collection, embed: list[str], expand: list[str]
    ) -> tuple[list[str], list[str]]:
        """The children to embed and the parents to expand; BadQuery for a name that is
        neither. ``_embed`` takes a parent too (``/posts?_embed=user``): json-server v1 has
        no ``_expand`` and embeds both ways."""
        children = []
        for name in embed:
            child = self.collections.get(name)
            if child is not None and _reference_to(child, collection.name) is not None:
                children.append(name)
            elif _expansion(collection, name) is not None:
                expand = [*expand, name] if name not in expand else expand
            else:
                raise BadQuery(
                    "_embed",
                    f"{name[:60]!r} is neither a collection referring to {collection.name} "
                    f"nor one {collection.name} refers to",
                )
        for name in expand:
            if _expansion(collection, name) is None:
                raise BadQuery(
                    "_expand", f"{collection.name} has no field referring to {name[:60]!r}"
                )
        return children, expand

    def _decorate(
        self,
        collection: Collection,
        records: list[dict[str, Any]],
        embed: list[str],
        expand: list[str],
    ) -> list[dict[str, Any]]:
        if not records or not (embed or expand):
            return records
        out = [dict(r) for r in records]
        for name in embed:
            child = self.collections[name]
            link = _reference_to(child, collection.name)
            assert link is not None
            wanted = {str(r["id"]) for r in records}
            query = ListQuery(filters=[(link.name, "eq", sorted(wanted))])
            grouped: dict[Any, list[dict[str, Any]]] = {}
            for item in matching(child, self.overlay, query, self.config.scan_limit):
                grouped.setdefault(item.get(link.name), []).append(item)
            for record in out:
                record[name] = grouped.get(record["id"], [])
        for name in expand:
            found = _expansion(collection, name)
            assert found is not None
            field, target_name = found
            target = self.collections[target_name]
            for record in out:
                value = record.get(field.name)
                record[name] = self._get(target, value) if isinstance(value, int) else None
        return out

    # -- writes ----------------------------------------------------------------------

    def _dependents(
        self, parent: Collection, record_id: int, params: list[tuple[str, str]]
    ) -> list[tuple[str, int, None]]:
        """The deletions ``DELETE /users/2?_dependent=posts`` adds: every post whose reference
        to users holds 2 (json-server v1's ``_dependent``). A 400 before anything is deleted
        for a collection that does not refer to the parent, or one past the scan limit."""
        names = _names(params, "_dependent")
        gone: list[tuple[str, int, None]] = []
        try:
            for name in names:
                child = self.collections.get(name)
                link = _reference_to(child, parent.name) if child is not None else None
                if child is None or link is None:
                    raise BadQuery(
                        "_dependent", f"{name[:60]!r} has no field referring to {parent.name}"
                    )
                query = ListQuery(filters=[(link.name, "eq", [str(record_id)])])
                found = matching(child, self.overlay, query, self.config.scan_limit)
                gone += [(child.name, record["id"], None) for record in found]
        except BadQuery as exc:
            raise HTTPError(400, "bad_query", str(exc)) from None
        return gone

    def _create(
        self, collection: Collection, document: Any
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        record = self._validate(collection, document, partial=False)
        created = self.overlay.create(collection.name, record)
        where = f"/{collection.name}/{created['id']}".encode()
        return 201, created, [JSON_HEADER, (b"location", where)]

    def _create_nested(
        self, parent: Collection, record_id: int, child_name: str, body: bytes
    ) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
        """``POST /users/2/posts``: a post whose ``user_id`` is 2 (json-server's nested create)."""
        child, link = self._children(parent, record_id, child_name)
        document = json_body(body)
        if isinstance(document, dict):
            given = document.get(link.name, record_id)
            if type(given) is not int or given != record_id:
                raise HTTPError(
                    422,
                    "invalid",
                    f"{link.name}: the route gives {record_id}; leave it out or say the same",
                    link.name,
                )
            document = {**document, link.name: record_id}
        return self._create(child, document)

    def _validate(
        self,
        collection: Collection,
        body: Any,
        *,
        partial: bool,
        record_id: int | None = None,
    ) -> dict[str, Any]:
        def exists(name: str, rid: int) -> bool:
            return self._get(self.collections[name], rid) is not None

        try:
            return validate_record(
                collection, body, partial=partial, record_id=record_id, exists=exists
            )
        except Invalid as exc:
            # A body that is no object has no field to name: the error says so alone.
            raise HTTPError(422, "invalid", str(exc), exc.field or None) from None

    def _restored(
        self, name: str, record_id: int, record: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """A record of a snapshot being restored, checked as PUT checks one (a RecordCheck)."""
        collection = self.collections[name]
        if record_id < collection.next_id and collection.row_of(record_id) is None:
            raise ValidationError(
                f"no generated record has this id (created ones start at {collection.next_id})",
                "id",
            )
        if record is None:
            return None
        try:
            # References are not looked up: the record a snapshot's reference
            # names may have been deleted after it was written (no cascades),
            # or be created by the same snapshot.
            clean = validate_record(
                collection, record, partial=False, record_id=record_id, exists=_anything
            )
        except Invalid as exc:
            raise ValidationError(exc.reason, f"record.{exc.field}") from None
        return _in_field_order(collection, {"id": record_id, **clean})


def _names(params: list[tuple[str, str]], parameter: str) -> list[str]:
    """The comma-separated names ``parameter`` gives, each once, in order."""
    named = (v for k, value in params if k == parameter for v in value.split(",") if v)
    return list(dict.fromkeys(named))


def _in_field_order(collection: Collection, record: dict[str, Any]) -> dict[str, Any]:
    return {f.name: record[f.name] for f in collection.fields if f.name in record}


def _anything(collection: str, record_id: int) -> bool:
    return True


def _reference_to(child: Collection, parent: str) -> Field | None:
    for f in child.fields:
        if f.references == parent:
            return f
    return None


def _expansion(collection: Collection, name: str) -> tuple[Field, str] | None:
    """The field ``_expand=name`` follows: ``user`` -> ``user_id``/``userId`` -> users."""
    for f in collection.fields:
        if f.references is not None and f.name in (f"{name}_id", f"{name}Id"):
            return f, f.references
        if f.references is not None and singular(f.references) == name:
            return f, f.references
    return None


def _parse_id(text: str, collection: Collection) -> int:
    """The id in a path: ASCII digits up to :data:`MAX_ID` (the largest a record can have)."""
    digits = text.lstrip("0") or "0"
    # isdigit alone takes "²" and "٣": ASCII only. The length first, so that
    # int() never reads more digits than an id has.
    if not (text.isascii() and text.isdigit()) or len(digits) > _ID_DIGITS or int(digits) > MAX_ID:
        raise HTTPError(404, "not_found", f"no {collection.name} with id {text[:40]!r}")
    return int(digits)
