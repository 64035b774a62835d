"""The Phony facade as a user calls it: fields, values, records, seeds, locale chains."""

from __future__ import annotations

import ast
import copy
import csv
import io
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find

from phony_registry import Phony
from phony_registry import strategies as ps
from phony_registry.builtins import model_in_folder
from phony_registry.digests import digest_bytes
from phony_registry.errors import NotFound, UsageError
from phony_registry.facade import _phony, _sources
from phony_registry.format import load_model
from phony_registry.generators import ascii_fold, column_seed
from phony_registry.hookspecs import hookimpl
from phony_registry.index import FileInfo, IndexEntry, Snapshot, render_index
from phony_registry.layout import (
    blob_path,
    index_path,
    manifest_path,
    registry_key_path,
    snapshot_path,
    to_local,
)
from phony_registry.manifest import Manifest, format_time
from phony_registry.plugins import LocaleSource, Plugins, get_plugins, load_plugins
from phony_registry.signing import PrivateKey

RunPhony = Callable[..., Any]


def bundled(spec: str) -> Path:
    path = model_in_folder(_sources.bundled_root(), spec)
    assert path is not None
    return path


@pytest.mark.parametrize("locale", ["en_US", "tr_TR"])
def test_the_declared_methods_are_the_fields_of_the_bundled_packs(locale: str) -> None:
    # The methods written out in the class (for editors) must match discovery.
    fake = Phony(locale, seed=1)
    assert fake.fields() == sorted(_phony._DECLARED)
    assert _phony._discover((locale,)) == _phony._DECLARED
    for name in fake.fields():
        assert callable(getattr(Phony, name)), name


def test_same_seed_same_values_other_seed_other_values() -> None:
    def draw(seed: int) -> list[str]:
        fake = Phony("tr_TR", seed=seed)
        return [fake.first_name(), fake.last_name(), fake.city(), fake.email(), fake.company()]

    assert draw(42) == draw(42)
    assert draw(42) != draw(43)
    # Another process (another run, another hash seed) draws the same values.
    code = (
        "from phony_registry import Phony\n"
        "f = Phony('tr_TR', seed=42)\n"
        "print(repr([f.first_name(), f.last_name(), f.city(), f.email(), f.company()]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert ast.literal_eval(out) == draw(42)


@pytest.mark.parametrize("buffer", [1, 7, 256, 5000])
def test_the_nth_call_does_not_depend_on_the_buffer_size(buffer: int) -> None:
    reference = Phony("tr_TR", seed=9)
    fake = Phony("tr_TR", seed=9, buffer=buffer)
    # 3000 calls cross several runs for every buffer size here (1, 8, 64, 512, 4096).
    assert [fake.first_name() for _ in range(3000)] == reference.take("first_name", 3000)
    assert [fake.email() for _ in range(600)] == reference.take("email", 600)
    assert fake.records("address", 70) == reference.records("address", 70)
    assert [fake.value("tr_TR/cities") for _ in range(600)] == [
        reference.value("tr_TR/cities") for _ in range(600)
    ]


def test_fields_are_the_model_streams_of_their_column() -> None:
    fake = Phony("en_US", seed=5)
    model = load_model(bundled("en_US/first_names"))
    assert fake.take("first_name", 100) == model.generate(100, seed=column_seed(5, "first_name"))


def test_the_nth_first_name_last_name_email_and_name_belong_to_one_person() -> None:
    fake = Phony("tr_TR", seed=11)
    for _ in range(50):
        first, last, email, name = fake.first_name(), fake.last_name(), fake.email(), fake.name()
        assert name == f"{first} {last}"
        assert email.startswith(f"{ascii_fold(first)}.{ascii_fold(last)}")
        assert "@" in email


def test_records_are_the_rows_of_phony_generate(run_phony: RunPhony) -> None:
    result = run_phony(
        "generate", "--schema", "person", "--locale", "tr_TR", "--seed", "42",
        "--count", "40", "--format", "csv", check=True,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    fake = Phony("tr_TR", seed=42)
    assert fake.records("person", 40) == rows
    # Field by field, the same columns.
    again = Phony("tr_TR", seed=42)
    assert again.take("first_name", 40) == [r["first_name"] for r in rows]
    assert again.take("email", 40) == [r["email"] for r in rows]
    assert again.take("city", 40) == [r["city"] for r in rows]
    # record() continues where records() stopped.
    more = run_phony(
        "generate", "--schema", "person", "--locale", "tr_TR", "--seed", "42",
        "--count", "41", "--format", "jsonl", check=True,
    )  # fmt: skip
    assert fake.record("person") == json.loads(more.stdout.splitlines()[-1])


def test_value_reads_bundled_then_installed_models_as_phony_generate(run_phony: RunPhony) -> None:
    # Nothing installed: the bundled official index serves the name.
    before = Phony(seed=7)
    first = [before.value("tr_TR/first_names") for _ in range(25)]
    run_phony("install", "tr_TR", check=True)
    printed = run_phony(
        "generate", "tr_TR/first_names", "--seed", "7", "--count", "25", check=True
    ).stdout.splitlines()
    assert first == printed
    # Installed: the cache answers through the phony_resolve_model hook.
    after = Phony(seed=7)
    assert [after.value("tr_TR/first_names@^1") for _ in range(25)] == printed


def test_value_of_a_pulled_community_model_and_of_a_file(
    tmp_path: Path, run_phony: RunPhony
) -> None:
    names = tmp_path / "names.txt"
    names.write_text("\n".join(["deniz", "umut", "ece", "ada", "ilker", "nur", "can"]) + "\n")
    model = tmp_path / "names.phony"
    registry = tmp_path / "team-registry"
    run_phony("train", str(names), "-o", str(model), check=True)
    run_phony("models", "push", str(model), "alice/names@1.0.0", "--registry", str(registry),
              check=True)  # fmt: skip
    fake = Phony(seed=3)
    with pytest.raises(NotFound, match="phony models pull alice/names@\\^1"):
        fake.value("alice/names@^1")
    run_phony("models", "pull", "alice/names@^1", "--registry", str(registry), check=True)
    printed = run_phony(
        "generate", "alice/names", "--seed", "3", "--count", "15", check=True
    ).stdout.splitlines()
    assert [fake.value("alice/names@^1") for _ in range(15)] == printed
    from_file = Phony(seed=3)
    assert [from_file.value(str(model)) for _ in range(15)] == printed


@pytest.mark.usefixtures("de_plugin")
def test_a_plugin_locale_adds_its_fields_and_a_chain_falls_back() -> None:
    de = Phony("de_DE", seed=4)
    assert {"first_name", "last_name", "city", "street", "name"} <= set(dir(de))
    assert "company" not in de.fields()  # the de_DE pack has no companies model
    model = load_model(model_in_folder(get_plugins().locales["de_DE"].path, "de_DE/first_names"))
    assert de.take("first_name", 30) == model.generate(30, seed=column_seed(4, "first_name"))
    with pytest.raises(NotFound, match=r"de_DE has no model 'companies'.*\['de_DE', 'en_US'\]"):
        de.company()
    chain = Phony(["de_DE", "en_US"], seed=4)
    assert "company" in chain.fields()
    assert chain.take("first_name", 30) == Phony("de_DE", seed=4).take("first_name", 30)
    assert chain.take("company", 30) == Phony("en_US", seed=4).take("company", 30)
    assert Phony("de-DE,en_US", seed=4).locales == ("de_DE", "en_US")


@pytest.mark.usefixtures("de_plugin")
def test_a_plugin_locale_schema_gives_the_records_phony_generate_writes(
    run_phony: RunPhony,
) -> None:
    # The de_DE plugin registers its own `person` (German e-mail domains): the
    # facade's records are that schema's rows, not the generic schema's.
    result = run_phony(
        "generate", "--schema", "person", "--locale", "de_DE", "--seed", "7",
        "--count", "20", "--format", "csv", check=True,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert all(row["email"].endswith(".de") for row in rows)
    assert Phony("de_DE", seed=7).records("person", 20) == rows
    assert Phony("de_DE", seed=7).take("email", 20) == [row["email"] for row in rows]


def test_without_the_plugin_de_de_has_no_fields() -> None:
    de = Phony("de_DE", seed=4)
    assert de.fields() == []
    with pytest.raises(NotFound, match="de_DE has no model 'first_names'"):
        de.first_name()


def _pack_with_a_new_model(tmp_path: Path) -> Path:
    """A signed static registry folder of fr_FR with one model, ``dog_names``, as plugins ship."""
    import phony_locale_de_de

    source = phony_locale_de_de.REGISTRY
    line = json.loads((source / "index" / "de_de" / "cities.jsonl").read_text())
    blob = to_local(source, blob_path(line["digest"])).read_bytes()
    key = PrivateKey.generate()
    manifest = Manifest.model(
        "fr_FR/dog_names", "1.0.0", digest=digest_bytes(blob), size=len(blob),
        format_version=line["format_version"], kind="dog_name", locale="fr_FR",
    ).signed(key)  # fmt: skip
    files = {
        blob_path(manifest.digest or ""): blob,
        manifest_path(manifest.name, "1.0.0"): manifest.to_bytes(),
        index_path(manifest.name): render_index([IndexEntry.for_manifest(manifest)]),
        registry_key_path(): key.public_key.to_pem(),
    }
    now = datetime.now(UTC)
    snapshot = Snapshot(
        version=1,
        created=format_time(now),
        expires=format_time(now + timedelta(days=30)),
        files={index_path(manifest.name): FileInfo.of(files[index_path(manifest.name)])},
    ).signed(key)
    files[snapshot_path()] = snapshot.to_bytes()
    folder = tmp_path / "fr-pack"
    for path, data in files.items():
        target = to_local(folder, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def test_fields_are_discovered_from_what_plugins_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _pack_with_a_new_model(tmp_path)

    class DogPack:
        @hookimpl
        def phony_register_locales(self, register: Callable[[LocaleSource], None]) -> None:
            register(LocaleSource("fr_FR", folder))

    plugins: Plugins = load_plugins(extra={"dog-pack": DogPack()})
    monkeypatch.setattr("phony_registry.plugins.get_plugins", lambda: plugins)
    fake = Phony("fr_FR", seed=8)
    assert fake.fields() == ["dog_name"]
    assert "dog_name" in dir(fake)
    model = load_model(model_in_folder(folder, "fr_FR/dog_names"))
    expected = model.generate(5, seed=column_seed(8, "dog_name"))
    assert [fake.dog_name() for _ in range(5)] == expected
    assert fake.dog_name is fake.__dict__["dog_name"]  # later calls skip __getattr__
    bound = fake.dog_name
    fake.seed_instance(8)
    assert [bound() for _ in range(5)] == expected


def test_unknown_attributes_and_bad_arguments_are_clear() -> None:
    fake = Phony("tr_TR", seed=1)
    with pytest.raises(AttributeError, match=r"has no field 'shoe_size'.*first_name"):
        fake.shoe_size()  # type: ignore[operator]
    assert not hasattr(fake, "shoe_size")
    assert repr(fake) == "<Phony tr_TR seed=1>"
    with pytest.raises(UsageError, match="not a locale"):
        Phony("turkish")
    with pytest.raises(UsageError, match="seed must be"):
        Phony("tr_TR", seed=-1)
    with pytest.raises(UsageError, match="buffer"):
        Phony("tr_TR", buffer=0)
    with pytest.raises(UsageError, match="ready schemas: address, company, person"):
        fake.record("spaceship")
    with pytest.raises(NotFound, match="alice/missing"):
        fake.value("alice/missing@^1")


def test_seed_instance_and_random_seeds() -> None:
    fake = Phony("en_US", seed=3)
    first = [fake.first_name() for _ in range(5)]
    fake.seed_instance(3)
    assert [fake.first_name() for _ in range(5)] == first
    assert Phony("en_US").seed != Phony("en_US").seed  # seed=None picks one, kept in .seed
    unseeded = Phony("en_US")
    replay = Phony("en_US", seed=unseeded.seed)
    assert unseeded.take("city", 10) == replay.take("city", 10)


def test_a_schema_file_is_a_record_source(tmp_path: Path) -> None:
    schema = tmp_path / "user.toml"
    schema.write_text(
        '[columns.given]\ntype = "ngram"\nmodel = "first_names"\n\n'
        '[columns.family]\ntype = "ngram"\nmodel = "tr_TR/last_names"\n\n'
        '[columns.age]\ntype = "integer"\nmin = 18\nmax = 90\n'
    )
    rows = Phony(["en_US"], seed=2).records(str(schema), 20)
    assert [list(r) for r in rows] == [["given", "family", "age"]] * 20
    assert all(18 <= int(r["age"]) <= 90 for r in rows)
    assert rows == Phony("en_US", seed=2).records(str(schema), 20)


def test_importing_and_building_a_phony_loads_no_numpy() -> None:
    code = (
        "import sys\n"
        "from phony_registry import Phony\n"
        "fake = Phony(['tr_TR', 'en_US'], seed=1)\n"
        "names = dir(fake)\n"
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("field", ["first_name", "name", "email", "street_name"])
def test_a_bound_method_follows_seed_instance(field: str) -> None:
    fresh = Phony("tr_TR", seed=99).take(field, 3)
    fake = Phony("tr_TR", seed=3)
    getattr(fake, field)()
    after_a_call = getattr(fake, field)
    fake.seed_instance(99)
    before_a_call = getattr(fake, field)
    assert [after_a_call() for _ in range(3)] == fresh
    fake.seed_instance(99)
    assert [before_a_call() for _ in range(3)] == fresh
    # The same stream as the instance's own calls and take(), not a copy of it.
    fake.seed_instance(99)
    assert [after_a_call(), getattr(fake, field)(), *fake.take(field, 1)] == fresh


@pytest.mark.parametrize(
    "count",
    [-1, 2.5, "3", None, True, 100_000_001, sys.maxsize, sys.maxsize + 1, 10**30],
    ids=["negative", "float", "str", "none", "bool", "max+1", "maxsize", "maxsize+1", "10**30"],
)
@pytest.mark.parametrize("method", ["records", "take"])
def test_a_count_out_of_range_is_a_usage_error_naming_the_maximum(method: str, count: Any) -> None:
    fake = Phony("tr_TR", seed=1)
    call = fake.records if method == "records" else fake.take
    first = "person" if method == "records" else "first_name"
    with pytest.raises(UsageError, match=r"count must be an integer from 0 to 100,000,000"):
        call(first, count)
    # Nothing was drawn: the stream is where it was.
    assert call(first, 2) == getattr(Phony("tr_TR", seed=1), method)(first, 2)


def test_the_maximum_count_itself_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_phony, "MAX_COUNT", 5)
    fake = Phony("tr_TR", seed=1)
    assert len(fake.take("city", 5)) == len(fake.records("address", 5)) == 5
    with pytest.raises(UsageError, match=r"from 0 to 5 \(.*\), not 6"):
        fake.take("city", 6)


def _pickled(fake: Phony) -> Phony:
    # S301: the bytes are the ones this test just pickled.
    copied: Phony = pickle.loads(pickle.dumps(fake))  # noqa: S301
    return copied


@pytest.mark.parametrize("duplicate", [_pickled, copy.deepcopy, copy.copy])
def test_a_copy_or_a_pickled_phony_goes_on_from_where_the_original_was(
    duplicate: Callable[[Phony], Phony],
) -> None:
    # As a Faker instance does: deepcopy, or sending it to a process started with
    # spawn, gives the same values next, the streams not yet drawn included.
    fake = Phony(["tr_TR", "en_US"], seed=11, buffer=4)
    fake.first_name()
    fake.take("street", 9)
    fake.street_name()  # street's stream under Faker's name
    fake.name()
    fake.value("tr_TR/cities")
    fake.records("address", 3)
    twin = duplicate(fake)
    assert (twin.locales, twin.seed) == (fake.locales, fake.seed)
    for draw in (
        lambda f: f.take("first_name", 20),
        lambda f: [f.street(), f.street_name(), f.street()],
        lambda f: f.take("name", 5),
        lambda f: [f.value("tr_TR/cities") for _ in range(5)],
        lambda f: f.records("address", 2),
        lambda f: f.take("email", 5),
        lambda f: [f.city()],
    ):
        assert draw(twin) == draw(fake)
    # A copy is a copy: drawing from it leaves the original where it was.
    ahead = duplicate(fake)
    ahead.take("first_name", 3)
    assert fake.take("first_name", 3) == ahead.seed_instance(11).take("first_name", 24)[21:]


def test_locale_none_is_the_default_locale_as_with_faker() -> None:
    # Faker(None) is Faker's default locale; code passing an optional setting through
    # (Phony(settings.locale)) must not meet a TypeError.
    assert Phony(None, seed=1).locales == Phony(seed=1).locales == ("en_US",)
    assert Phony(locale=None, seed=1).first_name() == Phony(seed=1).first_name()
    assert find(ps.values("first_names", locale=None), bool)


@pytest.mark.parametrize(
    "locale", [42, 3.5, b"tr_TR", object()], ids=["int", "float", "bytes", "object"]
)
def test_a_locale_that_is_no_string_nor_list_is_a_usage_error(locale: Any) -> None:
    with pytest.raises(UsageError, match=r"a locale is a string such as tr_TR.*not ") as error:
        Phony(locale)
    assert str(error.value).endswith(f"not {locale!r}")


def test_model_and_schema_files_by_path_and_missing_ones_as_the_cli_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model = bundled("tr_TR/cities")
    schema = tmp_path / "user.toml"
    schema.write_text('[columns.city]\ntype = "ngram"\nmodel = "cities"\n')
    # A pathlib.Path is a file as its str is.
    assert Phony(seed=5).value(model) == Phony(seed=5).value(str(model))
    assert Phony(seed=5).records(schema, 3) == Phony(seed=5).records(str(schema), 3)
    # A .phony file that is not there is a missing file (as for phony generate),
    # not a model role 'missing.phony' of the locale.
    for missing in ("missing.phony", Path("missing.phony")):
        with pytest.raises(UsageError, match=r"^missing\.phony: no such model file$"):
            Phony(seed=5).value(missing)
    with pytest.raises(UsageError, match=r"^missing\.toml: no such schema file$"):
        Phony(seed=5).records(Path("missing.toml"))
    (tmp_path / "models.phony").mkdir()
    with pytest.raises(UsageError, match=r"^models\.phony is a folder, not a model file$"):
        Phony(seed=5).value("models.phony")


def test_fakers_class_wide_seed_idiom_is_a_clear_usage_error() -> None:
    # Faker.seed(0) seeds every instance; phony has no class-wide seed, and a
    # migrated Phony.seed(0) should say what to write instead.
    with pytest.raises(UsageError, match=r"Phony\(seed=0\).*seed_instance\(0\)"):
        Phony.seed(0)
    assert Phony(seed=12).seed == 12
    assert isinstance(Phony().seed, int)


def test_numpy_integers_are_seeds_and_counts_as_python_ints_are() -> None:
    # A seed from numpy (rng.integers(), an array's item) reads "3" in a message
    # that refused it; it is an integer, as operator.index says.
    import numpy as np

    assert Phony(seed=np.int64(3)).take("city", np.int32(4)) == Phony(seed=3).take("city", 4)
    assert Phony(seed=np.uint64(2**64 - 1)).seed == 2**64 - 1
    assert Phony(seed=1).seed_instance(np.int16(3)).records("person", np.int8(2)) == Phony(
        seed=3
    ).records("person", 2)
    assert type(Phony(seed=np.int64(3)).seed) is int
    with pytest.raises(UsageError, match="seed must be an integer"):
        Phony(seed=np.float64(3.0))
    with pytest.raises(UsageError, match="seed must be an integer"):
        Phony(seed=np.bool_(True))
