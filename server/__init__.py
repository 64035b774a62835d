"""The phony registry server: a FastAPI application over a storage backend."""

__all__: list[str] = []
