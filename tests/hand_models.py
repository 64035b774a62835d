"""Models written by hand, edge by edge, for tests of the walk itself."""

from __future__ import annotations

import numpy as np

from phony_registry.model import Model, ModelMeta, TrainingStats


def hand_model(
    alphabet: str, edges: list[list[tuple[int, int, int]]], max_length: int = 6
) -> Model:
    """A model by hand: ``edges[state]`` lists (token, weight, target); token 0 ends a value."""
    offsets = np.cumsum([0] + [len(e) for e in edges]).astype(np.uint32)
    flat = [edge for state in edges for edge in state]
    return Model(
        meta=ModelMeta(name="tiny"),
        order=2,
        alphabet=alphabet,
        start=0,
        offsets=offsets,
        tokens=np.array([t for t, _, _ in flat], dtype=np.uint32),
        weights=np.array([w for _, w, _ in flat], dtype=np.uint32),
        targets=np.array([g for _, _, g in flat], dtype=np.uint32),
        training=TrainingStats(3, 3, 3, max_length, None),
        max_length=max_length,
    )


#: Most walks run past ``max_length`` and are rejected (about 37 % of the rows
#: are kept): every value chunk needs two refill blocks after its main one.
LONG_WINDED = hand_model("ab", [[(1, 1, 1)], [(0, 1, 0), (2, 6, 1)]], max_length=3)
