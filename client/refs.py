"""Which cached refs may answer for a name: the trust rules applied to what pulls recorded.

Shared by the pull (:mod:`phony_client.pull`), which records refs, and the
cache lookup (:mod:`phony_client.lookup`), which reads them without loading
the verified reader, so ``phony generate NAME`` from the cache stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import phony_index
from phony_client.config import registry_id
from phony_registry.names import ModelName, split_reference

if TYPE_CHECKING:
    from phony_client.cache import Ref
    from phony_registry.trust import TrustPolicy

__all__ = ["accepts_ref", "official_location", "split_cached_reference"]


def official_location() -> str:
    """The folder of the official index bundled with phony (``phony_index``)."""
    return str(phony_index.ROOT)


def accepts_ref(policy: TrustPolicy, name: ModelName, ref: Ref) -> bool:
    """Whether ``ref`` may answer for ``name`` under ``policy`` (from what its pull recorded)."""
    return policy.accepts_recorded(
        name, ref.registry, ref.signers, official_index=registry_id(official_location())
    )


def split_cached_reference(text: str) -> tuple[ModelName, str | None]:
    """``name[@spec]`` of a model already in the cache, its name in any case.

    Names that differ only by case are the same name (their canonical key is
    one, :func:`phony_registry.names.canonical_key`), so ``ALICE/R`` finds
    what ``alice/r`` pulled. The spec keeps its case (``1.0.0-RC1`` is not
    ``1.0.0-rc1``).
    """
    name, sep, spec = text.partition("@")
    return split_reference(name.lower() + sep + spec)
