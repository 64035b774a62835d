"""The registry's web pages, in-process: what a person browsing the registry sees."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from phony_registry.format import load_model
from phony_registry.manifest import Manifest, PackMember
from phony_registry.names import parse_name
from phony_server.samples import MAX_SAMPLES, SampleCache
from tests.server.conftest import Publisher, Server, digest_of, make_blob

pytestmark = pytest.mark.anyio

EVIL = 'Turkish names <script>alert("owned")</script> & more'


class _Text(HTMLParser):
    """Collects the visible text of the element with a given id (and of the whole page)."""

    _VOID = frozenset({"br", "img", "input", "meta", "link", "hr"})

    def __init__(self, wanted: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.wanted = wanted
        self.depth = 0
        self.found = False
        self.parts: list[str] = []
        self.page: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_script = tag in ("script", "style", "title")
        if tag in self._VOID:
            return
        if self.depth:
            self.depth += 1
        elif self.wanted is not None and dict(attrs).get("id") == self.wanted:
            self.depth, self.found = 1, True

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False
        if self.depth and tag not in self._VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.in_script:
            return
        self.page.append(data)
        if self.depth:
            self.parts.append(data)


def text(html: str, element_id: str | None = None) -> str:
    """Whitespace-normalised visible text of the page, or of one element by id."""
    parser = _Text(element_id)
    parser.feed(html)
    if element_id is not None:
        assert parser.found, f"no element #{element_id} on the page"
    return " ".join(" ".join(parser.parts if element_id else parser.page).split())


def rows(html: str, table_id: str) -> list[str]:
    """The text of each body row of a table, by the table's id."""
    body = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S)
    assert body is not None, f"no table #{table_id}"
    found = re.findall(r"<tr.*?</tr>", body[1], re.S)
    return [text(f"<div id='r'>{row}</div>", "r") for row in found]


async def _page(server: Server, url: str, status: int = 200) -> str:
    answer = await server.client.get(url)
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


async def _publish_two(server: Server) -> Publisher:
    alice = server.publisher("alice")
    blob = make_blob()
    first = await server.push(alice, "alice/turkish-names", "1.0.0", blob, description=EVIL)
    assert first.status_code == 201, first.text
    second = await server.push(alice, "alice/turkish-names", "1.1.0", blob, description=EVIL)
    assert second.status_code == 201, second.text
    bob = server.publisher("bob")
    other = await server.push(
        bob, "bob/streets", "0.1.0", make_blob(["elm", "oak", "main"], name="streets"),
        description="US street names",
    )  # fmt: skip
    assert other.status_code == 201, other.text
    return alice


async def test_home_lists_models_and_searches(server: Server) -> None:
    empty = await _page(server, "/")
    assert "Nothing is published here yet" in text(empty)
    head = await server.client.head("/")
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/html")
    await _publish_two(server)
    home = await _page(server, "/")
    listed = rows(home, "models")
    assert len(listed) == 2
    assert listed[0].startswith("alice/turkish-names 1.1.0 Turkish names <script>")
    assert listed[1] == "bob/streets 0.1.0 US street names"
    found = await _page(server, "/?q=street")
    assert rows(found, "models") == ["bob/streets 0.1.0 US street names"]
    assert 'value="street"' in found  # the search box keeps the query
    nothing = await _page(server, "/?q=klingon")
    assert "No model matches “klingon”" in text(nothing)


async def test_description_with_markup_shows_as_text(server: Server) -> None:
    await _publish_two(server)
    for url in ("/", "/models/alice/turkish-names", "/?q=%3Cscript%3E"):
        page = await _page(server, url)
        assert "<script>alert" not in page
        assert "alert(&#34;owned&#34;)" in page or "alert(&quot;owned&quot;)" in page
    model = await _page(server, "/models/alice/turkish-names")
    assert text(model, "description") == EVIL
    searched = await _page(server, "/?q=%3Cscript%3E")
    assert "<script>alert" not in searched
    assert 'value="&lt;script&gt;"' in searched


async def test_model_page_shows_facts_pull_command_and_samples(server: Server) -> None:
    await _publish_two(server)
    page = await _page(server, "/models/alice/turkish-names")
    assert text(page, "model-name") == "alice/turkish-names 1.1.0"
    assert text(page, "pull-command") == (
        "phony models pull alice/turkish-names@1.1.0 --registry http://registry.test"
    )
    assert text(page, "digest") == digest_of(make_blob())
    assert text(page, "format-version") == "2"
    assert text(page, "license") == "not stated"
    assert text(page, "publisher") == "alice"
    signature = text(page, "signature")
    assert signature.startswith("verified signed by publisher key ")
    assert "countersigned by this registry's key" in signature
    assert [r.split()[0] for r in rows(page, "versions")] == ["1.1.0", "1.0.0"]
    values = text(page, "sample-values").split()
    expected = load_model(make_blob()).generate(8, 1, unique=True)
    assert values == expected
    assert "content-security-policy" in (await server.client.get("/")).headers


async def test_yanked_versions_are_marked(server: Server) -> None:
    alice = await _publish_two(server)
    yank = await server.client.post(
        "/v1/models/alice/turkish-names/versions/1.1.0/yank", headers=alice.headers
    )
    assert yank.status_code == 200, yank.text
    page = await _page(server, "/models/alice/turkish-names")
    # The page opens on the newest version a range would pick.
    assert text(page, "model-name") == "alice/turkish-names 1.0.0"
    assert [(r.split()[0], r.split()[-1]) for r in rows(page, "versions")] == [
        ("1.1.0", "yanked"),
        ("1.0.0", "latest"),
    ]
    yanked = await _page(server, "/models/alice/turkish-names?version=1.1.0")
    assert text(yanked, "model-name") == "alice/turkish-names 1.1.0 yanked"
    assert "This version is yanked" in text(yanked)
    assert "The latest version is 1.0.0" in text(yanked)
    home = await _page(server, "/")
    assert rows(home, "models")[0].startswith("alice/turkish-names 1.0.0 ")


async def test_unknown_model_gets_a_404_page(server: Server) -> None:
    await _publish_two(server)
    page = await _page(server, "/models/alice/nothing-here", status=404)
    assert "Not found" in text(page)
    assert "no model named alice/nothing-here" in text(page)
    missing_version = await _page(server, "/models/alice/turkish-names?version=9.9.9", status=404)
    assert "has no version 9.9.9" in text(missing_version)
    bad = await _page(server, "/models/Alice/..%2Fetc", status=422)
    assert "Bad request" in text(bad)
    bad_seed = await _page(server, "/models/alice/turkish-names?seed=-3", status=400)
    assert "seed must be a whole number" in text(bad_seed)
    assert "<script" not in bad.split("</head>", 1)[1]
    assert "no model for the locale fr_FR" in text(await _page(server, "/locales/fr_FR", 404))
    assert (await server.client.get("/static/..%2Fweb.py")).status_code == 404


async def test_signature_status_when_the_publisher_key_is_gone(server: Server) -> None:
    await _publish_two(server)
    (server.private / "publishers" / "alice.json").unlink()
    page = await _page(server, "/models/alice/turkish-names")
    signature = text(page, "signature")
    # A pull from this registry accepts it on the registry's countersignature, so the
    # page says verified too, and that no publisher key of alice's signed it.
    assert signature.startswith(
        "verified signed by this registry's key only (no publisher key of alice signed it)"
    )


async def test_new_seed_link_works_without_javascript(server: Server) -> None:
    await _publish_two(server)
    page = await _page(server, "/models/alice/turkish-names?seed=1")
    link = re.search(r'id="new-seed" href="([^"]+)"', page)
    assert link is not None
    href = link[1].replace("&amp;", "&")
    assert href.startswith("?version=1.1.0&seed=")
    following = await _page(server, "/models/alice/turkish-names" + href.split("#")[0])
    seed = int(re.search(r"seed=(\d+)", href)[1])  # type: ignore[index]
    assert text(following, "sample-seed") == str(seed)
    first, second = text(page, "sample-values"), text(following, "sample-values")
    assert first != second or seed == 1


async def test_samples_json_is_capped_and_cached(server: Server) -> None:
    await _publish_two(server)
    url = "/samples/alice/turkish-names"
    many = await server.client.get(url, params={"seed": "7", "count": "100000"})
    assert many.status_code == 200, many.text
    assert len(many.json()["values"]) == MAX_SAMPLES
    cache: SampleCache = server.app.state.samples  # type: ignore[attr-defined]
    runs = cache.generated
    again = await server.client.get(url, params={"seed": "7", "count": "100000"})
    assert again.json()["values"] == many.json()["values"]
    assert cache.generated == runs  # served from the cache
    other = await server.client.get(url, params={"seed": "8", "count": "100000"})
    assert other.json()["values"] != many.json()["values"]
    for seed in ("-1", "abc", "1" * 30):
        refused = await server.client.get(url, params={"seed": seed})
        assert refused.status_code == 400
        assert "seed must be a whole number" in refused.json()["detail"]
    unknown = await server.client.get("/samples/alice/nope")
    assert unknown.status_code == 404


def test_sample_time_budget_and_lru_bound() -> None:
    model = load_model(make_blob())
    slow = SampleCache(time_budget=0.0)
    cut = slow.get("sha256:" + "0" * 64, 1, lambda: model, count=MAX_SAMPLES)
    assert not cut.complete
    assert 0 < len(cut.values) < MAX_SAMPLES
    assert len(slow) == 0  # an incomplete answer is not cached
    small = SampleCache(max_entries=2)
    for seed in (1, 2, 3):
        assert small.get("sha256:" + "1" * 64, seed, lambda: model).complete
    assert len(small) == 2


async def test_locale_pack_page_lists_its_models(server: Server) -> None:
    operator = server.publisher(operator=True)
    blob = make_blob(["ayse", "fatma", "zeynep"], name="first_names")
    model = Manifest.model(
        "tr_TR/first_names", "1.0.0", digest=digest_of(blob), size=len(blob),
        format_version=2, kind="first_name", locale="tr_TR", license="MIT",
        description="Turkish first names",
    ).signed(operator.key)  # fmt: skip
    _plant(server, blob, model)
    pack = Manifest.pack(
        "tr_TR", "1.0.0", [PackMember("tr_TR/first_names", "1.0.0", digest_of(blob))],
        locale="tr_TR", license="MIT", description="Turkish people",
    ).signed(operator.key)  # fmt: skip
    _plant(server, None, pack)
    page = await _page(server, "/locales/tr-tr")
    assert "Locale tr_TR" in text(page)
    assert rows(page, "pack-members") == ["tr_TR/first_names 1.0.0"]
    assert rows(page, "models") == ["tr_TR/first_names 1.0.0 Turkish first names"]
    pack_page = await _page(server, "/models/tr_TR")
    assert "pack" in text(pack_page, "model-name")
    assert text(pack_page, "publisher") == "official (registry operator)"
    assert 'id="samples"' not in pack_page  # a pack has no values of its own
    home = await _page(server, "/")
    assert 'href="/locales/tr_TR"' in home


def _plant(server: Server, blob: bytes | None, manifest: Manifest) -> None:
    """Publish through the registry engine, past the API's checks.

    The API refuses an official name the official key did not sign; a page
    must still describe such a release rightly if one is in the storage.
    """
    registry = server.app.state.registry  # type: ignore[attr-defined]
    if blob is not None:
        registry.store_blob(digest_of(blob), blob)
    registry.publish(manifest, parse_name(manifest.name))


async def _put(server: Server, who: Publisher, blob: bytes | None, manifest: Manifest) -> None:
    if blob is not None:
        answer = await server.client.put(
            f"/v1/blobs/{digest_of(blob)}", content=blob, headers=who.headers
        )
        assert answer.status_code in (200, 201), answer.text
    answer = await server.client.put(
        f"/v1/models/{manifest.name}/versions/{manifest.version}",
        content=manifest.to_bytes(),
        headers=who.headers,
    )
    assert answer.status_code == 201, answer.text


async def test_official_packs_imported_from_the_index_show_as_verified(server: Server) -> None:
    # The page judges signatures by the client's rule: the official key vouches
    # for official names, whoever serves them.
    import phony_index
    from phony_registry.signing import official_key
    from phony_server.cli.registry_import import import_static_registry

    registry = server.app.state.registry  # type: ignore[attr-defined]
    import_static_registry(phony_index.ROOT, registry, official_key())
    for url in ("/models/tr_TR", "/models/tr_TR/first_names"):
        page = await _page(server, url)
        signature = text(page, "signature")
        assert signature.startswith("verified signed by the official key 2e63171c1f53391a"), url
        assert "countersigned" in signature


async def test_official_names_signed_by_the_operator_only_show_as_not_verified(
    server: Server,
) -> None:
    # A pull refuses an official name without the official key; the page says so too.
    operator = server.publisher(operator=True)
    blob = make_blob(["ayse", "fatma", "zeynep"], name="first_names")
    model = Manifest.model(
        "tr_TR/first_names", "1.0.0", digest=digest_of(blob), size=len(blob), format_version=2,
    ).signed(operator.key)  # fmt: skip
    _plant(server, blob, model)
    signature = text(await _page(server, "/models/tr_TR/first_names"), "signature")
    assert signature.startswith(
        "not verified manifest of tr_TR/first_names@1.0.0 from this registry is not signed"
    )
    assert "official key" in signature
