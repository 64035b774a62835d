"""Training values for the official locale packs, read from installed Faker and Mimesis.

Only *values* come from the data: lists of first names, surnames, cities,
streets and companies. Faker's and Mimesis's formats, weights and generators
are not used. Both libraries are MIT-licensed development dependencies; they
are needed to rebuild ``registry-index/`` (``scripts/build-index``), never to
install or use the packs.

Every function here is pure over the installed data: the same Faker and
Mimesis versions give the same lists, NFC-normalised, de-duplicated and
sorted by code point, so the build is reproducible.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

from phony_registry.errors import TrainingError, UsageError

__all__ = [  # noqa: RUF022 - plain sorted(), the order tests/test_exported_members.py checks
    "DataSource",
    "ModelData",
    "OFFICIAL_LOCALES",
    "SOURCES",
    "faker_values",
    "locale_models",
    "mimesis_values",
    "normalise",
    "pair_suffixes",
    "read_origin",
]


@dataclass(frozen=True)
class DataSource:
    """An open-data library the official models are trained from."""

    name: str
    distribution: str
    license: str
    copyright: str
    url: str

    @property
    def version(self) -> str:
        """The installed version of the library (the data depends on it)."""
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            raise UsageError(
                f"{self.name} is not installed; rebuilding the official index needs it "
                f"(pip install '.[dev]')"
            ) from None

    def citation(self) -> str:
        """One line naming the library, its version, licence and copyright holder."""
        return f"{self.name} {self.version} ({self.url}), {self.license}, {self.copyright}"


SOURCES: dict[str, DataSource] = {
    "faker": DataSource(
        name="Faker",
        distribution="faker",
        license="MIT",
        copyright="Copyright (c) 2012 Daniele Faraglia",
        url="https://github.com/joke2k/faker",
    ),
    "mimesis": DataSource(
        name="Mimesis",
        distribution="mimesis",
        license="MIT",
        copyright="Copyright (c) 2016-Present Isaak Uchakaev (Likid Geimfari)",
        url="https://github.com/lk-geimfari/mimesis",
    ),
}


@dataclass(frozen=True)
class ModelData:
    """The training values of one official model, with where they came from."""

    locale: str
    name: str
    kind: str
    description: str
    values: tuple[str, ...]
    origins: tuple[str, ...]

    @property
    def sources(self) -> tuple[DataSource, ...]:
        """The libraries the values were read from, in a stable order."""
        keys = sorted({origin.split(":", 1)[0] for origin in self.origins})
        return tuple(SOURCES[key] for key in keys)

    @property
    def license(self) -> str:
        """SPDX expression of the data's licence."""
        return " AND ".join(sorted({source.license for source in self.sources}))

    def source_text(self) -> str:
        """Human-readable provenance: which lists of which library, and their licences."""
        cited = "; ".join(source.citation() for source in self.sources)
        return f"values from {', '.join(self.origins)}. {cited}"


def normalise(values: Iterable[str]) -> list[str]:
    """NFC-normalise, strip, drop empty and duplicate values, and sort by code point."""
    seen = {unicodedata.normalize("NFC", value).strip() for value in values}
    seen.discard("")
    return sorted(seen)


def faker_values(provider: str, locale: str, attribute: str) -> list[str]:
    """The values of ``faker.providers.<provider>.<locale>.Provider.<attribute>``.

    Faker stores some lists as ``{value: weight}`` mappings; only the values
    (the keys) are taken.
    """
    module_name = f"faker.providers.{provider}.{locale}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise UsageError(f"Faker has no {provider} provider for {locale} ({module_name})") from None
    data: Any = getattr(module.Provider, attribute, None)
    if data is None:
        raise TrainingError(f"{module_name}.Provider has no attribute {attribute!r}")
    if isinstance(data, Mapping):
        data = list(data)
    return [str(value) for value in data]


def mimesis_values(language: str, dataset: str, *path: str) -> list[str]:
    """The list at ``path`` in Mimesis's ``datasets/<language>/<dataset>.json``."""
    try:
        folder = resources.files("mimesis").joinpath("datasets", language)
        text = folder.joinpath(f"{dataset}.json").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise UsageError("Mimesis is not installed; rebuilding the index needs it") from None
    where = f"mimesis datasets/{language}/{dataset}.json {'.'.join(path)}"
    data: Any = json.loads(text)
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            raise TrainingError(f"{where}: not found")
        data = data[key]
    if not isinstance(data, list):
        raise TrainingError(f"{where}: not a list")
    return [str(value) for value in data]


def pair_suffixes(stems: Iterable[str], suffixes: list[str]) -> list[str]:
    """Give each street stem one suffix chosen by a stable hash of the stem.

    Mimesis stores street names as stems (``Abakay``) and suffixes
    (``Caddesi``); a model of whole street names is more useful, and pairing
    each stem with one suffix keeps the list as long as the data (a cross
    product would invent most of its values).
    """
    if not suffixes:
        raise TrainingError("no street suffixes to pair with")
    paired = []
    for stem in normalise(stems):
        pick = int.from_bytes(hashlib.sha256(stem.encode("utf-8")).digest()[:4], "big")
        paired.append(f"{stem} {suffixes[pick % len(suffixes)]}")
    return paired


def read_origin(origin: str) -> list[str]:
    """The values an origin string names.

    ``faker:<provider>/<locale> <attribute>`` reads a Faker provider list;
    ``mimesis:<language>/<dataset>.json <dotted.path>`` reads a Mimesis
    dataset list; a path ending in ``name+suffix`` pairs the ``name`` stems
    with the ``suffix`` list beside them (see :func:`pair_suffixes`).
    """
    library, _, rest = origin.partition(":")
    where, _, selector = rest.partition(" ")
    if library == "faker":
        provider, _, locale = where.partition("/")
        return faker_values(provider, locale, selector)
    if library == "mimesis":
        language, _, dataset = where.partition("/")
        dataset = dataset.removesuffix(".json")
        path = selector.split(".")
        if path[-1] == "name+suffix":
            stems = mimesis_values(language, dataset, *path[:-1], "name")
            suffixes = normalise(mimesis_values(language, dataset, *path[:-1], "suffix"))
            return pair_suffixes(stems, suffixes)
        return mimesis_values(language, dataset, *path)
    raise UsageError(f"unknown data origin {origin!r}")


# Per locale: model name -> (kind, description, origins). The origin strings are
# what each model's metadata cites.
_FEMALE = ("faker:person/{f} first_names_female", "mimesis:{m}/person.json names.female")
_MALE = ("faker:person/{f} first_names_male", "mimesis:{m}/person.json names.male")
_SURNAMES = ("faker:person/{f} last_names", "mimesis:{m}/person.json surnames")
_CITIES = ("mimesis:{m}/address.json city",)
_STREETS = ("mimesis:{m}/address.json street.name+suffix",)
_COMPANIES = ("mimesis:{m}/finance.json company.name",)
_RECIPES: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {
    "tr_TR": {
        "first_names": ("first_name", "Turkish first names, female and male", _FEMALE + _MALE),
        "first_names_female": ("first_name", "Turkish female first names", _FEMALE),
        "first_names_male": ("first_name", "Turkish male first names", _MALE),
        "last_names": ("last_name", "Turkish surnames", _SURNAMES),
        "cities": ("city", "Turkish cities (the 81 provinces)", _CITIES),
        "streets": (
            "street",
            "Turkish street names (Caddesi, Sokağı)",  # noqa: RUF001 - Turkish dotless i
            _STREETS,
        ),
        "companies": (
            "company",
            "Turkish company names",
            ("faker:company/{f} large_companies", *_COMPANIES),
        ),
    },
    "en_US": {
        "first_names": ("first_name", "US English first names, female and male", _FEMALE + _MALE),
        "first_names_female": ("first_name", "US English female first names", _FEMALE),
        "first_names_male": ("first_name", "US English male first names", _MALE),
        "last_names": ("last_name", "US English surnames", _SURNAMES),
        "cities": ("city", "US city names", _CITIES),
        "streets": ("street", "US street names (Street, Avenue, ...)", _STREETS),
        "companies": ("company", "US company names", _COMPANIES),
    },
}
# Faker names locales like phony (tr_TR); Mimesis by language (tr).
_MIMESIS_LANGUAGE = {"tr_TR": "tr", "en_US": "en"}

#: The locales the official index ships, in build order.
OFFICIAL_LOCALES: tuple[str, ...] = tuple(sorted(_RECIPES))


def locale_models(locale: str) -> list[ModelData]:
    """The official models of ``locale`` with their training values, sorted by name."""
    try:
        recipes = _RECIPES[locale]
    except KeyError:
        known = ", ".join(OFFICIAL_LOCALES)
        raise UsageError(f"no official data for locale {locale!r} (official: {known})") from None
    models = []
    for name, (kind, description, templates) in sorted(recipes.items()):
        origins = tuple(t.format(f=locale, m=_MIMESIS_LANGUAGE[locale]) for t in templates)
        values = tuple(normalise(v for origin in origins for v in read_origin(origin)))
        if not values:
            raise TrainingError(f"{locale}/{name}: the data gave no values")
        models.append(ModelData(locale, name, kind, description, values, origins))
    return models
