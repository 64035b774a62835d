"""A front-end page on another origin using the mock from a real browser (Debian's chromium).

The page is served by a second local server (another origin, so every call
is a cross-origin fetch with CORS, a preflight for the JSON writes); it
lists a page of people with the total from ``X-Total-Count``, creates a user
and patches it, as a front-end developer's app would. The mock's own docs
page is opened too. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import free_port
from tests.e2e.test_browser import _shot, browser  # noqa: F401 - the fixture, shared
from tests.mock.conftest import StartMock

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APP = """<!doctype html><html><head><meta charset="utf-8"><title>People</title>
<style>body{font:15px system-ui;margin:2rem}td,th{border:1px solid #ccc;padding:.2rem .5rem}
table{border-collapse:collapse}</style></head><body>
<h1>People <small id="total"></small></h1><table id="people"><tr><th>id</th><th>name</th>
<th>email</th><th>city</th></tr></table><h2>New user</h2><pre id="user"></pre>
<script>
const API = "MOCK";
async function main() {
  const answer = await fetch(`${API}/people?_page=2&_limit=5`);
  document.getElementById("total").textContent = answer.headers.get("X-Total-Count") + " in all";
  for (const p of await answer.json()) {
    const row = document.getElementById("people").insertRow();
    for (const v of [p.id, p.first_name + " " + p.last_name, p.email, p.city])
      row.insertCell().textContent = v;
  }
  const created = await (await fetch(`${API}/users`, {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({first_name: "Grace", last_name: "Hopper", email: "grace@example.com",
                          age: 85, plan: "team", joined: "2019-12-09"})})).json();
  const patched = await (await fetch(`${API}/users/${created.id}`, {method: "PATCH",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({age: 86})})).json();
  document.getElementById("user").textContent = JSON.stringify(patched);
  document.body.dataset.done = "yes";
}
main().catch(e => { document.body.dataset.done = "error: " + e; });
</script></body></html>
"""


@pytest.fixture
def front_end(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A static server on another port (another origin) for the app's page."""
    port = free_port()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield tmp_path, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_front_end_app_lists_creates_and_patches_through_cors(
    browser: Any,  # noqa: F811 - the fixture imported above
    start_mock: StartMock,
    blog_schemas: Path,
    front_end: tuple[Path, str],
) -> None:
    mock = start_mock(
        "person", f"users={blog_schemas / 'users.toml'}", "--locale", "en_US", "--count", "300"
    )
    folder, origin = front_end
    (folder / "index.html").write_text(APP.replace("MOCK", mock.url))
    page = browser.new_page()
    page.goto(f"{origin}/index.html")
    page.wait_for_selector("body[data-done]", timeout=30_000)
    assert page.get_attribute("body", "data-done") == "yes"
    expected = httpx.get(f"{mock.url}/people", params={"_page": 2, "_limit": 5}).json()
    cells = page.locator("#people td").all_inner_texts()
    assert cells[0::4] == [str(p["id"]) for p in expected]
    assert cells[2::4] == [p["email"] for p in expected]
    assert page.inner_text("#total") == "300 in all"
    created = httpx.get(f"{mock.url}/users/301").json()
    assert created["first_name"] == "Grace"
    assert created["age"] == 86
    _shot(page, "mock-front-end")
    page.goto(mock.url)
    assert "/people" in page.inner_text("h2 >> nth=0")
    assert page.locator("section").count() == 2
    _shot(page, "mock-docs-page")
    page.close()
