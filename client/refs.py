"""Which cached refs may answer for a name: the trust rules applied to what pulls recorded.

Shared by the pull (:mod:`phony_client.pull`), which records refs, and the
cache lookup (:mod:`phony_client.lookup`), which reads them without loading
the verified reader, so ``phony generate NAME`` from the cache stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import phony_index
from phony_client.config import registry_id

if TYPE_CHECKING:
    from phony_client.cache import Ref
    from phony_registry.names import ModelName
    from phony_registry.trust import TrustPolicy

__all__ = ["accepts_ref", "official_location"]


def official_location() -> str:
    """The folder of the official index bundled with phony (``phony_index``)."""
    return str(phony_index.ROOT)


def accepts_ref(policy: TrustPolicy, name: ModelName, ref: Ref) -> bool:
    """Whether ``ref`` may answer for ``name`` under ``policy`` (from what its pull recorded)."""
    return policy.accepts_recorded(
        name, ref.registry, ref.signers, official_index=registry_id(official_location())
    )
