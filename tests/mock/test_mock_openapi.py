"""``phony mock start --openapi``: collections from an OpenAPI 3 document, over a real process."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode

from phony_server.mock.pattern import compile_pattern
from tests.conftest import phony_command
from tests.fuzzing import fuzz_failures
from tests.mock.conftest import MockServer, StartMock, get_from_deployed

pytestmark = pytest.mark.e2e

Run = Callable[..., subprocess.CompletedProcess[str]]

SPEC_YAML = """
openapi: 3.0.3
info: {title: Pet store, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: the pets
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Pet"}}
  /pets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: a pet}}
components:
  schemas:
    Pet:
      type: object
      properties:
        id: {type: integer}
        name: {type: string, pattern: "^[A-Z][a-z]{2,7}$"}
        tag: {type: string, pattern: "^(PET|VET)-[0-9]{4}[a-f]?$"}
        status: {type: string, enum: [available, pending, sold]}
        birthday: {type: string, format: date}
        created: {type: string, format: date-time}
        owner_email: {type: string, format: email}
        homepage: {type: string, format: uri}
        chip: {type: string, format: uuid}
        age: {type: integer, minimum: 0, maximum: 30}
        weight: {type: number, minimum: 0.5, exclusiveMaximum: 80}
        firstName: {type: string}
        city: {type: string}
        nickname: {type: string, minLength: 2, maxLength: 5}
    Unused:
      type: object
      properties:
        note: {type: string}
"""

#: The same kind of document as JSON, with no paths: each object schema is a collection.
SPEC_JSON = {
    "openapi": "3.1.0",
    "info": {"title": "Shop", "version": "1"},
    "paths": {},
    "components": {
        "schemas": {
            "OrderLine": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}[0-9]{5}$"},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 9},
                    "size": {"type": "integer", "enum": [36, 38, 40]},
                    "last_name": {"type": "string"},
                },
            }
        }
    },
}


@pytest.fixture(scope="module")
def pets(start_mock: StartMock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    folder = tmp_path_factory.mktemp("openapi")
    (folder / "spec.yaml").write_text(SPEC_YAML)
    server = start_mock(
        "--openapi", str(folder / "spec.yaml"), "--locale", "en_US", "--seed", "5", "--count", "300"
    )
    yield server
    log = server.stop()
    assert "Traceback" not in log, log


def test_a_spec_s_types_formats_enums_patterns_and_bounds_are_honoured(pets: MockServer) -> None:
    answer = httpx.get(f"{pets.url}/pets", params={"_limit": 300})
    assert answer.status_code == 200
    records: list[dict[str, Any]] = answer.json()
    assert [r["id"] for r in records] == list(range(1, 301))
    assert httpx.get(f"{pets.url}/unuseds").status_code == 404  # paths name the collections
    for r in records:
        assert re.fullmatch(r"[A-Z][a-z]{2,7}", r["name"]), r
        assert re.fullmatch(r"(PET|VET)-[0-9]{4}[a-f]?", r["tag"]), r
        assert r["status"] in {"available", "pending", "sold"}
        date.fromisoformat(r["birthday"])
        datetime.fromisoformat(r["created"])
        assert re.fullmatch(r"[a-z]+\.[a-z]+@example\.(com|org|net)", r["owner_email"]), r
        assert r["homepage"].startswith("https://example.")
        assert uuid.UUID(r["chip"]).version == 4
        assert 0 <= r["age"] <= 30
        assert 0.5 <= r["weight"] < 80
        assert 2 <= len(r["nickname"]) <= 5
    assert len({r["status"] for r in records}) == 3
    assert len({r["tag"][:3] for r in records}) == 2
    assert len({r["age"] for r in records}) > 20
    # Names of models take the locale's realistic values: mostly capitalised words,
    # many distinct, not the a-z strings a plain string property gets.
    names = [r["firstName"] for r in records]
    assert len(set(names)) > 150
    assert sum(n[:1].isupper() for n in names) > 280
    assert sum(c[:1].isupper() for c in (r["city"] for r in records)) > 280


def test_records_from_a_spec_are_the_same_on_every_run_and_page(
    pets: MockServer, start_mock: StartMock
) -> None:
    # The same command line on another port.
    again = start_mock(*pets.args[len(phony_command()) + 2 : -4])
    for params in ({"_page": 7, "_limit": 20}, {"_page": 1, "_per_page": 5}):
        first = httpx.get(f"{pets.url}/pets", params=params).json()
        assert httpx.get(f"{again.url}/pets", params=params).json() == first
    whole = httpx.get(f"{pets.url}/pets", params={"_limit": 300}).json()
    assert httpx.get(f"{pets.url}/pets/123").json() == whole[122]


def test_a_json_spec_without_paths_serves_every_object_schema(
    start_mock: StartMock, tmp_path: Path
) -> None:
    (tmp_path / "shop.json").write_text(json.dumps(SPEC_JSON))
    server = start_mock("--openapi", str(tmp_path / "shop.json"), "--count", "50")
    lines = httpx.get(f"{server.url}/order_lines", params={"_limit": 50}).json()
    assert len(lines) == 50
    for line in lines:
        assert re.fullmatch(r"[A-Z]{3}[0-9]{5}", line["sku"])
        assert 1 <= line["quantity"] <= 9
        assert line["size"] in {"36", "38", "40"}  # an enum is served as its text
        assert line["last_name"][:1].isupper()
    created = httpx.post(
        f"{server.url}/order_lines",
        json={"sku": "ABC12345", "quantity": 2, "size": "38", "last_name": "Lovelace"},
    )
    assert created.status_code == 201
    assert created.json()["id"] == 51


def test_deploy_takes_the_spec_along(
    run_phony: Run, pets: MockServer, mock_home: dict[str, str], tmp_path: Path
) -> None:
    spec = Path(pets.args[pets.args.index("--openapi") + 1])
    folder = tmp_path / "deployed"
    result = run_phony(
        "mock", "deploy", "--openapi", str(spec), "--locale", "en_US",
        "--seed", "5", "--count", "300", "-o", str(folder), env=mock_home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = json.loads((folder / "mock.json").read_text())
    assert [c["schema"] for c in config["collections"]] == ["openapi:schemas/spec.yaml#Pet"]
    assert (folder / "schemas" / "spec.yaml").read_text() == spec.read_text()
    # The deployed configuration serves the same records, read from its own folder.
    spec.rename(spec.with_suffix(".moved"))
    try:
        deployed = get_from_deployed(folder, mock_home, "/pets", 300)
    finally:
        spec.with_suffix(".moved").rename(spec)
    assert deployed == httpx.get(f"{pets.url}/pets", params={"_limit": 300}).json()


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            {"code": {"type": "string", "pattern": "^(?=a)[a-z]+$"}},
            "components.schemas.Thing.properties.code: pattern '^(?=a)[a-z]+$': "
            "a lookahead or lookbehind is not supported",
        ),
        (
            {"code": {"type": "string", "pattern": "^(a)\\1$"}},
            "components.schemas.Thing.properties.code: pattern '^(a)\\\\1$': "
            "a back-reference is not supported",
        ),
        (
            {"tags": {"type": "array", "items": {"type": "string"}}},
            "components.schemas.Thing.properties.tags: array is not supported by "
            "phony mock --openapi",
        ),
    ],
    ids=["lookahead", "back-reference", "array"],
)
def test_an_unsupported_construct_is_one_line_naming_the_field(
    run_phony: Run,
    mock_home: dict[str, str],
    tmp_path: Path,
    properties: dict[str, Any],
    message: str,
) -> None:
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "x", "version": "1"},
        "components": {"schemas": {"Thing": {"type": "object", "properties": properties}}},
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    result = run_phony("mock", "start", "--openapi", str(tmp_path / "spec.json"), env=mock_home)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"error: {message}"]


def test_the_pattern_generator_matches_its_regex() -> None:
    import random

    for regex in [r"[A-Z]{2}-\d{3,5}", r"(ab|cd)+x?", r"[^a-z]{4}", r"\w+@\w+\.(io|dev)", r"a.c"]:
        emit = compile_pattern(regex)
        for seed in range(200):
            out: list[str] = []
            emit(random.Random(seed), out)
            assert re.fullmatch(regex, "".join(out)), (regex, out)


@pytest.mark.slow
def test_schemathesis_finds_no_5xx_in_a_mock_made_from_a_spec(pets: MockServer) -> None:
    schema = schemathesis.openapi.from_url(f"{pets.url}/openapi.json")
    failures = fuzz_failures(
        schema,
        pets.url,
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        examples=15,
        seconds=240,
        min_operations=6,
    )
    assert failures == [], "\n\n".join(failures)
