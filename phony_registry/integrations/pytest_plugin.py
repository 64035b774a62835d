"""The pytest plugin: a ``phony`` fixture seeded per test, and a ``phony`` marker.

Installed with phony through pytest's ``pytest11`` entry point, so any test
can ask for it::

    def test_signup(phony):
        user = signup(phony.name(), phony.email())

    @pytest.mark.phony("tr_TR")                 # a locale, or a chain ["tr_TR", "en_US"]
    def test_turkish_names(phony): ...

Each test gets its own seed, derived from its node id, so two tests draw
different values and a test draws the same values on every run. When a test
that used the fixture fails, its report carries a ``phony`` section with the
seed and the command that replays it; ``--phony-seed N`` gives every test the
seed ``N``. Loading the plugin imports nothing but pytest and the standard
library: the facade (and numpy) load when a test first asks for the fixture.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from phony_registry.facade import Phony

__all__ = [
    "phony",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_makereport",
    "seed_for",
]

_USED = pytest.StashKey[tuple[int, tuple[str, ...]]]()
_DEFAULT_LOCALE = "en_US"
#: Seeds are 128-bit, as :class:`~phony_registry.facade.Phony` takes them.
_SEEDS = 2**128


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--phony-seed`` and ``--phony-locale``, and the ``phony_locale`` ini option."""
    group = parser.getgroup("phony", "phony fake data")
    group.addoption(
        "--phony-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the phony fixture in every test (default: derived from each test's id)",
    )
    group.addoption(
        "--phony-locale",
        default=None,
        metavar="LOCALES",
        help="locale (or chain tr_TR,en_US) of the phony fixture when no marker says one",
    )
    parser.addini(
        "phony_locale", "locale (or chain) of the phony fixture by default", default=_DEFAULT_LOCALE
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``phony`` marker (so ``--strict-markers`` accepts it); check the options.

    A wrong ``--phony-seed``, ``--phony-locale`` or ``phony_locale`` is one
    usage error before any test runs, not an error in every test that asks
    for the fixture.
    """
    config.addinivalue_line(
        "markers",
        "phony(locale=None, *, seed=None): locale (or fallback chain) and seed "
        "of the phony fixture in this test",
    )
    seed = config.getoption("phony_seed")
    if seed is not None and not 0 <= seed < _SEEDS:
        raise pytest.UsageError(
            f"--phony-seed: a seed is an integer from 0 to 2**128-1, not {seed}"
        )
    for where, locale in (
        ("--phony-locale", config.getoption("phony_locale")),
        ("phony_locale", config.getini("phony_locale")),
    ):
        if locale and locale != _DEFAULT_LOCALE:
            _check_locale(where, locale)


def _check_locale(where: str, locale: str) -> None:
    from phony_registry.errors import PhonyError
    from phony_registry.names import parse_locale_chain

    try:
        parse_locale_chain(locale)
    except PhonyError as exc:
        raise pytest.UsageError(f"{where}: {exc}") from exc


def seed_for(nodeid: str) -> int:
    """The default seed of a test: 64 bits of the SHA-256 of its node id."""
    return int.from_bytes(hashlib.sha256(nodeid.encode("utf-8")).digest()[:8], "big")


@pytest.fixture
def phony(request: pytest.FixtureRequest) -> Phony:
    """A :class:`~phony_registry.facade.Phony` seeded for this test.

    Locale: the closest ``phony`` marker's, else ``--phony-locale``, else the
    ``phony_locale`` ini option (``en_US``). Seed: the closest marker's ``seed=``, else
    ``--phony-seed``, else :func:`seed_for` the test's node id.
    """
    from phony_registry.errors import PhonyError
    from phony_registry.facade import Phony

    locale: Any = None
    seed: Any = None
    # The test's marker, then its class's, then its module's: the closest that
    # says a locale (or a seed) gives it, so a module's locale stays under a
    # test that marks only its seed.
    for marker in request.node.iter_markers("phony"):
        marked_locale, marked_seed = _marker_arguments(marker)
        locale = marked_locale if locale is None else locale
        seed = marked_seed if seed is None else seed
    if locale is None:
        locale = request.config.getoption("phony_locale") or request.config.getini("phony_locale")
    if seed is None:
        seed = request.config.getoption("phony_seed")
    if seed is None:
        seed = seed_for(request.node.nodeid)
    try:
        fake = Phony(locale, seed=seed)
    except PhonyError as exc:
        pytest.fail(f"@pytest.mark.phony: {exc}", pytrace=False)
    request.node.stash[_USED] = (fake.seed, fake.locales)
    return fake


def _marker_arguments(marker: pytest.Mark) -> tuple[Any, Any]:
    """``(locale, seed)`` of a ``phony`` marker; anything else it was given fails the test.

    An argument the fixture would ignore (``sed=3``, a second locale) would
    give the test other values than its author asked for, silently.
    """
    unknown = sorted(set(marker.kwargs) - {"locale", "seed"})
    if unknown:
        pytest.fail(
            f"@pytest.mark.phony: unknown argument {', '.join(unknown)} (it takes locale and seed)",
            pytrace=False,
        )
    if len(marker.args) > 1:
        chain = list(marker.args)
        pytest.fail(
            f"@pytest.mark.phony: takes one locale (or a list, a chain); use phony({chain!r})",
            pytrace=False,
        )
    if marker.args and "locale" in marker.kwargs:
        pytest.fail("@pytest.mark.phony: the locale is given twice", pytrace=False)
    locale = marker.args[0] if marker.args else marker.kwargs.get("locale")
    return locale, marker.kwargs.get("seed")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the seed and the replay command to the report of a failing test that used ``phony``."""
    report = yield
    used = item.stash.get(_USED, None)
    if used is not None and report.failed:
        seed, locales = used
        locale = ",".join(locales)
        report.sections.append(
            (
                "phony",
                f"seed {seed}, locale {locale}\n"
                f"replay: pytest {_quote(_replay_id(item))} "
                f"--phony-seed={seed} --phony-locale={shlex.quote(locale)}",
            )
        )
    return report


def _replay_id(item: pytest.Item) -> str:
    """``item``'s node id as pytest, started where this run was, finds it.

    A node id is relative to the root directory; a run started in a folder
    below it takes its arguments relative to that folder.
    """
    start, root = item.config.invocation_params.dir, item.config.rootpath
    if start == root:
        return item.nodeid
    path, separator, rest = item.nodeid.partition("::")
    return os.path.relpath(root / path, start) + separator + rest


def _quote(text: str) -> str:
    """``text`` in single quotes for a POSIX shell, even when it needs none.

    Always quoted, so that a node id reads the same whether or not its
    parameters hold brackets, spaces or ``$``.
    """
    return "'" + text.replace("'", "'\"'\"'") + "'"
