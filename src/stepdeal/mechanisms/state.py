"""Compact integer keys for states (concern statuses, measure statuses).

A state is packed in mixed radix: each concern status is a base-3 digit and
each measure status a base-5 digit, accumulated into unsigned 64-bit words (a
new word starts when the next digit would overflow). Twelve concerns and
sixteen measures fit in one word (3^12 · 5^16 < 2^64). Keys merge equal states
while the solver enumerates the reachable state graph, and look a simulated
state up in the solved policy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .game import U8

Keys = NDArray[np.uint64] | NDArray[np.void]

_LIMIT = 2**64


def _layout(n_concerns: int, n_measures: int) -> list[list[tuple[int, int]]]:
    """Columns grouped by word, each with its place value."""
    radices = [3] * n_concerns + [5] * n_measures
    words: list[list[tuple[int, int]]] = [[]]
    place = 1
    for col, r in enumerate(radices):
        if place * r > _LIMIT:
            words.append([])
            place = 1
        words[-1].append((col, place))
        place *= r
    return words


def pack(C: U8, M: U8) -> NDArray[np.uint64]:
    """Pack states into a ``(n, words)`` array of uint64."""
    X = np.concatenate([C, M], axis=1).astype(np.uint64)
    out = np.zeros((X.shape[0], 0), dtype=np.uint64)
    cols = []
    for word in _layout(C.shape[1], M.shape[1]):
        acc = np.zeros(X.shape[0], dtype=np.uint64)
        for col, place in word:
            acc += X[:, col] * np.uint64(place)
        cols.append(acc)
    return np.stack(cols, axis=1) if cols else out


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
    sorted_keys: Keys = uniq  # type: ignore[assignment]
    return first.astype(np.int64), inverse.astype(np.int64).ravel(), sorted_keys


def find_key(keys: Keys, key: np.generic, what: str = "state") -> int:
    """Row of ``key`` in the sorted ``keys`` (``KeyError`` naming ``what`` if absent)."""
    i = int(np.searchsorted(keys, key))
    if i >= keys.size or keys[i] != key:
        raise KeyError(f"{what} not reachable under this policy")
    return i
