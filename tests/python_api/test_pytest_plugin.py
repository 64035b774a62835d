"""The pytest plugin, as its users meet it: a sample test file run by a real pytest."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy  # noqa: F401 - see below
import pytest

import phony_registry.format  # see below
import phony_registry.schema  # noqa: F401 - see below
from phony_registry.integrations.pytest_plugin import seed_for

pytest_plugins = ["pytester"]

# pytester runs pytest in this process and, after each run, forgets the modules
# the run imported; numpy cannot be imported twice in one process, so what the
# sample tests load (numpy through the model and schema modules) is loaded here.

SAMPLE = """
import pytest


def test_person(phony):
    print(f"SEEN {phony.seed} {phony.first_name()} {phony.email()}")


def test_other(phony):
    print(f"SEEN {phony.seed} {phony.first_name()} {phony.email()}")


@pytest.mark.phony("tr_TR")
def test_turkish(phony):
    assert phony.locales == ("tr_TR",)
    print(f"SEEN {phony.seed} {phony.first_name()} {phony.city()}")


@pytest.mark.phony(["de_DE", "en_US"], seed=5)
def test_chain_and_fixed_seed(phony):
    assert phony.locales == ("de_DE", "en_US")
    assert phony.seed == 5


def test_fails(phony):
    name = phony.first_name()
    assert name == "no one", f"DREW {name}"
"""


def _seen(output: str) -> dict[str, str]:
    """``SEEN seed values`` lines printed by the sample tests, by seed."""
    return {m.group(1): m.group(2) for m in re.finditer(r"SEEN (\d+) (.*)$", output, re.MULTILINE)}


def _drew(output: str) -> str:
    found = re.search(r"DREW (\S+)", output)
    assert found is not None, output
    return found.group(1)


def test_the_fixture_in_a_real_pytest_run(pytester: pytest.Pytester) -> None:
    path = pytester.makepyfile(test_sample=SAMPLE)
    result = pytester.runpytest("-s", "--strict-markers", "-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    output = result.stdout.str()

    # Each test its own seed, derived from its node id.
    seeds = {int(seed) for seed in _seen(output)}
    names = ("test_person", "test_other", "test_turkish")
    assert seeds == {seed_for(f"{path.name}::{name}") for name in names}

    # The failing test's report says its seed and how to replay it.
    failing = f"{path.name}::test_fails"
    seed = seed_for(failing)
    assert re.search(r"-+ phony -+", output), output
    assert f"seed {seed}, locale en_US" in output
    assert f"replay: pytest '{failing}' --phony-seed={seed} --phony-locale=en_US\n" in output
    drawn = _drew(output)

    # The same values on the next run, and when the failure is replayed alone.
    again = pytester.runpytest("-s", "-p", "no:cacheprovider")
    assert _seen(again.stdout.str()) == _seen(output)
    replay = pytester.runpytest(failing, f"--phony-seed={seed}", "-p", "no:cacheprovider")
    replay.assert_outcomes(failed=1)
    assert _drew(replay.stdout.str()) == drawn


def test_a_passing_test_gets_no_phony_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(phony):\n    assert phony.first_name()\n")
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "replay:" not in result.stdout.str()


def test_options_set_the_seed_and_locale_of_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "def test_a(phony):\n    print('SEEN', phony.seed, ','.join(phony.locales))\n"
        "def test_b(phony):\n    print('SEEN', phony.seed, ','.join(phony.locales))\n"
    )
    result = pytester.runpytest("-s", "--phony-seed=77", "--phony-locale=tr_TR,en_US")
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("SEEN 77 tr_TR,en_US") == 2
    pytester.makeini("[pytest]\nphony_locale = tr_TR\n")
    result = pytester.runpytest("-s")
    assert result.stdout.str().count(" tr_TR\n") == 2


def test_loading_the_plugin_imports_neither_numpy_nor_the_facade() -> None:
    code = (
        "import sys, phony_registry.integrations.pytest_plugin\n"
        "print(sorted(m for m in ('numpy', 'phony_registry.facade') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_plugin_is_installed_through_pytest11() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("phony") == "phony_registry.integrations.pytest_plugin"


FAILING = """
import pytest


def test_fails(phony):
    name = phony.first_name()
    assert name == "no one", f"DREW {name} {','.join(phony.locales)}"


@pytest.mark.phony("tr_TR")
def test_marked(phony):
    name = phony.first_name()
    assert name == "no one", f"DREW {name} {','.join(phony.locales)}"


@pytest.mark.parametrize("n", [pytest.param(1, id="it's $HOME [x]")])
def test_odd_id(phony, n):
    name = phony.first_name()
    assert name == "no one", f"DREW {name} {','.join(phony.locales)}"
"""


_DREW = re.compile(r"^E +AssertionError: DREW (\S+ \S+)$", re.MULTILINE)


def _replay_args(output: str) -> list[str]:
    """The arguments of the one replay line of ``output``, as a POSIX shell passes them."""
    lines = re.findall(r"^replay: pytest (.*)$", output, re.MULTILINE)
    assert len(lines) == 1, output
    shell = subprocess.run(
        ["sh", "-c", f"printf '%s\\0' {lines[0]}"], capture_output=True, check=True
    )
    return shell.stdout.decode().split("\0")[:-1]


def _fails_the_same_on_replay(pytester: pytest.Pytester, test: str, *options: str) -> list[str]:
    """Run ``test`` (a name in FAILING) with ``options``, then its replay line; both must
    draw the same value in the same locale. The replay line's arguments are returned."""
    result = pytester.runpytest("-k", test, "-p", "no:cacheprovider", *options)
    result.assert_outcomes(failed=1, deselected=2)
    drawn = _DREW.findall(result.stdout.str())
    assert len(drawn) == 1, result.stdout.str()
    args = _replay_args(result.stdout.str())
    replay = pytester.runpytest(*args, "-p", "no:cacheprovider")
    replay.assert_outcomes(failed=1)
    assert _DREW.findall(replay.stdout.str()) == drawn
    return args


def test_the_replay_line_replays_the_locale_of_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING)
    args = _fails_the_same_on_replay(pytester, "test_fails", "--phony-locale=tr_TR,en_US")
    assert "--phony-locale=tr_TR,en_US" in args


def test_the_replay_line_does_not_depend_on_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING)
    pytester.makeini("[pytest]\nphony_locale = tr_TR\n")
    _fails_the_same_on_replay(pytester, "test_fails")
    # The option overrode the ini file in the failing run: so must it in the replay.
    _fails_the_same_on_replay(pytester, "test_fails", "--phony-locale=en_US")
    _fails_the_same_on_replay(pytester, "test_fails", "-o", "phony_locale=en_US")


def test_the_replay_line_of_a_marked_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING)
    _fails_the_same_on_replay(pytester, "test_marked")
    _fails_the_same_on_replay(pytester, "test_marked", "--phony-locale=en_US", "--phony-seed=3")


def test_the_replay_line_quotes_the_test_id_for_the_shell(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING)
    args = _fails_the_same_on_replay(pytester, "test_odd_id")
    assert args[0] == "test_failing.py::test_odd_id[it's $HOME [x]]"


def test_the_replay_line_runs_from_where_pytest_was_started(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\n")  # the root of the run, above the test's folder
    sub = pytester.mkpydir("sub")
    (sub / "test_failing.py").write_text(FAILING)
    monkeypatch.chdir(sub)
    args = _fails_the_same_on_replay(pytester, "test_fails")
    assert args[0] == "test_failing.py::test_fails"


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--phony-seed=-1"], "", "--phony-seed: a seed is an integer from 0 to 2**128-1, not -1"),
        ([f"--phony-seed={2**128}"], "", "--phony-seed: a seed is an integer from 0 to 2**128-1"),
        (["--phony-locale=xx"], "", "--phony-locale: 'xx' is not a locale"),
        ([], "[pytest]\nphony_locale = tr_TR,xx\n", "phony_locale: 'xx' is not a locale"),
    ],
    ids=["negative-seed", "seed-too-large", "bad-locale-option", "bad-locale-ini"],
)
def test_a_bad_option_is_one_usage_error_before_any_test(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    # Not one traceback per test that asks for the fixture.
    pytester.makepyfile("def test_a(phony):\n    pass\n\ndef test_b(phony):\n    pass\n")
    if ini:
        pytester.makeini(ini)
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            '"tr_TR", "en_US"',
            "takes one locale (or a list, a chain); use phony(['tr_TR', 'en_US'])",
        ),
        ("sed=3", "unknown argument sed (it takes locale and seed)"),
        ('"tr_TR", locale="en_US"', "the locale is given twice"),
        ("seed=-5", "seed must be an integer from 0 to 2**128-1, not -5"),
        ('"xx"', "'xx' is not a locale"),
    ],
    ids=["two-locales", "typo", "locale-twice", "bad-seed", "bad-locale"],
)
def test_a_wrong_marker_is_a_one_line_error_of_its_test(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    # A marker argument the fixture would ignore (a typo of seed=, a second locale)
    # would silently give the test other values than its author asked for.
    pytester.makepyfile(
        "import pytest\n\n"
        f"@pytest.mark.phony({marker})\n"
        "def test_marked(phony):\n    pass\n\n"
        "def test_plain(phony):\n    pass\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert f"@pytest.mark.phony: {message}" in output
    assert "phony_registry" not in output  # no traceback into phony's code


def test_markers_of_the_module_class_and_test_add_up(pytester: pytest.Pytester) -> None:
    # The module's locale stays when a class or a test marks only its seed;
    # the closest marker wins for what it says.
    pytester.makepyfile(
        "import pytest\n\n"
        'pytestmark = pytest.mark.phony("tr_TR")\n\n'
        "@pytest.mark.phony(seed=3)\n"
        "def test_seeded(phony):\n"
        "    print('SEEN', phony.seed, ','.join(phony.locales))\n\n"
        "class TestGerman:\n"
        '    pytestmark = pytest.mark.phony(["de_DE", "en_US"], seed=9)\n\n'
        "    @pytest.mark.phony(seed=4)\n"
        "    def test_closest_seed(self, phony):\n"
        "        print('SEEN', phony.seed, ','.join(phony.locales))\n\n"
        "    @pytest.mark.phony(locale='en_US')\n"
        "    def test_closest_locale(self, phony):\n"
        "        print('SEEN', phony.seed, ','.join(phony.locales))\n"
    )
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert _seen_lines(result.stdout.str()) == [
        "3 tr_TR",
        "4 de_DE,en_US",
        "9 en_US",
    ]


def _seen_lines(output: str) -> list[str]:
    return re.findall(r"SEEN (\d+ \S+)", output)
