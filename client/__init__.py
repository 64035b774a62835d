"""The phony client: local cache, registry access over HTTP, configuration, the command line."""

__all__: list[str] = []
