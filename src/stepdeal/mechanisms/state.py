"""Compact integer keys for states (concern statuses, measure statuses).

A concern status takes 2 bits and a measure status 3 bits; a state is packed
into ``ceil(bits / 64)`` unsigned 64-bit words. Keys are used to merge equal
states when the solver enumerates the reachable state graph and to look a
simulated state up in the solved policy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .game import U8

Keys = NDArray[np.uint64] | NDArray[np.void]


def _fields(n_concerns: int, n_measures: int) -> list[tuple[int, int]]:
    return [(2, i) for i in range(n_concerns)] + [(3, n_concerns + j) for j in range(n_measures)]


def pack(C: U8, M: U8) -> NDArray[np.uint64]:
    """Pack states into a ``(n, words)`` array of uint64."""
    X = np.concatenate([C, M], axis=1).astype(np.uint64)
    widths = _fields(C.shape[1], M.shape[1])
    words: list[NDArray[np.uint64]] = []
    word = np.zeros(X.shape[0], dtype=np.uint64)
    used = 0
    for width, col in widths:
        if used + width > 64:
            words.append(word)
            word = np.zeros(X.shape[0], dtype=np.uint64)
            used = 0
        word |= X[:, col] << np.uint64(used)
        used += width
    words.append(word)
    return np.stack(words, axis=1)


def as_keys(packed: NDArray[np.uint64]) -> Keys:
    """One sortable key per row (uint64 if one word suffices, else raw bytes)."""
    if packed.shape[1] == 1:
        return np.ascontiguousarray(packed[:, 0])
    arr = np.ascontiguousarray(packed)
    return arr.view(np.dtype((np.void, 8 * packed.shape[1])))[:, 0]


def unique_states(C: U8, M: U8) -> tuple[NDArray[np.int64], NDArray[np.int64], Keys]:
    """Indices of the first row of each distinct state, the inverse map and sorted keys."""
    keys = as_keys(pack(C, M))
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first.astype(np.int64), inverse.astype(np.int64).ravel(), uniq
