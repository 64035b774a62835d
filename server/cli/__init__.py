"""The server's operator commands (``phony registry ...``), added to ``phony`` by a plugin.

:mod:`phony_server.cli.plugin` contributes the ``registry`` group through the
``phony_register_commands`` hook, as :mod:`phony_server.mock.plugin` does for
``phony mock``; the client's command line never imports the server.
"""

from __future__ import annotations

__all__: list[str] = []
