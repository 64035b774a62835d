"""The registry's web pages: server-rendered HTML for people browsing a registry."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    """The registry's home page."""
    return HTMLResponse("<!doctype html><title>phony registry</title><h1>phony registry</h1>")
