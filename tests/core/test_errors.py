"""The error tree: one root, stable codes, drawn in the module docstring."""

from __future__ import annotations

import inspect

import pytest

from phony_registry import errors


def _error_classes() -> list[type[errors.PhonyError]]:
    return [
        obj
        for obj in vars(errors).values()
        if inspect.isclass(obj) and issubclass(obj, errors.PhonyError)
    ]


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_is_drawn_in_the_tree_and_documented(cls: type[errors.PhonyError]) -> None:
    assert cls.__name__ in (errors.__doc__ or "")
    assert cls.__doc__, f"{cls.__name__} has no docstring"


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))


def test_validation_error_carries_field() -> None:
    exc = errors.InvalidManifest("must be a string", field="meta.locale")
    assert exc.field == "meta.locale"
    assert str(exc) == "meta.locale: must be a string"
    assert exc.to_json() == {"error": "invalid_manifest", "detail": "meta.locale: must be a string"}


def test_plugin_error_carries_plugin() -> None:
    exc = errors.DuplicateRegistration("format 'csv' registered twice", plugin="phony-x")
    assert exc.plugin == "phony-x"
    assert "phony-x" in str(exc)


def test_http_statuses_are_client_errors_or_unavailable() -> None:
    for cls in _error_classes():
        assert 400 <= cls.http_status < 500 or cls.http_status == 503, cls
