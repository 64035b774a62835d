"""phony's core: the .phony format, N-gram training and generation, manifests,
signatures, names and versions, plugin hooks, and the error tree.

Nothing here talks to the network; the client and the server build on it.
"""

from phony_registry.errors import PhonyError

__all__ = ["PhonyError"]
