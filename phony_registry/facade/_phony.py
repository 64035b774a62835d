"""The :class:`Phony` facade: ``fake.first_name()`` for every model of the locale packs."""

from __future__ import annotations

import operator
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, overload

from phony_registry.errors import NotFound, UsageError
from phony_registry.facade import _sources
from phony_registry.facade._streams import Stream, next_value, prefix_batches

if TYPE_CHECKING:
    from phony_registry.model import Model
    from phony_registry.schema import Schema

__all__ = ["Field", "Phony"]

#: Default size of the first run of each field (later runs grow, see _streams).
DEFAULT_BUFFER = 256
#: Most values (or records) :meth:`Phony.take` and :meth:`Phony.records` give
#: at once. They return lists: far more would not fit in memory, and a count
#: past it is a mistake better said at once than after minutes of swapping.
MAX_COUNT = 100_000_000


@dataclass(frozen=True)
class Field:
    """What a field method draws from.

    ``model``: the model ``role`` of the locale chain (``first_names``);
    ``column``: a column of a ready ``schema``; ``template``: other fields
    joined by spaces (``name`` is ``first_name last_name``); ``alias``: another
    field under a name Faker users know (``street_name``).
    """

    name: str
    kind: str
    role: str = ""
    schema: str = ""
    column: str = ""
    parts: tuple[str, ...] = ()


# The fields of the bundled official packs, declared below as methods so that
# editors and type checkers know them; tests/python_api checks this table
# against what discovery finds in the bundled index.
_DECLARED: dict[str, Field] = {
    f.name: f
    for f in (
        Field("city", "model", role="cities"),
        Field("company", "model", role="companies"),
        Field("first_name", "model", role="first_names"),
        Field("first_name_female", "model", role="first_names_female"),
        Field("first_name_male", "model", role="first_names_male"),
        Field("last_name", "model", role="last_names"),
        Field("street", "model", role="streets"),
        Field("contact", "column", schema="company", column="contact"),
        Field("email", "column", schema="person", column="email"),
        Field("number", "column", schema="address", column="number"),
        Field("name", "template", parts=("first_name", "last_name")),
        Field("street_name", "alias", parts=("street",)),
    )
}
_EXTRA = ("name", "street_name")


def _integer(value: object) -> int | None:
    """``value`` as an int if it is an integer (numpy's included, as ``operator.index`` says).

    ``True`` is not a seed nor a count, whatever ``bool`` subclasses.
    """
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]  # anything: TypeError says no
    except TypeError:
        return None


def _check_seed(seed: int) -> int:
    number = _integer(seed)
    if number is None or not 0 <= number < 2**128:
        raise UsageError(f"seed must be an integer from 0 to 2**128-1, not {seed!r}")
    return number


def _check_count(count: int) -> int:
    number = _integer(count)
    if number is None or not 0 <= number <= MAX_COUNT:
        raise UsageError(
            f"count must be an integer from 0 to {MAX_COUNT:,} (the most given at once; "
            f"ask again for more), not {count!r}"
        )
    return number


class _Seed:
    """:attr:`Phony.seed`: an instance's seed, read-only; on the class, Faker's ``seed(n)``.

    ``Faker.seed(0)`` seeds every Faker instance at once; phony has no such
    global state, and a migrated ``Phony.seed(0)`` gets a :class:`UsageError`
    saying what to write rather than "'property' object is not callable".
    """

    @overload
    def __get__(self, instance: None, owner: type[Phony]) -> Callable[..., NoReturn]: ...
    @overload
    def __get__(self, instance: Phony, owner: type[Phony]) -> int: ...
    def __get__(self, instance: Phony | None, owner: type[Phony]) -> int | Callable[..., NoReturn]:
        if instance is None:
            return _class_wide_seed
        return instance._seed

    def __set__(self, instance: Phony, value: object) -> NoReturn:
        raise AttributeError(f"seed is read-only: fake.seed_instance({value!r}) reseeds")


def _class_wide_seed(seed: object = None, *_: object) -> NoReturn:
    raise UsageError(
        "Phony has no class-wide seed (Faker.seed): give each instance its own, "
        f"Phony(seed={seed!r}), or reseed one with fake.seed_instance({seed!r})"
    )


class Phony:
    """Fake values from phony's models, Faker-style: ``Phony("tr_TR", seed=42).first_name()``.

    ``locale`` is one locale or a fallback chain (``["tr_TR", "en_US"]``, or
    ``"tr_TR,en_US"``): each field comes from the first locale whose pack has
    its model (``None``, as for Faker, is the default, ``en_US``). Each model
    of the installed packs, and each official model of the locale in the
    local cache, is a method named in the
    singular (``first_names`` -> :meth:`first_name`), each column of a ready
    schema too (:meth:`email`); ``dir(fake)`` lists them, :meth:`fields` too.

    Deterministic: with a ``seed``, the n-th call of a field gives the same
    value on every run, whatever ``buffer`` (the size of the first batch the
    field draws; later batches grow). Field ``f`` gives, call after call, the
    column ``f`` of the ready schemas (``first_name`` that of ``phony generate
    --schema person --locale L --seed S``), so the n-th :meth:`first_name`,
    :meth:`last_name` and :meth:`email` belong to one person. ``seed=None``
    picks a random seed, kept in :attr:`seed`.

    Threads may share an instance: each value of a stream goes to one call,
    in whatever order the threads come (give each thread its own instance
    and seed for values that do not depend on that order). An instance, and
    a field method taken from one, pickles and copies with how far each
    stream went, and the copy goes on from there.
    """

    def __init__(
        self,
        locale: str | Iterable[str] | None = _sources.DEFAULT_LOCALE,
        seed: int | None = None,
        *,
        buffer: int = DEFAULT_BUFFER,
    ) -> None:
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise UsageError(f"buffer must be a positive integer, not {buffer!r}")
        self._chain = _sources.locale_chain(locale)
        self._buffer = buffer
        self._discovered: dict[str, Field] | None = None
        # One stream per field (an alias draws from its field's), model and
        # schema; made once, even by threads asking at the same time.
        self._streams: dict[tuple[str, str], Stream[Any]] = {}
        self._lock = threading.RLock()
        # Values a stream skips when made: where a pickled instance's streams were.
        self._skip: dict[tuple[str, str], int] = {}
        self._schemas: dict[str, Schema] = {}
        self._seed = _check_seed(secrets.randbits(64) if seed is None else seed)

    def __repr__(self) -> str:
        return f"<Phony {','.join(self._chain)} seed={self._seed}>"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and :func:`copy.deepcopy`) as locales, seed and how far each stream went.

        The copy goes on from where this instance was, as a copied Faker does;
        its streams are made again (and skip what was drawn) when first drawn.
        """
        with self._lock:
            given = {key: stream.position() for key, stream in self._streams.items()}
            skip = {**self._skip, **{key: n for key, n in given.items() if n}}
        return _revive, (type(self), self._chain, self._seed, self._buffer, skip)

    # -- seeding ------------------------------------------------------------

    #: The seed every field, value and record stream derives from (read-only:
    #: :meth:`seed_instance` changes it). ``Phony.seed(n)``, Faker's class-wide
    #: seed, is a :class:`UsageError` saying what to write instead.
    seed = _Seed()

    @property
    def locales(self) -> tuple[str, ...]:
        """The locale chain, first choice first."""
        return self._chain

    def seed_instance(self, seed: int | None = None) -> Phony:
        """Start every stream again from ``seed`` (a random one if ``None``), as Faker's does."""
        new = _check_seed(secrets.randbits(64) if seed is None else seed)
        with self._lock:
            self._seed = new
            self._skip.clear()
            # The streams stay (a caller may hold a method, f = fake.first_name):
            # their next draw starts them again from the new seed.
            for stream in self._streams.values():
                stream.reset()
        return self

    # -- discovery ------------------------------------------------------------

    def fields(self) -> list[str]:
        """The field methods this locale chain offers, sorted."""
        return sorted(self._fields())

    def __dir__(self) -> Iterable[str]:
        return sorted({*super().__dir__(), *self._fields()})

    def _fields(self) -> dict[str, Field]:
        if self._discovered is None:
            self._discovered = _discover(self._chain)
        return self._discovered

    def _field(self, name: str) -> Field | None:
        # A declared field needs no discovery: a chain without its model says so on use.
        return _DECLARED.get(name) or self._fields().get(name)

    def __getattr__(self, name: str) -> Callable[[], str]:
        if name.startswith("_"):
            raise AttributeError(name)
        field = self._fields().get(name)
        if field is None:
            known = ", ".join(self.fields())
            raise AttributeError(
                f"{type(self).__name__} for {','.join(self._chain)} has no field {name!r} "
                f"(fields: {known})"
            )
        return self._install(name)

    # -- drawing ------------------------------------------------------------

    def _install(self, name: str) -> Callable[[], str]:
        """Make ``name`` a method in the instance: later calls skip every lookup.

        The method draws from the field's stream, which :meth:`seed_instance`
        starts again under a method a caller already holds.
        """
        with self._lock:
            method: _Method | None = self.__dict__.get(name)
            if method is None:
                method = self.__dict__[name] = _Method(self, name, self._stream(name))
        return method

    def _draw(self, name: str) -> str:
        # Reached through a method bound before the first call (f = fake.first_name).
        installed: Callable[[], str] | None = self.__dict__.get(name)
        return (installed or self._install(name))()

    def _stream(self, name: str) -> Stream[str]:
        field = self._field(name)
        if field is None:
            raise AttributeError(name)
        if field.kind == "alias":
            return self._stream(field.parts[0])
        key = ("field", name)
        stream = self._streams.get(key)
        if stream is None:
            dry = f"{name} ({','.join(self._chain)}) cannot produce more values"
            stream = self._new_stream(key, lambda: self._field_batches(name), dry)
        return stream

    def _new_stream(
        self, key: tuple[str, str], make: Callable[[], Iterator[list[Any]]], dry: str
    ) -> Stream[Any]:
        """The stream ``key``, made by the first caller (past what a pickled instance drew)."""
        with self._lock:
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = Stream(make, dry, self._skip.pop(key, 0))
        return stream

    def _field_batches(self, name: str) -> Iterator[list[str]]:
        from phony_registry.generators import column_seed

        field = self._field(name)
        if field is None:
            raise AttributeError(name)
        if field.kind == "alias":
            return self._field_batches(field.parts[0])
        if field.kind == "template":
            # Fresh streams of the parts (not the part fields' own): the n-th name
            # joins the n-th first name and the n-th last name.
            return _joined([self._field_batches(p) for p in field.parts])
        if field.kind == "column":
            schema = self._schema(field.schema)
            index = schema.names.index(field.column)
            return self._table(schema, lambda batch: batch[index])
        model = self._model_for_role(field.role)
        return self._model_batches(model, column_seed(self._seed, name))

    def _model_for_role(self, role: str) -> Model:
        return _sources.load_model_file(_sources.resolve_role(self._chain, role)[1])

    def _model_batches(self, model: Model, seed: int) -> Iterator[list[str]]:
        def produce(count: int) -> Iterator[list[str]]:
            return model.iter_batches(count, seed)

        return prefix_batches(produce, self._buffer)

    def _schema(self, spec: str) -> Schema:
        schema = self._schemas.get(spec)
        if schema is None:
            schema = self._schemas[spec] = _sources.ready_schema(spec, self._chain)
        return schema

    def _table(
        self, schema: Schema, pick: Callable[[list[list[str]]], list[Any]]
    ) -> Iterator[list[Any]]:
        from phony_registry.schema import generate_table

        seed = self._seed

        def produce(count: int) -> Iterator[list[Any]]:
            for batch in generate_table(schema, count, seed):
                yield pick(batch)

        return prefix_batches(produce, self._buffer)

    # -- any model, records -----------------------------------------------------

    def value(self, spec: str | os.PathLike[str]) -> str:
        """The next value of any model: a name (``alice/names@^1``, ``tr_TR/first_names``),
        a model role of the locale chain (``first_names``) or a ``.phony`` file.

        The n-th call gives line n of ``phony generate SPEC --seed SEED``. A
        name is found in the plugins' locale packs, the local cache (after
        ``phony install`` or ``phony models pull``) and the bundled official index.
        """
        spec = os.fspath(spec)
        key = ("value", spec)
        stream = self._streams.get(key)
        if stream is None:
            dry = f"model {spec!r} cannot produce more values"
            stream = self._new_stream(
                key, lambda: self._model_batches(self._model(spec), self._seed), dry
            )
        value: str = next_value(stream)
        return value

    def _model(self, spec: str) -> Model:
        path = Path(spec).expanduser()
        if path.is_file():
            return _sources.load_model_file(path)
        # As phony generate: a .phony that is not a file is a mistake, not a model name.
        if spec.endswith(".phony"):
            if path.is_dir():
                raise UsageError(f"{spec} is a folder, not a model file")
            raise UsageError(f"{spec}: no such model file")
        if "/" not in spec.partition("@")[0]:
            return self._model_for_role(spec)
        found = _sources.find_model(spec)
        if found is None:
            raise NotFound(
                f"model {spec!r} not found in the locale packs, the cache or the bundled "
                f"index; pull it with `phony models pull {spec}`"
            )
        return _sources.load_model_file(found)

    def record(self, schema: str | os.PathLike[str] = "person") -> dict[str, str]:
        """The next record of a ready schema (``person``, ``address``, ``company``) or a
        schema file: row n of ``phony generate --schema SCHEMA --locale L --seed SEED``.
        """
        return self.records(schema, 1)[0]

    def records(
        self, schema: str | os.PathLike[str] = "person", count: int = 1
    ) -> list[dict[str, str]]:
        """The next ``count`` records of ``schema`` (see :meth:`record`).

        At most :data:`MAX_COUNT` at once.
        """
        count = _check_count(count)
        schema = os.fspath(schema)
        key = ("records", schema)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._new_stream(
                key, lambda: self._rows(schema), f"schema {schema!r} cannot produce more records"
            )
        records: list[dict[str, str]] = stream.take(count)
        return records

    def _rows(self, spec: str) -> Iterator[list[dict[str, str]]]:
        table = self._schema(spec)
        names = table.names

        def rows(batch: list[list[str]]) -> list[dict[str, str]]:
            return [dict(zip(names, row, strict=True)) for row in zip(*batch, strict=True)]

        return self._table(table, rows)

    def take(self, field: str, count: int) -> list[str]:
        """The next ``count`` values of ``field`` at once (the same as ``count`` calls).

        At most :data:`MAX_COUNT` at once.
        """
        count = _check_count(count)
        if field not in self.__dict__ and self._field(field) is None:
            raise AttributeError(f"no field {field!r} (fields: {', '.join(self.fields())})")
        return self._stream(field).take(count)

    # -- the fields of the bundled packs, for editors ---------------------------
    # Any other field a plugin's pack brings arrives through __getattr__.

    def city(self) -> str:
        """A city (the pack's ``cities`` model)."""
        return self._draw("city")

    def company(self) -> str:
        """A company name (the pack's ``companies`` model)."""
        return self._draw("company")

    def contact(self) -> str:
        """A contact person: the ``contact`` column of the ready schema ``company``."""
        return self._draw("contact")

    def email(self) -> str:
        """An e-mail address: the ``email`` column of the ready schema ``person``.

        The n-th address is made from the n-th :meth:`first_name` and :meth:`last_name`.
        """
        return self._draw("email")

    def first_name(self) -> str:
        """A first name (the pack's ``first_names`` model)."""
        return self._draw("first_name")

    def first_name_female(self) -> str:
        """A female first name (the pack's ``first_names_female`` model)."""
        return self._draw("first_name_female")

    def first_name_male(self) -> str:
        """A male first name (the pack's ``first_names_male`` model)."""
        return self._draw("first_name_male")

    def last_name(self) -> str:
        """A surname (the pack's ``last_names`` model)."""
        return self._draw("last_name")

    def name(self) -> str:
        """A full name: the n-th :meth:`first_name` and :meth:`last_name`, joined by a space."""
        return self._draw("name")

    def number(self) -> str:
        """A house number: the ``number`` column of the ready schema ``address``."""
        return self._draw("number")

    def street(self) -> str:
        """A street name (the pack's ``streets`` model)."""
        return self._draw("street")

    def street_name(self) -> str:
        """The same as :meth:`street`, under Faker's name."""
        return self._draw("street_name")


class _Method(partial[str]):
    """A field method installed in an instance (``fake.first_name`` once called).

    A :func:`~functools.partial` of :func:`next_value` rather than a closure,
    so that a call stays a ``next()`` away from the value. It pickles and
    copies as a bound method does: the same field of a copy of its instance,
    which goes on from where the original's stream was.
    """

    __self__: Phony
    __name__: str
    __qualname__: str

    def __new__(cls, phony: Phony, name: str, stream: Stream[str]) -> _Method:
        method = super().__new__(cls, next_value, stream)
        method.__self__ = phony
        method.__name__ = method.__qualname__ = name
        method.__doc__ = f"The next {name} of {','.join(phony.locales)}."
        return method

    def __reduce__(self) -> tuple[Any, ...]:
        return getattr, (self.__self__, self.__name__)

    def __repr__(self) -> str:
        return f"<field method {self.__name__} of {self.__self__!r}>"


def _joined(parts: list[Iterator[list[str]]]) -> Iterator[list[str]]:
    """The n-th values of ``parts`` joined by a space, in the batches of the first part."""
    first, *others = parts
    rest = [chain.from_iterable(batches) for batches in others]
    for batch in first:
        columns = [list(islice(values, len(batch))) for values in rest]
        joined = list(map(" ".join, zip(batch, *columns, strict=False)))
        if joined:
            yield joined
        if len(joined) < len(batch):  # a part ran dry
            return


def _revive(
    cls: type[Phony],
    locales: tuple[str, ...],
    seed: int,
    buffer: int,
    skip: dict[tuple[str, str], int],
) -> Phony:
    """A :class:`Phony` as :meth:`Phony.__reduce__` pickled it."""
    fake = cls(locales, seed, buffer=buffer)
    fake._skip.update(skip)
    return fake


def _discover(chain: tuple[str, ...]) -> dict[str, Field]:
    """The fields the packs of ``chain`` offer: their models, ready schema columns, extras."""
    found: dict[str, Field] = {}
    roles: set[str] = set()
    for locale in chain:
        for role in _sources.locale_roles(locale):
            roles.add(role)
            name = _sources.method_name(role)
            found.setdefault(name, Field(name, "model", role=role))
    for column in _sources.ready_schema_columns():
        if column.column not in found and set(column.roles) <= roles:
            found[column.column] = Field(
                column.column, "column", schema=column.schema, column=column.column
            )
    for name in _EXTRA:
        field = _DECLARED[name]
        if all(part in found for part in field.parts):
            found[name] = field
    return found
