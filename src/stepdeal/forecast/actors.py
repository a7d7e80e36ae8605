"""Stakeholder tables: who holds which position, how much it matters, and their clout.

An :class:`ActorTable` holds ``n`` actors on ``D`` dimensions, on the input's scale
(KTAB's 0–100 for positions and saliences). Validation follows KTAB's SMP rules: at
least 3 actors (at most 250), capability in [0, 1e8], positions and saliences in
[0, 100], and each actor's total salience over the dimensions at most 100.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

MIN_ACTORS, MAX_ACTORS = 3, 250
MAX_CAPABILITY = 1e8


class ActorTableError(ValueError):
    """A stakeholder table breaks a rule; ``problems`` are ``(where, message, fix)``."""

    def __init__(self, source: str, problems: list[tuple[str, str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            "\n".join(
                f"{source}: {w}: {m}. Fix: {f}" if w else f"{source}: {m}. Fix: {f}"
                for w, m, f in problems
            )
        )


@dataclass(frozen=True)
class ActorTable:
    """``n`` actors on ``D`` dimensions (positions and saliences on the 0–100 scale)."""

    name: str
    dimensions: tuple[str, ...]
    actors: tuple[str, ...]
    capability: F64  # (n,)
    position: F64  # (n, D), 0..100
    salience: F64  # (n, D), 0..100, row sums <= 100
    descriptions: tuple[str, ...] = ()
    source: str = "<table>"
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.actors)

    @property
    def D(self) -> int:
        return len(self.dimensions)

    def validate(self) -> ActorTable:
        """Raise :class:`ActorTableError` listing every broken rule; return ``self``."""
        p: list[tuple[str, str, str]] = []
        n, D = self.n, self.D
        if not MIN_ACTORS <= n <= MAX_ACTORS:
            p.append(("", f"{n} actors", f"give between {MIN_ACTORS} and {MAX_ACTORS} actors"))
        if D < 1:
            p.append(("", "no dimension", "give at least one dimension"))
        if len(set(self.actors)) != n:
            p.append(("", "actor names repeat", "give every actor a different name"))
        shapes = {"capability": (n,), "position": (n, D), "salience": (n, D)}
        for key, shape in shapes.items():
            if getattr(self, key).shape != shape:
                p.append(
                    (
                        key,
                        f"shape {getattr(self, key).shape}, expected {shape}",
                        "give one value per actor (and per dimension)",
                    )
                )
        if p:
            raise ActorTableError(self.source, p)
        for i, a in enumerate(self.actors):
            c = self.capability[i]
            if not (np.isfinite(c) and 0 <= c <= MAX_CAPABILITY):
                p.append((a, f"capability {c:g} outside [0, 1e8]", "give a capability in [0, 1e8]"))
            for d, dim in enumerate(self.dimensions):
                x, s = self.position[i, d], self.salience[i, d]
                if not (np.isfinite(x) and 0 <= x <= 100):
                    p.append(
                        (
                            f"{a}, {dim}",
                            f"position {x:g} outside [0, 100]",
                            "rescale positions to 0-100",
                        )
                    )
                if not (np.isfinite(s) and 0 <= s <= 100):
                    p.append(
                        (
                            f"{a}, {dim}",
                            f"salience {s:g} outside [0, 100]",
                            "give saliences on 0-100",
                        )
                    )
            total = float(self.salience[i].sum())
            if total > 100 + 1e-9:
                p.append(
                    (
                        a,
                        f"total salience {total:g} over the dimensions exceeds 100",
                        "scale this actor's saliences so they sum to at most 100",
                    )
                )
        if p:
            raise ActorTableError(self.source, p)
        return self
