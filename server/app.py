"""The FastAPI application factory.

``create_app(settings)`` opens the storage, loads (or on first start creates)
the registry's signing key, makes sure a signed snapshot exists, and wires
the ``/v1`` API, the static layout and the error handlers. The application
keeps no state of its own beyond caches keyed by content digests, so any
number of workers and replicas can serve one storage. Run it with
``phony registry serve`` or, for several workers::

    PHONY_S3_BUCKET=models uvicorn --factory phony_server.app:create_app_from_env --workers 4
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from phony_registry._dist import version
from phony_registry.errors import PhonyError
from phony_server.api import manifest_fast_path, router
from phony_server.errors import refusal
from phony_server.keys import open_registry_key
from phony_server.registry import Registry
from phony_server.settings import Settings
from phony_server.static import LayoutFastPath, layout_file
from phony_server.storage import RegistryStorage
from phony_server.tokens import TokenStore
from phony_server.web import router as web_router

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("phony_server")

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


async def _phony_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, PhonyError)
    answer = refusal(exc, request.method, request.url.path)
    headers = {"WWW-Authenticate": 'Bearer realm="phony"'} if answer.status == 401 else None
    return _error(answer.status, answer.code, answer.detail, headers)


async def _validation_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"
        for err in exc.errors()
    )
    return _error(422, "invalid", problems or "invalid request")


async def _http_error(request: Request, exc: Exception) -> Any:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return _error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> Any:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error(500, "internal", "internal server error")


#: Seconds between two passes finishing interrupted publishes: a storage that failed
#: between a publish's index and snapshot writes is consistent again this soon after
#: it is back (a fresh client refuses the model's index until then).
_RECONCILE_EVERY = 5.0


async def _housekeeping(registry: Registry, interval: float) -> None:
    """Finish interrupted publishes every few seconds; keep the snapshot fresh, forever."""
    step = min(_RECONCILE_EVERY, interval)
    waited = 0.0
    while True:
        await asyncio.sleep(step)
        waited += step
        try:
            await run_in_threadpool(registry.reconcile, 2 * _RECONCILE_EVERY)
            if waited >= interval:
                waited = 0.0
                await run_in_threadpool(registry.refresh_if_due)
        except PhonyError as exc:
            log.warning("housekeeping: %s", exc)


def create_app(
    settings: Settings | None = None, *, storage: RegistryStorage | None = None
) -> FastAPI:
    """A registry server application for ``settings`` (an explicit ``storage`` wins)."""
    settings = settings or Settings()
    storage = storage or settings.open_storage()
    key, new_key = open_registry_key(storage, settings.key_file)
    registry = Registry(
        storage,
        key,
        snapshot_ttl=settings.snapshot_ttl,
        max_inflated=settings.max_inflated,
    )
    # A snapshot signed by another key is re-signed only after a deliberate rotation.
    registry.ensure_snapshot(adopt=new_key)
    registry.refresh_if_due()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_housekeeping(registry, settings.refresh_interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="phony registry",
        summary="Publish and pull .phony models",
        version=version(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.tokens = TokenStore(storage.private)
    app.add_exception_handler(PhonyError, _phony_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(router)
    app.include_router(web_router)
    # Last: everything else is a path of the static registry layout.
    app.add_route("/{path:path}", layout_file, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_middleware(LayoutFastPath, registry=registry, routes=[manifest_fast_path])
    return app


def create_app_from_env() -> FastAPI:
    """The application configured by ``PHONY_SERVER_*`` / ``PHONY_S3_*`` (uvicorn --factory)."""
    return create_app(Settings.from_env())
