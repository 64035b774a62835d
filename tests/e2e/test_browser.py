"""The registry's web pages in a real browser: Debian's chromium driven by playwright.

A registry server runs under uvicorn on 127.0.0.1 (``phony registry serve``);
a model is published with the `phony` CLI and the official index imported.
Then, as a person would: search, open the model page, read the samples, ask
for new ones, copy the pull command and run it. Every page is saved as a
screenshot in ``test-artifacts/``. No browser is downloaded: without
``/usr/bin/chromium`` or the ``playwright`` package the tests skip, saying why.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from tests.e2e.conftest import RegistryProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

Run = Callable[..., CompletedProcess[str]]
ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SAMPLE = ROOT / "examples" / "tr_first_names.txt"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESCRIPTION = "Turkish first names <em>from the examples</em>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium from Debian's package; skips (with the reason) if it cannot be had."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`; "
            "scripts/test does it)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package comes with the dev extra"
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def _publish(run_phony: Run, registry: RegistryProcess, tmp_path: Path) -> None:
    storage = registry.args[1]
    model = tmp_path / "names.phony"
    run_phony(
        "train", str(SAMPLE), "--locale", "tr_TR", "--order", "3", "-o", str(model), check=True
    )
    token = run_phony(
        "registry", "token", "create", "--storage", storage, "--namespace", "alice", check=True
    ).stdout.strip()
    run_phony("login", "--registry", registry.url, input=token + "\n", check=True)
    for version in ("1.0.0", "1.1.0"):
        run_phony(
            "models", "push", str(model), f"alice/turkish-names@{version}",
            "--registry", registry.url, "--description", DESCRIPTION, "--license", "CC0-1.0",
            check=True,
        )  # fmt: skip
    run_phony("models", "yank", "alice/turkish-names@1.0.0", "--registry", registry.url, check=True)
    run_phony("registry", "import", str(ROOT / "registry-index"), "--storage", storage, check=True)


def _samples(page: Any) -> list[str]:
    values: list[str] = page.locator("#sample-values li").all_inner_texts()
    return values


def test_search_model_page_samples_and_pull(
    browser: Any, registry_server: RegistryProcess, run_phony: Run, tmp_path: Path
) -> None:
    expect = _expect()
    url = registry_server.url
    _publish(run_phony, registry_server, tmp_path)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(url + "/")
    expect(page).to_have_title("phony registry")
    expect(page.locator("#models tbody tr")).to_have_count(17)  # 16 official + alice's
    _shot(page, "home")

    page.get_by_label("Search models").fill("turkish first")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"\?q=turkish\+first$"))
    found = page.locator("#models tbody tr")
    expect(found.first).to_contain_text("alice/turkish-names")
    # The description is shown as text, markup and all.
    expect(found.filter(has_text="alice/turkish-names")).to_contain_text(DESCRIPTION)
    _shot(page, "search")

    page.get_by_role("link", name="alice/turkish-names").click()
    expect(page.locator("#model-name")).to_have_text(re.compile(r"alice/turkish-names\s+1\.1\.0"))
    expect(page.locator("#description")).to_have_text(DESCRIPTION)
    expect(page.locator("#signature")).to_contain_text("verified")
    expect(page.locator("#versions tr.yanked")).to_contain_text("1.0.0")
    expect(page.locator("#versions tr.yanked")).to_contain_text("yanked")
    pull = f"phony models pull alice/turkish-names@1.1.0 --registry {url}"
    expect(page.locator("#pull-command")).to_have_text(pull)
    first = _samples(page)
    assert len(first) == 8
    assert all(value.strip() for value in first)
    _shot(page, "model")

    page.locator("#new-seed").click()
    expect(page.locator("#sample-seed")).not_to_have_text("1")
    expect(page.locator("#sample-values li")).to_have_count(8)
    second = _samples(page)
    assert second != first
    seed = page.locator("#sample-seed").inner_text()
    expect(page).to_have_url(re.compile(rf"seed={seed}"))
    generate = page.locator("#generate-command").inner_text()
    assert f"--seed {seed} " in generate
    _shot(page, "model-new-seed")

    page.locator("button.copy[data-copy='#pull-command']").click()
    expect(page.locator("button.copy[data-copy='#pull-command']")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == pull

    # The copied command works as it is, and the offline command gives the page's values.
    args = shlex.split(copied)
    assert args[0] == "phony"
    pulled = run_phony(*args[1:], check=True)
    assert "alice/turkish-names@1.1.0" in pulled.stdout
    offline = run_phony(*shlex.split(generate)[1:], check=True)
    assert offline.stdout.split("\n")[:8] == second

    page.goto(url + "/locales/tr_TR")
    expect(page.locator("h1")).to_have_text("Locale tr_TR")
    expect(page.locator("#pack-members tbody tr")).to_have_count(7)
    expect(page.locator("#install-command")).to_have_text(f"phony install tr_TR --registry {url}")
    _shot(page, "locale")

    page.goto(url + "/models/alice/no-such-model")
    expect(page.locator("h1")).to_have_text("Not found")
    _shot(page, "not-found")
    assert errors == [] or all("404" in e for e in errors), errors
    context.close()


def test_pages_work_without_javascript(
    browser: Any, registry_server: RegistryProcess, run_phony: Run, tmp_path: Path
) -> None:
    expect = _expect()
    _publish(run_phony, registry_server, tmp_path)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(registry_server.url + "/models/alice/turkish-names")
    first = _samples(page)
    assert len(first) == 8
    expect(page.locator("button.copy")).to_have_count(2)
    expect(page.locator("button.copy").first).to_be_hidden()  # copying needs the script
    page.locator("#new-seed").click()
    expect(page).to_have_url(re.compile(r"\?version=1\.1\.0&seed=\d+#samples$"))
    assert _samples(page) != first
    _shot(page, "model-no-js")
    context.close()
