"""One point of a scenario's uncertainty space as a plain scenario.

A scenario with uncertainties is, by default, evaluated at the median of every
variable. :func:`scenario_at` sets some variables to other values (the web app's
sliders, "what if Moscow's trade weighed twice as much?") and returns an ordinary
scenario in which every uncertain field holds ``scale × value``:

.. math:: x_{\\text{field}} = s_{\\text{field}} \\cdot v_{\\text{variable}}

Variables not given keep their medians. The result is validated like a file, so a
value that puts a field outside its range (``verify`` above 1, say) is refused with
the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import ValidationError

from .models import Scenario


def _entry(items: list[dict[str, Any]], ident: str) -> dict[str, Any]:
    for item in items:
        if item.get("id") == ident:
            return item
    raise KeyError(ident)  # pragma: no cover - the space was built from these ids


def _field(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """A validation error's location with list indices replaced by entry ids."""
    parts: list[str] = []
    node: Any = data
    for part in loc:
        node = node[part] if isinstance(node, dict | list) else None
        if isinstance(part, int) and isinstance(node, dict) and "id" in node:
            parts.append(str(node["id"]))
        else:
            parts.append(str(part))
    return ".".join(parts)


def scenario_at(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """``scenario`` with the uncertainty variables in ``values`` set (others at medians)."""
    space = scenario.uncertainty
    names = space.names
    unknown = [k for k in values if k not in names]
    if unknown:
        known = ", ".join(names) or "(this scenario has none)"
        raise ValueError(
            f"no uncertainty {', '.join(map(repr, unknown))} in scenario {scenario.name}. "
            f"Fix: use one of {known}"
        )
    if not values:
        return scenario
    vec = space.medians()
    for k, v in values.items():
        if not np.isfinite(v):
            raise ValueError(f"uncertainty {k!r}: value {v} is not finite. Fix: give a number")
        vec[names.index(k)] = float(v)
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    for tg in space.targets:
        section, ident, field, *rest = tg.path
        item = _entry(data[section], ident)
        x = float(tg.scale * vec[tg.variable])
        if rest:
            item[field][rest[0]] = x
        else:
            item[field] = x
    try:
        out = Scenario.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{_field(data, e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(
            f"these uncertainty values put a field out of its range ({where}). "
            f"Fix: move the values back inside the range of the uncertainty"
        ) from None
    out._space = space
    return out
