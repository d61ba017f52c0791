"""Random streams: one independent generator per random process, spawned from the run's seed.

Common random numbers: two policies run with one seed draw their orders, service times and
layout from the same streams, so a policy that makes extra acceptance draws does not shift the
orders the other policies face.
"""

from __future__ import annotations

import numpy as np

STREAM_NAMES = (
    "layout",
    "population",
    "demand",
    "service",
    "acceptance",
    "rating",
    "policy",
    "dynamics",
    "ageing",
    "availability",  # appended: earlier streams keep their seeds
    "needs",
)


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """A generator per named process; the i-th name always gets the i-th child of ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES))
    return {
        name: np.random.default_rng(child)
        for name, child in zip(STREAM_NAMES, children, strict=True)
    }


class Buffered:
    """Variates drawn from a generator in blocks: cheap one at a time.

    ``kind`` is ``"random"`` (uniform on [0, 1)) or ``"standard_normal"``.
    """

    def __init__(self, rng: np.random.Generator, kind: str = "random", block: int = 4096) -> None:
        self._draw = getattr(rng, kind)
        self._block = block
        self._values: list[float] = []

    def next(self) -> float:
        try:
            return self._values.pop()
        except IndexError:  # a new block, the same numbers in the same order
            self._values = self._draw(self._block).tolist()
            self._values.reverse()
            return self._values.pop()
