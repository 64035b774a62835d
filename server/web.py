"""The registry's web pages: server-rendered HTML for people browsing a registry.

``/``                       search box and the list of models
``/models/<name>``          one model: versions, manifest facts, signature status,
                            the pull command and live samples (``?version=``, ``?seed=``)
``/locales/<locale>``       a locale pack and every model of that locale
``/samples/<name>``         the samples of a version and seed as JSON (for the page's script)
``/static/<file>``          the stylesheet and the small script

Pages are Jinja2 templates with autoescaping on, so anything a publisher
wrote (a description, a licence) is shown as text. Everything works without
JavaScript: the new-seed button is a link to ``?seed=N``, the script only
swaps the samples in place and adds a copy button to the pull command. A
Content-Security-Policy allows scripts and styles from this origin only.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from phony_registry.errors import NotFound, PhonyError, RegistryUnavailable
from phony_registry.format import DEFAULT_MAX_INFLATED, load_model
from phony_registry.layout import blob_path
from phony_registry.names import ModelName, is_locale, normalize_locale, parse_name
from phony_registry.signing import official_key
from phony_registry.trust import TrustPolicy
from phony_server.errors import refusal
from phony_server.samples import DEFAULT_SAMPLES, MAX_SEED, SampleCache, Samples, parse_seed

if TYPE_CHECKING:
    import jinja2

    from phony_registry.index import IndexEntry
    from phony_registry.manifest import Manifest
    from phony_registry.model import Model
    from phony_server.registry import Registry

__all__ = ["SECURITY_HEADERS", "SignatureStatus", "router"]

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
_STATIC = {"phony.css": "text/css", "phony.js": "text/javascript"}
_LIST_LIMIT = 500

#: Headers of every page: no inline script, nothing from elsewhere, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@functools.cache
def _templates() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _samples(request: Request) -> SampleCache:
    """The app's sample cache, created on first use."""
    state = request.app.state
    cache: SampleCache | None = getattr(state, "samples", None)
    if cache is None:
        cache = SampleCache()
        state.samples = cache
    return cache


def _base(request: Request) -> str:
    """The path prefix the app is mounted under ('' at the root)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _registry_url(request: Request) -> str:
    """This registry's URL for ``--registry``: the configured public URL, else the bound address.

    Never the request's Host header: a page that a shared cache keeps would
    otherwise tell every later reader to pull from whatever host one request named.
    """
    public: str | None = request.app.state.settings.public_url
    if public:
        return public
    host, port = request.scope.get("server") or ("127.0.0.1", 8000)
    shown = f"[{host}]" if ":" in str(host) else host
    address = shown if port in (None, 80) else f"{shown}:{port}"
    return f"http://{address}" + _base(request)


#: Pages change with every publish and carry a fresh random seed: caches revalidate them.
_PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = (
        _templates()
        .get_template(template)
        .render(base=_base(request), registry_url=_registry_url(request), **context)
    )
    return HTMLResponse(page, status_code=status, headers=_PAGE_HEADERS)


def _not_found(request: Request, message: str) -> HTMLResponse:
    return _render(request, "404.html", status=404, message=message, query="")


def _refused(request: Request, exc: PhonyError) -> HTMLResponse:
    """The page of a refusal, with the status its error code has everywhere (404, 422, 503...).

    A storage failure is a 503 page saying only that (the full message goes
    to the server log, as for the API: :mod:`phony_server.errors`).
    """
    answer = refusal(exc, request.method, request.url.path)
    if answer.status == 404:
        return _not_found(request, answer.detail)
    heading = "Service unavailable" if answer.status >= 500 else "Bad request"
    return _render(
        request, "404.html", status=answer.status, message=answer.detail, query="", heading=heading
    )


def _refused_json(request: Request, exc: PhonyError) -> JSONResponse:
    """The JSON of a refusal, as the API gives it (422 invalid_name, 503 unavailable...)."""
    answer = refusal(exc, request.method, request.url.path)
    return JSONResponse(answer.body(), status_code=answer.status)


def _without_slash(request: Request, prefix: str, rest: str) -> Response | None:
    """A 308 to ``prefix/rest`` without its trailing slashes (query kept), or None.

    An empty ``rest`` (``/models/``) is a 404 page.

    ``/models/alice/names/`` is ``/models/alice/names``: a redirect, as static
    hosts do for folders, rather than a refusal of the name ``alice/names/``.
    Only to a path under ``prefix``, so the Location never leaves this site.
    """
    bare = rest.rstrip("/")
    if not bare:
        return _not_found(request, f"no such page: {prefix}/; every model is on the home page")
    if bare == rest:
        return None
    target = f"{_base(request)}{prefix}/{bare}"
    if request.url.query:
        target += f"?{request.url.query}"
    return Response(status_code=308, headers={**_PAGE_HEADERS, "Location": target})


def _new_seed() -> int:
    return secrets.randbelow(1_000_000_000)


@dataclass(frozen=True)
class SignatureStatus:
    """What a model page says about who signed a manifest."""

    publisher: str
    verified: bool
    detail: str
    registry_signed: bool


def _signature_status(registry: Registry, name: ModelName, manifest: Manifest) -> SignatureStatus:
    """Who signed ``manifest``, judged by the client's own rule (:mod:`phony_registry.trust`).

    "verified" means exactly that a pull from this registry accepts it: an
    official name signed by the official key, a namespaced one by this
    registry's key (the source of its namespaces). The detail names the known
    keys that signed it (official, the namespace's publisher keys).
    """

    publisher = name.namespace or "official (registry operator)"
    own = registry.key.public_key
    try:
        TrustPolicy(own_namespaces=True).verify(manifest, "self", "this registry", own)
        verified, detail = True, ""
    except PhonyError as exc:
        verified, detail = False, str(exc)
    official = official_key()
    named = {official.keyid: f"the official key {official.short_id}"}
    for key in registry.publishers.list(name.namespace):
        named.setdefault(key.keyid, f"publisher key {key.short_id}")
    try:
        signers = manifest.verify([official, *registry.publishers.list(name.namespace)])
    except PhonyError:
        signers = []
    if verified and signers:
        detail = "signed by " + ", ".join(named[k] for k in signers)
    elif verified:
        detail = f"signed by this registry's key only (no publisher key of {publisher} signed it)"
    try:
        manifest.verify([own])
        countersigned = True
    except PhonyError:
        countersigned = False
    return SignatureStatus(publisher, verified, detail, countersigned)


def _load(registry: Registry, digest: str) -> Model:

    data = registry.storage.read_bytes(blob_path(digest))
    return load_model(data, max_inflated=registry.max_inflated or DEFAULT_MAX_INFLATED)


def _generate(request: Request, entry: IndexEntry, seed: int, count: int) -> Samples | None:
    if entry.digest is None:  # a pack: its members have samples of their own
        return None
    registry = _registry(request)
    digest = entry.digest
    return _samples(request).get(digest, seed, lambda: _load(registry, digest), count)


def _select(entries: list[IndexEntry], version: str | None) -> IndexEntry:
    if version:
        for entry in entries:
            if entry.version == version:
                return entry
        raise NotFound(f"{entries[0].name} has no version {version}")
    live = [e for e in entries if not e.yanked]
    return (live or entries)[-1]


def _locale_of(name: str, summary: dict[str, Any]) -> str | None:
    first = name.split("/", 1)[0]
    if is_locale(first):
        return normalize_locale(first)
    locale = summary.get("locale")
    return normalize_locale(locale) if isinstance(locale, str) and is_locale(locale) else None


# -- pages -----------------------------------------------------------------------------------


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def home(request: Request, q: str = "") -> HTMLResponse:
    """The registry's home page: a search box and the models (matching ``q``)."""
    query = q.strip()[:200]
    registry = _registry(request)
    try:
        models = registry.search(query, _LIST_LIMIT)
        everything = registry.search("", _LIST_LIMIT) if query else models
    except PhonyError as exc:
        return _refused(request, exc)
    locales = sorted({loc for m in everything if (loc := _locale_of(m["name"], m))})
    return _render(request, "index.html", query=query, models=models, locales=locales)


@router.api_route("/models/{name:path}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def model_page(
    request: Request, name: str, version: str | None = None, seed: str | None = None
) -> Response:
    """One model: versions, facts, signature status, pull command and live samples."""
    redirect = _without_slash(request, "/models", name)
    if redirect is not None:
        return redirect
    registry = _registry(request)
    try:
        parsed = parse_name(name)
        entries = registry.entries(parsed)
        entry = _select(entries, version)
        manifest = registry.manifest(entry)
        chosen_seed = parse_seed(seed)
        samples = _generate(request, entry, chosen_seed, DEFAULT_SAMPLES)
        signature = _signature_status(registry, parsed, manifest)
    except PhonyError as exc:
        return _refused(request, exc)
    locale = _locale_of(entry.name, {"locale": manifest.locale})
    return _render(
        request,
        "model.html",
        name=entry.name,
        entry=entry,
        entries=list(reversed(entries)),
        manifest=manifest,
        latest=_select(entries, None),
        locale=locale,
        signature=signature,
        pull=f"phony models pull {entry.name}@{entry.version} --registry {_registry_url(request)}",
        samples=samples,
        seed=chosen_seed,
        next_seed=_new_seed(),
        query="",
    )


@router.api_route("/locales/{locale:path}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def locale_page(request: Request, locale: str) -> Response:
    """A locale pack: its members, and every other model of that locale."""
    redirect = _without_slash(request, "/locales", locale)
    if redirect is not None:
        return redirect
    if not is_locale(locale):
        return _not_found(request, f"{locale[:80]!r} is not a locale (like tr_TR)")
    locale = normalize_locale(locale)
    registry = _registry(request)
    pack: Manifest | None = None
    pack_entry: IndexEntry | None = None
    try:
        try:
            pack_entry = _select(registry.entries(parse_name(locale)), None)
            pack = registry.manifest(pack_entry)
        except RegistryUnavailable:
            raise
        except PhonyError:
            pack = None
        models = [
            m
            for m in registry.search("", _LIST_LIMIT)
            if _locale_of(m["name"], m) == locale and m["name"] != locale
        ]
    except PhonyError as exc:
        return _refused(request, exc)
    if pack is None and not models:
        return _not_found(request, f"this registry has no model for the locale {locale}")
    return _render(
        request,
        "locale.html",
        locale=locale,
        pack=pack,
        pack_entry=pack_entry,
        models=models,
        query="",
    )


@router.get("/samples/{name:path}")
def samples_json(
    request: Request,
    name: str,
    version: str | None = None,
    seed: str | None = None,
    count: int = DEFAULT_SAMPLES,
) -> Response:
    """Samples of a model version for a seed, as JSON: what the new-seed button fetches."""
    registry = _registry(request)
    try:
        entry = _select(registry.entries(parse_name(name)), version)
        chosen_seed = parse_seed(seed, default=_new_seed())
        samples = _generate(request, entry, chosen_seed, count)
    except PhonyError as exc:
        return _refused_json(request, exc)
    if samples is None:
        body = {"error": "not_found", "detail": f"{entry.name} is a pack: it has no samples"}
        return JSONResponse(body, status_code=404)
    return JSONResponse(
        {**samples.to_dict(), "version": entry.version, "max_seed": MAX_SEED},
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/static/{file}")
def static_file(file: str) -> Response:
    """The stylesheet and the script (a fixed list: nothing else is ever served from here)."""
    media = _STATIC.get(file)
    if media is None:
        return JSONResponse({"error": "not_found", "detail": "no such file"}, status_code=404)
    return FileResponse(
        _HERE / "static" / file,
        media_type=media,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
