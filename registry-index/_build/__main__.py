"""``python -m phony_index._build``: what ``scripts/build-index`` runs."""

from __future__ import annotations

from phony_index._build.build import main

raise SystemExit(main())
