"""phony-acme: a plugin written from phony's guide, as an author outside the project would.

German IBANs (``acme_iban``), an XML output format (``xml``), the ``xx_XX``
locale pack with its own ``person`` schema, and ``phony acme iban-check``.
``PHONY_ACME_FAULT`` injects a fault (``import``, ``hook``, ``build``,
``generate``, ``write`` or ``command``) for phony's tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from phony_registry.errors import ValidationError
from phony_registry.generators import BuildContext, ColumnStream, GeneratorFactory, argument
from phony_registry.hookspecs import hookimpl
from phony_registry.outputs import OutputFormat, check_options
from phony_registry.plugins import LocaleSource, SchemaSource

FAULT = os.environ.get("PHONY_ACME_FAULT", "")
if FAULT == "import":
    raise RuntimeError("acme: injected fault at import")

#: The xx_XX pack, built by `phony locale build pack/pack.toml -o registry`.
REGISTRY = Path(__file__).resolve().parent / "registry"


def iban_check_digits(bank_code: str, account: str) -> str:
    """The two check digits of the German IBAN for ``bank_code`` and ``account`` (ISO 13616)."""
    # "DE" moved to the end as digits (D=13, E=14) with "00" for the check digits.
    remainder = int(f"{bank_code}{account}131400") % 97
    return f"{98 - remainder:02d}"


def is_valid_iban(iban: str) -> bool:
    """True for an IBAN whose check digits are right (mod 97 == 1)."""
    text = iban.replace(" ", "").upper()
    if len(text) < 5 or not text.isalnum():
        return False
    moved = text[4:] + text[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


class IbanGenerator:
    """German IBANs: one raw value of the column's stream per row."""

    requires: Sequence[str] = ()

    def __init__(self, bank_code: str | None) -> None:
        self.bank_code = bank_code

    def seek(self, stream: ColumnStream, row: int) -> bool:
        stream.advance(row)
        return True

    def generate(
        self, n: int, stream: ColumnStream, inputs: Mapping[str, Sequence[str]]
    ) -> list[str]:
        if FAULT == "generate":
            raise ArithmeticError("acme: injected fault in generate")
        values = []
        for number in stream.below(n, 10**18).tolist():  # 8-digit bank code + 10-digit account
            digits = f"{int(number):018d}"
            bank, account = self.bank_code or digits[:8], digits[8:]
            values.append(f"DE{iban_check_digits(bank, account)}{bank}{account}")
        return values


def build_iban(args: Mapping[str, Any], context: BuildContext) -> IbanGenerator:
    """Check ``bank_code`` (8 digits, text or a number) and make the generator."""
    if FAULT == "build":
        raise ValueError("acme: injected fault in build")
    code = argument(args, context, "bank_code", (str, int), None)
    if code is None:
        return IbanGenerator(None)
    text = f"{code:08d}" if isinstance(code, int) else code
    if len(text) != 8 or not text.isdigit():
        raise ValidationError("expected 8 digits", field=context.field("bank_code"))
    return IbanGenerator(text)


class XmlWriter:
    """``<rows><row><name>...</name></row>...</rows>``, escaped, UTF-8."""

    def __init__(self, stream: BinaryIO, names: Sequence[str], options: Mapping[str, str]) -> None:
        check_options("xml", options, XML.options)
        self.stream = stream
        self.root = options.get("root", "rows")
        self.row = options.get("row", "row")
        self.names = list(names)
        stream.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.root}>\n'.encode())

    def write(self, columns: Sequence[Sequence[str]]) -> None:
        if FAULT == "write":
            raise RuntimeError("acme: injected fault in write")
        parts = []
        for row in zip(*columns, strict=True):
            cells = "".join(
                f"<{name}>{escape(value)}</{name}>"
                for name, value in zip(self.names, row, strict=True)
            )
            parts.append(f"  <{self.row}>{cells}</{self.row}>\n")
        self.stream.write("".join(parts).encode())

    def close(self) -> None:
        self.stream.write(f"</{self.root}>\n".encode())


XML = OutputFormat(
    name="xml",
    extension="xml",
    description="an XML document, one element per row",
    open=XmlWriter,
    options={"root": "the root element (default rows)", "row": "each row's element (default row)"},
)


@hookimpl
def phony_register_generators(register: Callable[[GeneratorFactory], None]) -> None:
    """Register acme_iban."""
    if FAULT == "hook":
        raise LookupError("acme: injected fault in a hook")
    register(
        GeneratorFactory(
            name="acme_iban",
            description="German IBANs with valid check digits",
            build=build_iban,
            arguments={"bank_code": "the 8-digit bank code (default: random)"},
        )
    )


@hookimpl
def phony_register_formats(register: Callable[[OutputFormat], None]) -> None:
    """Register xml."""
    register(XML)


@hookimpl
def phony_register_locales(register: Callable[[LocaleSource], None]) -> None:
    """Register the xx_XX pack, once built."""
    if (REGISTRY / "snapshot.json").exists() or (REGISTRY / "index").exists():
        register(LocaleSource(locale="xx_XX", path=REGISTRY, description="Xanadu, made up"))


@hookimpl
def phony_register_schemas(register: Callable[[SchemaSource], None]) -> None:
    """Register xx_XX's own person schema."""
    for path in sorted((REGISTRY / "schemas").glob("*.toml")):
        register(SchemaSource(name=path.stem, path=path, locale="xx_XX"))


@hookimpl
def phony_register_commands(cli: Any) -> None:
    """Add ``phony acme iban-check``."""
    import click

    @click.group()
    def acme() -> None:
        """ACME's tools."""

    @acme.command("iban-check")
    @click.argument("ibans", nargs=-1, required=True)
    def iban_check(ibans: tuple[str, ...]) -> None:
        """Say whether each IBAN's check digits are right."""
        if FAULT == "command":
            raise KeyError("acme: injected fault in a command")
        for iban in ibans:
            click.echo(f"{iban} {'valid' if is_valid_iban(iban) else 'INVALID'}")

    cli.add_command(acme)
