r"""Uncertain numbers in a scenario file: distributions, named uncertainties, references.

A numeric field of an actor (``discount``), a concern (``cost``, ``upkeep``,
``verify``, ``reversal_cost``, ``value.<power>``) or a measure (``impact``,
``burden.<power>``, ``curtail``) may be written as

* a **distribution**: ``{dist: triangular, low: 10, mode: 16, high: 30}``; or
* a **reference** to a named uncertainty: ``{uncertainty: russia-trade, scale: 0.03}``
  (the field is ``scale`` times the draw; ``scale`` defaults to 1), so one draw moves
  every field that refers to it.

Named uncertainties are listed under the top-level key ``uncertainties:`` with an
``id`` and a distribution. Distributions (``u`` is a uniform draw on [0, 1], every
value is the inverse CDF at ``u``, so a design in the unit hypercube maps to values):

============ ============================== ==========================================
``dist``     parameters                     support
============ ============================== ==========================================
uniform      low, high                      [low, high]
normal       mean, sd; optional low, high   truncated to [low, high] when given
lognormal    median, sigma (of the log)     (0, ∞)
triangular   low, mode, high                [low, high]
beta         a, b; optional low=0, high=1   [low, high]
choice       values; optional weights       the listed values
============ ============================== ==========================================

The **point scenario** — what ``validate``, ``run``, ``check`` and ``design`` use —
has every uncertain field at its distribution's median (inverse CDF at 0.5).
``stepdeal validate`` also checks that no draw can leave a field's allowed range
(``verify`` and ``curtail`` in [0, 1], ``discount`` in (0, 1)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

F64 = NDArray[np.float64]
DistName = Literal["uniform", "normal", "lognormal", "triangular", "beta", "choice"]

#: fields that may be uncertain: (section, field) -> allowed range (lo, hi, open ends?)
FIELD_RANGES: dict[tuple[str, str], tuple[float, float, bool]] = {
    ("actors", "discount"): (0.0, 1.0, True),
    ("concerns", "cost"): (-math.inf, math.inf, False),
    ("concerns", "upkeep"): (-math.inf, math.inf, False),
    ("concerns", "verify"): (0.0, 1.0, False),
    ("concerns", "reversal_cost"): (-math.inf, math.inf, False),
    ("concerns", "value"): (-math.inf, math.inf, False),
    ("measures", "impact"): (-math.inf, math.inf, False),
    ("measures", "burden"): (-math.inf, math.inf, False),
    ("measures", "curtail"): (0.0, 1.0, False),
}
KEYED = {("concerns", "value"), ("measures", "burden")}  # per-power mappings


_PARAMS = ("low", "high", "mode", "mean", "sd", "median", "sigma", "a", "b", "values", "weights")


class Dist(BaseModel):
    """One distribution (see the module docstring for the parameters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: DistName
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    median: float | None = Field(None, gt=0)
    sigma: float | None = Field(None, gt=0)
    a: float | None = Field(None, gt=0)
    b: float | None = Field(None, gt=0)
    values: list[float] | None = Field(None, min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _params(self) -> Dist:
        need = {
            "uniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("median", "sigma"),
            "triangular": ("low", "mode", "high"),
            "beta": ("a", "b"),
            "choice": ("values",),
        }[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {', '.join(need)}; missing {', '.join(missing)}")
        allowed = set(need) | {"dist"}
        allowed |= {"low", "high"} if self.dist in ("normal", "beta") else set()
        allowed |= {"weights"} if self.dist == "choice" else set()
        extra = [k for k in self.model_fields_set if k in _PARAMS and k not in allowed]
        if extra:
            raise ValueError(
                f"{self.dist} takes {', '.join(sorted(allowed - {'dist'}))}; "
                f"remove {', '.join(sorted(extra))}"
            )
        lo, hi = self.support()
        if not lo <= hi or (self.dist in ("uniform", "triangular", "beta") and lo == hi):
            raise ValueError(f"low must be below high (got low={lo}, high={hi})")
        if self.dist == "triangular" and not (lo <= (self.mode or 0.0) <= hi):
            raise ValueError(f"mode must lie in [low, high] (got {self.mode})")
        if self.weights is not None:
            if self.values is None or len(self.weights) != len(self.values):
                raise ValueError("weights must have one entry per value")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative and not all zero")
        return self

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self.dist == "choice":
            assert self.values is not None
            return min(self.values), max(self.values)
        if self.dist == "lognormal":
            return 0.0, math.inf
        if self.dist == "beta":
            return (self.low if self.low is not None else 0.0), (
                self.high if self.high is not None else 1.0
            )
        lo = self.low if self.low is not None else -math.inf
        hi = self.high if self.high is not None else math.inf
        return lo, hi

    def ppf(self, u: F64) -> F64:
        """Inverse CDF at ``u`` in [0, 1] (vectorised)."""
        from scipy import stats

        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        if self.dist == "uniform":
            assert self.low is not None and self.high is not None
            out: F64 = self.low + u * (self.high - self.low)
            return out
        if self.dist == "normal":
            assert self.mean is not None and self.sd is not None
            lo, hi = self.support()
            a, b = (lo - self.mean) / self.sd, (hi - self.mean) / self.sd
            return np.asarray(stats.truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd), float)
        if self.dist == "lognormal":
            return np.asarray(stats.lognorm.ppf(u, self.sigma, scale=self.median), float)
        if self.dist == "triangular":
            assert self.low is not None and self.high is not None and self.mode is not None
            width = self.high - self.low
            c = (self.mode - self.low) / width
            return np.asarray(stats.triang.ppf(u, c, loc=self.low, scale=width), float)
        if self.dist == "beta":
            lo, hi = self.support()
            return np.asarray(stats.beta.ppf(u, self.a, self.b, loc=lo, scale=hi - lo), float)
        assert self.values is not None
        vals = np.asarray(self.values, dtype=np.float64)
        w = np.asarray(self.weights if self.weights is not None else [1.0] * len(vals), float)
        order = np.argsort(vals, kind="stable")  # the inverse CDF needs sorted values
        vals, w = vals[order], w[order]
        cum = np.cumsum(w) / w.sum()
        idx = np.minimum(np.searchsorted(cum, u, side="left"), len(vals) - 1)
        picked: F64 = vals[idx]
        return picked

    def median_value(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])


class Reference(BaseModel):
    """A field that is ``scale`` times a named uncertainty's draw."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uncertainty: str
    scale: float = Field(1.0, allow_inf_nan=False)


@dataclass(frozen=True)
class Variable:
    """One independent input of the ensemble: a named uncertainty or a field's own
    distribution (named after the field, e.g. ``concerns.ebw-detonators.cost``)."""

    name: str
    dist: Dist


@dataclass(frozen=True)
class Target:
    """A scenario field set to ``scale`` times variable ``variable``'s draw.

    ``path`` uses ids: ``("concerns", "ebw-detonators", "cost")`` or
    ``("measures", "unsc-new", "burden", "russia")``.
    """

    variable: int
    path: tuple[str, ...]
    scale: float


@dataclass(frozen=True)
class UncertaintySpace:
    """The scenario's uncertain inputs and the fields they drive."""

    variables: tuple[Variable, ...]
    targets: tuple[Target, ...]

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    @property
    def dimension(self) -> int:
        return len(self.variables)

    def values(self, unit: F64) -> F64:
        """Map a design in the unit hypercube ``(N, d)`` to variable values ``(N, d)``."""
        unit = np.asarray(unit, dtype=np.float64)
        out = np.empty_like(unit)
        for j, v in enumerate(self.variables):
            out[:, j] = v.dist.ppf(unit[:, j])
        return out

    def medians(self) -> F64:
        return np.array([v.dist.median_value() for v in self.variables])


@dataclass(frozen=True)
class UncertaintyProblem:
    """A problem found while reading uncertainties: where, what, how to fix it."""

    path: tuple[str | int, ...]
    message: str
    fix: str


_SECTIONS = ("actors", "concerns", "measures")


def _is_uncertain(x: Any) -> bool:
    return isinstance(x, dict) and ("dist" in x or "uncertainty" in x)


def _dist_problem(exc: ValidationError) -> tuple[str, str]:
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        return f"unknown key {loc!r} in a distribution", (
            "use dist: uniform|normal|lognormal|triangular|beta|choice with its parameters "
            "(see docs/reference/scenario-format.md#uncertainty)"
        )
    if e["type"] == "literal_error":
        return f"unknown distribution {e.get('input')!r}", (
            "use one of uniform, normal, lognormal, triangular, beta, choice"
        )
    where = f"{loc}: " if loc else ""
    return f"bad distribution: {where}{msg}", "give the parameters the distribution needs"


def _range_problem(
    section: str, field: str, lo: float, hi: float, scale: float = 1.0
) -> tuple[str, str] | None:
    flo, fhi, open_ = FIELD_RANGES[(section, field)]
    a, b = sorted((lo * scale, hi * scale))
    bad = (a <= flo or b >= fhi) if open_ else (a < flo or b > fhi)
    if not bad:
        return None
    kind = "(" if open_ else "["
    end = ")" if open_ else "]"
    return (
        f"draws can fall outside {kind}{flo:g}, {fhi:g}{end} (support {a:g} to {b:g})",
        f"bound the distribution inside {kind}{flo:g}, {fhi:g}{end}: e.g. beta, or uniform/"
        f"normal with low and high",
    )


def extract_uncertainty(
    data: dict[str, Any],
) -> tuple[dict[str, Any], UncertaintySpace, list[UncertaintyProblem]]:
    """Replace uncertain fields of raw YAML ``data`` by their medians.

    Returns the point data (for the models to validate), the space and the problems.
    """
    problems: list[UncertaintyProblem] = []
    variables: list[Variable] = []
    targets: list[Target] = []
    named: dict[str, int] = {}
    raw = data.get("uncertainties")
    if raw is not None and not isinstance(raw, list):
        problems.append(
            UncertaintyProblem(
                ("uncertainties",), "must be a list", "write one '- id: ...' item per uncertainty"
            )
        )
        raw = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, dict):
            problems.append(
                UncertaintyProblem(("uncertainties", i), "must be a mapping", "give id and dist")
            )
            continue
        spec = {k: v for k, v in item.items() if k not in ("id", "name", "note", "sources")}
        uid = item.get("id")
        if not isinstance(uid, str) or not uid:
            problems.append(
                UncertaintyProblem(("uncertainties", i), "missing id", "add id: some-name")
            )
            continue
        if uid in named:
            problems.append(
                UncertaintyProblem(
                    ("uncertainties", i, "id"), f"duplicate id {uid!r}", "give each a unique id"
                )
            )
            continue
        try:
            d = Dist.model_validate(spec)
        except ValidationError as exc:
            msg, fix = _dist_problem(exc)
            problems.append(UncertaintyProblem(("uncertainties", i), msg, fix))
            named[uid] = -1  # reported above: references to it stay quiet
            continue
        named[uid] = len(variables)
        variables.append(Variable(uid, d))
    used: set[str] = set()
    out = dict(data)
    for section in _SECTIONS:
        items = data.get(section)
        if not isinstance(items, list):
            continue
        new_items = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                new_items.append(item)
                continue
            item = dict(item)
            ident = str(item.get("id", i))
            for field, val in list(item.items()):
                key = (section, field)

                point = partial(
                    _one,
                    key=key,
                    named=named,
                    variables=variables,
                    targets=targets,
                    problems=problems,
                    used=used,
                )

                if key in KEYED and isinstance(val, dict):
                    val = dict(val)
                    for who, x in list(val.items()):
                        if _is_uncertain(x):
                            val[who] = point(
                                x, (section, i, field, who), (section, ident, field, str(who))
                            )
                    item[field] = val
                elif _is_uncertain(val) and key in FIELD_RANGES:
                    item[field] = point(val, (section, i, field), (section, ident, field))
            new_items.append(item)
        out[section] = new_items
    out.pop("uncertainties", None)
    for path in _leftovers(out, ()):
        problems.append(
            UncertaintyProblem(
                path,
                f"{'.'.join(str(p) for p in path if isinstance(p, str))} cannot be uncertain",
                "give a number; only discount, cost, upkeep, verify, reversal_cost, value, "
                "impact, burden and curtail may be distributions",
            )
        )
    out["uncertainties"] = raw or []
    return out, UncertaintySpace(tuple(variables), tuple(targets)), problems


def _leftovers(x: Any, path: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    """Paths of distributions or references left where no uncertainty is allowed."""
    if _is_uncertain(x):
        return [path]
    if isinstance(x, dict):
        return [p for k, v in x.items() for p in _leftovers(v, (*path, str(k)))]
    if isinstance(x, list):
        return [p for i, v in enumerate(x) for p in _leftovers(v, (*path, i))]
    return []


def _one(
    x: dict[str, Any],
    where: tuple[str | int, ...],
    path: tuple[str, ...],
    key: tuple[str, str],
    named: dict[str, int],
    variables: list[Variable],
    targets: list[Target],
    problems: list[UncertaintyProblem],
    used: set[str],
) -> Any:
    """Register one uncertain field; return its point value (or the raw dict on error)."""
    if "uncertainty" in x:
        try:
            ref = Reference.model_validate(x)
        except ValidationError:
            problems.append(
                UncertaintyProblem(
                    where,
                    "a reference takes only 'uncertainty' and 'scale'",
                    "write {uncertainty: ID, scale: NUMBER}",
                )
            )
            return 0.0
        if named.get(ref.uncertainty) == -1:
            return 0.0  # the uncertainty itself is broken and already reported
        if ref.uncertainty not in named:
            known = ", ".join(named) or "none defined"
            problems.append(
                UncertaintyProblem(
                    where,
                    f"unknown uncertainty {ref.uncertainty!r}",
                    f"define it under uncertainties: (known: {known})",
                )
            )
            return 0.0
        used.add(ref.uncertainty)
        j = named[ref.uncertainty]
        d = variables[j].dist
        bad = _range_problem(key[0], key[1], *d.support(), scale=ref.scale)
        if bad:
            problems.append(UncertaintyProblem(where, *bad))
        targets.append(Target(j, path, ref.scale))
        return ref.scale * d.median_value()
    try:
        d = Dist.model_validate(x)
    except ValidationError as exc:
        problems.append(UncertaintyProblem(where, *_dist_problem(exc)))
        return 0.0
    bad = _range_problem(key[0], key[1], *d.support())
    if bad:
        problems.append(UncertaintyProblem(where, *bad))
    targets.append(Target(len(variables), path, 1.0))
    variables.append(Variable(".".join(path), d))
    return d.median_value()
