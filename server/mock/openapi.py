"""The mock's OpenAPI document and its docs page, built from the collections' fields."""

from __future__ import annotations

import html
import json
from typing import Any

from phony_server.mock.config import MockConfig
from phony_server.mock.records import MAX_ID, Collection, Field

__all__ = ["docs_page", "openapi_document"]

_ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
    },
    "required": ["error", "detail"],
}


def _title(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _field_schema(f: Field, example: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": f.kind}
    if f.choices is not None:
        schema["enum"] = list(f.choices)
    if f.format is not None:
        schema["format"] = f.format
    if f.column_type == "email":
        schema["format"] = "email"
    if f.kind == "string" and f.choices is None:
        schema["maxLength"] = 10_000
    if f.kind == "integer":
        schema["minimum"], schema["maximum"] = -(2**63), 2**63 - 1
    if f.references is not None:
        schema["description"] = f"id of a record of /{f.references}"
    if example is not None:
        schema["example"] = example
    return schema


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> Any:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def openapi_document(collections: dict[str, Collection], config: MockConfig) -> dict[str, Any]:
    """OpenAPI 3.1 for every route of the mock, with each collection's typed fields and examples."""
    schemas: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, Any] = {}
    writes = not config.read_only
    #: Nested routes: (path, child collection, the child's field naming the parent).
    nested: list[tuple[str, str, str]] = []
    for name, collection in collections.items():
        title = _title(name)
        example = collection.rows(0, 1)[0] if collection.count else {}
        properties = {f.name: _field_schema(f, example.get(f.name)) for f in collection.fields}
        schemas[title] = {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in collection.fields],
        }
        inputs = {k: v for k, v in properties.items() if k != "id"}
        schemas[f"{title}Input"] = {
            "type": "object",
            "properties": inputs,
            "required": list(inputs),
            "additionalProperties": False,
        }
        schemas[f"{title}Patch"] = {
            "type": "object",
            "properties": inputs,
            "additionalProperties": False,
        }
        record_ref = {"$ref": f"#/components/schemas/{title}"}
        list_params = _list_parameters(collection)
        list_answer = _json(
            _page_schema(record_ref),
            f"a page of {name}",
            {
                "X-Total-Count": {"schema": {"type": "integer"}},
                "Link": {"schema": {"type": "string"}},
            },
        )
        collection_path: dict[str, Any] = {
            "get": {
                "operationId": f"list_{name}",
                "summary": f"List {name} ({collection.count:,} generated)",
                "parameters": list_params,
                "responses": {"200": list_answer, "400": _error("a bad query parameter")},
            }
        }
        id_param = {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
        }
        item_path: dict[str, Any] = {
            "parameters": [id_param],
            "get": {
                "operationId": f"get_{name}",
                "summary": f"One of {name} by id",
                "responses": {
                    "200": _json(record_ref, "the record"),
                    "400": _error("a bad _embed or _expand"),
                    "404": _error("no such record"),
                },
            },
        }
        if writes:
            body = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{title}Input"}}
                },
            }
            patch_body = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{title}Patch"}}
                },
            }
            write_errors = {"400": _error("not JSON"), "422": _error("a field breaks the schema")}
            collection_path["post"] = {
                "operationId": f"create_{name}",
                "summary": f"Create one of {name}",
                "requestBody": body,
                "responses": {"201": _json(record_ref, "created, with its id"), **write_errors},
            }
            for method, request, verb in (
                ("put", body, "Replace"),
                ("patch", patch_body, "Change"),
            ):
                item_path[method] = {
                    "operationId": f"{method}_{name}",
                    "summary": f"{verb} one of {name}",
                    "requestBody": request,
                    "responses": {
                        "200": _json(record_ref, "the record as stored"),
                        "404": _error("no such record"),
                        **write_errors,
                    },
                }
            item_path["delete"] = {
                "operationId": f"delete_{name}",
                "summary": f"Delete one of {name}",
                "parameters": [
                    {
                        "name": "_dependent",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Collections (comma-separated) whose records referring "
                        "to this one are deleted with it",
                    }
                ],
                "responses": {
                    "200": _json(record_ref, "the deleted record"),
                    "400": _error("a _dependent that does not refer to this collection"),
                    "404": _error("no such record"),
                },
            }
        paths[f"/{name}"] = collection_path
        paths[f"/{name}/{{id}}"] = item_path
        for child_name, child in collections.items():
            for f in child.fields:
                if f.references == name:
                    paths[f"/{name}/{{id}}/{child_name}"] = {
                        "get": {
                            "operationId": f"list_{child_name}_of_{name}",
                            "summary": f"The {child_name} whose {f.name} is id",
                            "parameters": [id_param, *_list_parameters(child, skip=f.name)],
                            "responses": {
                                "200": _json(
                                    _page_schema(
                                        {"$ref": f"#/components/schemas/{_title(child_name)}"}
                                    ),
                                    f"a page of {child_name}",
                                ),
                                "400": _error("a bad query parameter"),
                                "404": _error("no such record"),
                            },
                        }
                    }
                    nested.append((f"/{name}/{{id}}/{child_name}", child_name, f.name))
                    break
    for path, child_name, link in nested if writes else []:
        # POST /users/{id}/posts: a post of that user; the route gives its user_id.
        child_input = schemas[f"{_title(child_name)}Input"]
        paths[path]["post"] = {
            "operationId": f"create_{child_name}_of_{path.split('/')[1]}",
            "summary": f"Create one of {child_name} whose {link} is id",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            **child_input,
                            "required": [k for k in child_input["required"] if k != link],
                        }
                    }
                },
            },
            "responses": {
                "201": _json(
                    {"$ref": f"#/components/schemas/{_title(child_name)}"}, "created, with its id"
                ),
                "400": _error("not JSON"),
                "404": _error("no such record"),
                "422": _error("a field breaks the schema"),
            },
        }
    paths["/__snapshot"] = {
        "get": {
            "operationId": "snapshot",
            "summary": "The write state, for POST /__restore",
            "responses": {"200": _json({"type": "object"}, "the snapshot")},
        }
    }
    if writes:
        paths["/__reset"] = {
            "post": {
                "operationId": "reset",
                "summary": "Forget every write",
                "responses": {"200": _json({"type": "object"}, "done")},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "phony mock",
            "version": "1",
            "description": (
                f"Records generated from seed {config.seed}: the same on every run. "
                "Pages: _page with _limit or _per_page, or _start/_end; X-Total-Count and Link "
                "headers. Filters: field=value, field_ne, field_like, field_gte/_lte/_gt/_lt, q."
            ),
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _page_schema(record_ref: dict[str, Any]) -> dict[str, Any]:
    """A list answer: an array (v0 parameters) or v1's envelope (with ``_per_page``)."""
    page_number = {"type": ["integer", "null"], "minimum": 1}
    return {
        "oneOf": [
            {"type": "array", "items": record_ref},
            {
                "type": "object",
                "description": "json-server v1's envelope, answered when _per_page is given",
                "required": ["first", "prev", "next", "last", "pages", "items", "data"],
                "properties": {
                    "first": {"type": "integer", "minimum": 1},
                    "prev": page_number,
                    "next": page_number,
                    "last": {"type": "integer", "minimum": 1},
                    "pages": {"type": "integer", "minimum": 0},
                    "items": {"type": "integer", "minimum": 0},
                    "data": {"type": "array", "items": record_ref},
                },
            },
        ]
    }


def _list_parameters(collection: Collection, skip: str | None = None) -> list[dict[str, Any]]:
    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": description}  # fmt: skip

    params = [
        query("_page", {"type": "integer", "minimum": 1, "maximum": 2**62}, "page number, from 1"),
        query("_limit", {"type": "integer", "minimum": 0, "maximum": 1000}, "records per page"),
        query(
            "_per_page",
            {"type": "integer", "minimum": 1, "maximum": 1000},
            "records per page, answered with json-server v1's envelope",
        ),
        query("_sort", {"type": "string", "enum": [f.name for f in collection.fields]}, "sort by"),
        query("_order", {"type": "string", "enum": ["asc", "desc"]}, "sort order"),
        query("q", {"type": "string", "maxLength": 256}, "search every field"),
    ]
    for f in collection.fields:
        if f.name == skip:
            continue
        kind: dict[str, Any] = (
            {"type": "string", "maxLength": 256}
            if f.kind == "string"
            else {"type": f.kind, "minimum": -(2**53), "maximum": 2**53}
        )
        params.append(query(f.name, kind, f"records whose {f.name} equals this"))
    return params


def docs_page(collections: dict[str, Collection], config: MockConfig) -> str:
    """A small HTML page: each collection, its fields, a sample record and example requests."""
    sections = []
    for name, collection in collections.items():
        sample = collection.rows(0, 1)
        rows = "".join(
            f"<tr><td><code>{html.escape(f.name)}</code></td><td>{f.kind}</td>"
            f"<td>{html.escape(f.column_type)}"
            + (f" &rarr; <a href='/{f.references}'>/{f.references}</a>" if f.references else "")
            + "</td></tr>"
            for f in collection.fields
        )
        example = html.escape(json.dumps(sample[0] if sample else {}, indent=2, ensure_ascii=False))
        links = "".join(
            f"<li><a href='{html.escape(url)}'><code>GET {html.escape(url)}</code></a></li>"
            for url in (
                f"/{name}?_page=1&_limit=10",
                f"/{name}/1",
                f"/{name}?_sort=-id&_limit=5",
            )
        )
        sections.append(
            f"<section><h2><a href='/{name}'>/{name}</a> "
            f"<small>{collection.count:,} records</small></h2>"
            f"<table><tr><th>field</th><th>JSON</th><th>column</th></tr>{rows}</table>"
            f"<pre>{example}</pre><ul>{links}</ul></section>"
        )
    mode = "read-only" if config.read_only else f"writes kept in {html.escape(config.state)}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>phony mock</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .6rem}"
        "pre{background:#f4f4f4;padding:.6rem}small{color:#666;font-weight:normal}"
        "</style></head><body>"
        f"<h1>phony mock</h1><p>Seed <code>{config.seed}</code>: the same records on every run; "
        f"{mode}. <a href='/openapi.json'>OpenAPI document</a>. "
        "<code>POST /__reset</code> forgets every write.</p>" + "".join(sections) + "</body></html>"
    )
