"""The result of a forecast model, and the ``forecast --json`` contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass
class ForecastResult:
    """Rounds of positions (the initial state first) and the forecast, on the input scale.

    ``rounds[t]`` is ``(n, D)``; ``probabilities[t]`` (SMP only) is ``(n,)``: the
    probability that each actor's position wins in state ``t``.
    """

    model: str
    dimensions: tuple[str, ...]
    actors: tuple[str, ...]
    rounds: list[F64]
    forecast: F64  # (D,)
    probabilities: list[F64] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``model``, ``dimensions``, ``actors``, ``rounds``, ``forecast`` (and
        ``probabilities`` for SMP): the contract; extra keys may follow."""
        out: dict[str, Any] = {
            "model": self.model,
            "dimensions": list(self.dimensions),
            "actors": list(self.actors),
            "rounds": [
                {a: [float(v) for v in r[i]] for i, a in enumerate(self.actors)}
                for r in self.rounds
            ],
            "forecast": [float(v) for v in np.asarray(self.forecast)],
        }
        if self.probabilities is not None:
            out["probabilities"] = [
                {a: float(p[i]) for i, a in enumerate(self.actors)} for p in self.probabilities
            ]
        out.update(self.extras)
        return out
