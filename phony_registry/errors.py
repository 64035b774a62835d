"""The one error tree of phony.

Every error that phony raises on purpose derives from :class:`PhonyError`.
The command line turns one into a single line on stderr and the exit code
named by its class; the registry server turns one into a 4xx (or 503) with a
JSON body ``{"error": code, "detail": message}``.

    PhonyError
    ├── UsageError                      bad arguments or options (exit 2)
    ├── ValidationError                 a value that breaks a rule; carries .field
    │   ├── InvalidName                 a model name outside the naming rules
    │   ├── InvalidVersion              not a semantic version or range
    │   └── InvalidManifest             a manifest field is missing or wrong
    ├── ModelFormatError                a .phony file that cannot be read
    │   ├── UnsupportedFormatVersion    a format version newer than this phony
    │   └── DecompressionLimit          inflates past the decompression cap
    ├── TrainingError                   nothing to train on, missing column...
    ├── GenerationError                 e.g. --unique asked more than the model can give
    ├── IntegrityError                  bytes that are not what was promised
    │   ├── DigestMismatch              content hash or size differs
    │   ├── SignatureError              missing, invalid or untrusted signature
    │   ├── RollbackError               snapshot older than one already seen
    │   ├── ExpiredError                snapshot past its expiry (freeze attack)
    │   ├── KeyChangedError             a pinned registry key changed
    │   └── SourceConflict              a registry serving a name that belongs elsewhere
    ├── RegistryError                   a registry said no
    │   ├── NotFound                    no such model, version, tag or digest
    │   ├── AlreadyExists               name@version already published (409)
    │   ├── Unauthorized                no or bad credentials (401)
    │   ├── Forbidden                   credentials not valid for this (403)
    │   ├── PayloadTooLarge             upload over the size cap (413)
    │   ├── RequestTimeout              a request body or download too slow (408)
    │   ├── OfflineError                PHONY_OFFLINE is set and the cache cannot answer
    │   └── RegistryUnavailable         network or storage failure (503)
    ├── CacheError                      the local cache cannot be used (disk full...)
    ├── ConfigError                     config.toml or credentials unreadable
    ├── DatabaseError                   bad database URL, server unreachable, load refused
    └── PluginError                     a plugin failed to load; carries .plugin
        ├── DuplicateRegistration       two plugins registered one name
        └── PluginFault                 a plugin's code raised while running (exit 14)

Each class has a stable ``code`` (used in JSON errors), an ``exit_code`` for
the command line and an ``http_status`` for the server. A class that
introduces an exit code says what it means in ``exit_meaning``;
:func:`exit_codes` gathers them into the one published table.
"""

from __future__ import annotations

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "AlreadyExists",
    "CacheError",
    "ConfigError",
    "DatabaseError",
    "DecompressionLimit",
    "DigestMismatch",
    "DuplicateRegistration",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_OUT_OF_MEMORY",
    "EXIT_TERMINATED",
    "ExpiredError",
    "Forbidden",
    "GenerationError",
    "IntegrityError",
    "InvalidManifest",
    "InvalidName",
    "InvalidVersion",
    "KeyChangedError",
    "ModelFormatError",
    "NotFound",
    "OfflineError",
    "PayloadTooLarge",
    "PhonyError",
    "PluginError",
    "PluginFault",
    "RegistryError",
    "RegistryUnavailable",
    "RequestTimeout",
    "RollbackError",
    "SignatureError",
    "SourceConflict",
    "TrainingError",
    "Unauthorized",
    "UnsupportedFormatVersion",
    "UsageError",
    "ValidationError",
    "exit_codes",
]


class PhonyError(Exception):
    """Root of every error phony raises on purpose."""

    code = "error"
    exit_code = 1
    exit_meaning = "any other error (a file that cannot be read or written...)"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, str]:
        """The body the server sends for this error."""
        return {"error": self.code, "detail": self.message}


class UsageError(PhonyError):
    """The command was called with arguments that do not fit."""

    code = "usage"
    exit_code = 2
    exit_meaning = "usage: an unknown command or option, a bad or missing argument"


class ValidationError(PhonyError):
    """A value breaks a rule; ``field`` is the dotted path of the value."""

    code = "invalid"
    exit_code = 3
    exit_meaning = "a value breaks a rule (a model name, a version, a manifest field)"
    http_status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class InvalidName(ValidationError):
    """A model name outside the naming rules."""

    code = "invalid_name"


class InvalidVersion(ValidationError):
    """A string that is not a semantic version, range, tag or digest."""

    code = "invalid_version"


class InvalidManifest(ValidationError):
    """A manifest with a missing or malformed field."""

    code = "invalid_manifest"


class ModelFormatError(PhonyError):
    """A .phony file that cannot be read: not gzip, not JSON, wrong fields."""

    code = "model_format"
    exit_code = 4
    exit_meaning = "a .phony file that cannot be read (damaged, too big, too new)"
    http_status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class UnsupportedFormatVersion(ModelFormatError):
    """The file's format version is newer than this phony understands."""

    code = "unsupported_format_version"


class DecompressionLimit(ModelFormatError):
    """The file inflates past the decompression cap (a gzip bomb, or simply too big)."""

    code = "decompression_limit"
    http_status = 413


class TrainingError(PhonyError):
    """Training input that cannot make a model: empty, missing column, not text."""

    code = "training"
    exit_code = 5
    exit_meaning = "training input that cannot make a model"


class GenerationError(PhonyError):
    """Generation cannot do what was asked (for example too many unique values)."""

    code = "generation"
    exit_code = 6
    exit_meaning = "generation cannot do what was asked (too many unique values...)"


class IntegrityError(PhonyError):
    """Bytes or metadata that are not what was promised. Never retried silently."""

    code = "integrity"
    exit_code = 7
    exit_meaning = "integrity: a digest, signature or snapshot check failed"


class DigestMismatch(IntegrityError):
    """A blob whose sha256 or size differs from the manifest or the snapshot."""

    code = "digest_mismatch"


class SignatureError(IntegrityError):
    """A signature that is missing, invalid, or made by a key nobody trusts."""

    code = "signature"


class RollbackError(IntegrityError):
    """A snapshot older than one this client has already seen."""

    code = "rollback"


class ExpiredError(IntegrityError):
    """A snapshot past its expiry: the registry may be frozen."""

    code = "expired"


class KeyChangedError(IntegrityError):
    """The key a registry signs with is not the one pinned on first use."""

    code = "key_changed"


class SourceConflict(IntegrityError):
    """A registry serving a name that belongs to another registry (every name has one source)."""

    code = "source_conflict"


class RegistryError(PhonyError):
    """A registry refused or could not answer."""

    code = "registry"
    exit_code = 8
    exit_meaning = "a registry refused or did not answer (not found, unauthorized...)"


class NotFound(RegistryError):
    """No such model, version, tag, digest or token."""

    code = "not_found"
    http_status = 404


class AlreadyExists(RegistryError):
    """The name@version is already published with other bytes."""

    code = "already_exists"
    http_status = 409


class Unauthorized(RegistryError):
    """No credentials, or credentials the registry does not accept."""

    code = "unauthorized"
    http_status = 401


class Forbidden(RegistryError):
    """Valid credentials that do not allow this action."""

    code = "forbidden"
    http_status = 403


class PayloadTooLarge(RegistryError):
    """An upload larger than the registry accepts."""

    code = "payload_too_large"
    http_status = 413


class RequestTimeout(RegistryError):
    """A transfer that stalled or crawled (a request body, a download): 408 on the server."""

    code = "timeout"
    http_status = 408


class OfflineError(RegistryError):
    """Offline mode is on and the cache cannot answer."""

    code = "offline"


class RegistryUnavailable(RegistryError):
    """The registry or its storage could not be reached; safe to retry."""

    code = "unavailable"
    http_status = 503


class CacheError(PhonyError):
    """The local cache cannot be written or read (disk full, permissions)."""

    code = "cache"
    exit_code = 9
    exit_meaning = "the local cache cannot be used"


class ConfigError(PhonyError):
    """The configuration or credentials file cannot be used."""

    code = "config"
    exit_code = 10
    exit_meaning = "config.toml or the credentials file cannot be used"


class DatabaseError(PhonyError):
    """A database phony sync reads or fills cannot be used: bad URL, unreachable, refused."""

    code = "database"
    exit_code = 13
    exit_meaning = "phony sync: a database that cannot be used"


class PluginError(PhonyError):
    """A plugin failed to load or register; ``plugin`` names it."""

    code = "plugin"
    exit_code = 11
    exit_meaning = "a plugin failed to load or register"

    def __init__(self, message: str, plugin: str | None = None) -> None:
        super().__init__(f"plugin {plugin}: {message}" if plugin else message)
        self.plugin = plugin


class DuplicateRegistration(PluginError):
    """Two plugins registered the same generator, format or locale name."""

    code = "duplicate_registration"


class PluginFault(PluginError):
    """A plugin's own code raised while phony ran it: a generator's ``build`` or
    ``generate``, a format's writer, a command.

    ``plugin`` is the plugin's name, ``distribution`` and ``version`` its
    distribution, ``what`` the object or hook (``generator 'acme_iban' (build)``);
    the exception it raised is the ``__cause__``.
    """

    code = "plugin_fault"
    exit_code = 14
    exit_meaning = "a plugin failed while running (its generator, format or command raised)"

    def __init__(
        self, message: str, plugin: str | None = None, *, distribution: str = "",
        version: str = "", what: str = "",
    ) -> None:  # fmt: skip
        super().__init__(message)  # the message names the plugin itself
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        self.what = what


#: Exit codes that no error class carries.
EXIT_OK = 0
EXIT_OUT_OF_MEMORY = 12
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
_OTHER_EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_OUT_OF_MEMORY: "out of memory",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM); its temporary files removed",
}


def exit_codes() -> list[tuple[int, str]]:
    """The command line's exit codes as ``(code, meaning)`` rows, sorted by code.

    The one table of exit codes: each error class that introduces an
    ``exit_code`` gives its ``exit_meaning`` beside it, and ``phony --help``,
    the CLI reference (docs/cli.md) and the tests all read this. The codes
    are stable: a code, once published, keeps its meaning.
    """
    table = dict(_OTHER_EXIT_CODES)
    pending: list[type[PhonyError]] = [PhonyError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "exit_code" in vars(cls):
            meaning = vars(cls).get("exit_meaning")
            if meaning is None:  # a new exit code must say what it means
                raise TypeError(f"{cls.__name__} sets exit_code without exit_meaning")
            if table.get(cls.exit_code, meaning) != meaning:
                raise TypeError(f"exit code {cls.exit_code} has two meanings")
            table[cls.exit_code] = meaning
    return sorted(table.items())
