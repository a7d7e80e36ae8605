"""From a scenario's stakeholders to a forecast, and from a forecast back to the game.

Links (declared under ``stakeholders.links`` in the scenario file):

* ``vote_rule``: the forecast position :math:`p` of one stakeholder on a dimension
  sets a power's ``escalate`` or ``relieve`` rule: ``below`` if :math:`p < lo`,
  ``above`` if :math:`p > hi`, else ``between``;
* ``cost_scale``: the capability-weighted mean forecast position :math:`\\bar p` of
  some stakeholders multiplies the one-off ``cost`` of the listed concerns by
  :math:`f = a_0 + (a_{100} - a_0)\\,\\bar p / 100`.

The forecast position of a stakeholder is its position in the model's last round.
A model that forecasts only the collective outcome (``compromise``: one round) puts
every stakeholder at that outcome.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..scenario import Scenario
from ..scenario.models import ConditionalVote, CostLink, VoteLink
from .actors import ActorTable
from .result import ForecastResult


def table_from_scenario(s: Scenario) -> ActorTable:
    """The scenario's stakeholders as an :class:`ActorTable` (validated)."""
    sh = s.stakeholders
    if sh is None:
        raise ValueError(
            f"scenario {s.name!r} has no stakeholders block. Fix: add `stakeholders:` "
            "(see docs/reference/scenario-format.md#stakeholders) or give a KTAB CSV file"
        )
    dims = tuple(d.id for d in sh.dimensions)
    return ActorTable(
        name=s.name,
        dimensions=dims,
        actors=tuple(a.id for a in sh.actors),
        capability=np.array([a.capability for a in sh.actors], dtype=float),
        position=np.array([[a.position[d] for d in dims] for a in sh.actors], dtype=float),
        salience=np.array([[a.salience[d] for d in dims] for a in sh.actors], dtype=float),
        descriptions=tuple(a.name or a.id for a in sh.actors),
        source=s.name,
    ).validate()


def _rule_text(rule: Any) -> str:
    if isinstance(rule, dict):
        rule = ConditionalVote.model_validate(rule)
    if isinstance(rule, ConditionalVote):
        return (
            f"{{if_verified_at_least: {rule.if_verified_at_least}, then: {rule.then}, "
            f"else: {rule.else_}}}"
        )
    return str(rule)


def apply_links(s: Scenario, result: ForecastResult) -> tuple[Scenario, list[str]]:
    """A copy of ``s`` with every link applied to ``result``'s last round, and one
    sentence per change (what moved, from what, to what, and why)."""
    sh = s.stakeholders
    if sh is None or not sh.links:
        raise ValueError(
            f"scenario {s.name!r} declares no stakeholders.links. Fix: add vote_rule or "
            "cost_scale links (see docs/reference/scenario-format.md#stakeholders)"
        )
    final = (
        result.rounds[-1]
        if len(result.rounds) > 1
        else np.tile(np.asarray(result.forecast, float), (len(result.actors), 1))
    )
    actor = {a: i for i, a in enumerate(result.actors)}
    dim = {d: j for j, d in enumerate(result.dimensions)}
    cap = {a.id: a.capability for a in sh.actors}
    data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    changes: list[str] = []
    for link in sh.links:
        if link.dimension not in dim:
            raise ValueError(
                f"the forecast has no dimension {link.dimension!r}. Fix: forecast from the "
                "scenario's own stakeholders, or change the link's dimension"
            )
        j = dim[link.dimension]
        if isinstance(link, VoteLink):
            p = float(final[actor[link.stakeholder], j])
            lo, hi = link.thresholds
            rule = link.below if p < lo else (link.above if p > hi else link.between)
            votes = data.setdefault("votes", {}).setdefault(link.power, {})
            old = votes.get(link.vote, "sincere")
            votes[link.vote] = (
                rule.model_dump(by_alias=True) if isinstance(rule, ConditionalVote) else rule
            )
            changes.append(
                f"{link.power} {link.vote} vote: {_rule_text(old)} -> {_rule_text(rule)} "
                f"({link.stakeholder} at {p:.1f} on {link.dimension}; thresholds {lo:g}/{hi:g})"
            )
        else:
            assert isinstance(link, CostLink)
            w = np.array([cap[a] for a in link.stakeholders], dtype=float)
            ps = np.array([final[actor[a], j] for a in link.stakeholders], dtype=float)
            p = float((w * ps).sum() / w.sum()) if w.sum() > 0 else float(ps.mean())
            factor = link.at_0 + (link.at_100 - link.at_0) * p / 100.0
            targets = (
                [c["id"] for c in data["concerns"]] if link.concerns == "all" else link.concerns
            )
            moved = 0
            for c in data["concerns"]:
                if c["id"] in targets:
                    moved += float(c["cost"]) != 0.0
                    c["cost"] = round(float(c["cost"]) * factor, 12)
            changes.append(
                f"costs of {moved} concern(s) x {factor:.4g} "
                f"({', '.join(link.stakeholders)} at {p:.1f} on {link.dimension}; "
                f"factor {link.at_0:g} at 0 to {link.at_100:g} at 100)"
            )
    return Scenario.model_validate(data), changes
