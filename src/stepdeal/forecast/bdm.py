r"""Bueno de Mesquita's expected-utility ("challenge") model, after Scholz et al. (2011).

Reimplemented from the equations of Scholz, Calbert & Smith (2011), "Unravelling
Bueno De Mesquita's Group Decision Model", *Journal of Theoretical Politics* 23(4):
510–531 (appendix algorithm; equation numbers below are theirs). No code was copied
from any public implementation; Scholz's own code is known only through the
behaviour documented in the project notes, and its quirks are switches here.

BDM is one-dimensional: every dimension of the :class:`ActorTable` is run on its
own, with the actors' saliences on that dimension and the same capabilities. The
salience :math:`s_i` is the table's 0–100 salience divided by 100: it is read as the
probability that :math:`i` resists a challenge. Capabilities only enter as ratios.

Per round, on one dimension, with positions :math:`x`, weights :math:`w_k = c_k s_k`,
span :math:`R` (:attr:`BdmSwitches.span`) and risk exponents :math:`r` (1 at first):

1. **Median** :math:`\mu` — the Condorcet winner of the cardinal pairwise votes
   :math:`v^{jk} = \sum_i w_i (\delta_{ik} - \delta_{ij})`, with
   :math:`\delta_{im} = (|x_i - x_m|/R)^{\rho_i}`. Because
   :math:`v^{jk} = f(x_k) - f(x_j)` with :math:`f(m) = \sum_i w_i \delta_{im}`, the
   votes are transitive: a Condorcet winner always exists, it is the actor position
   minimising :math:`f`, and Scholz's sequential pairwise scan finds the same point.
   With linear votes (:math:`\rho = 1`, the appendix) it is the weighted median.
2. **Probability** that :math:`i` beats :math:`j` (eq. 30/31):
   :math:`P_{ij} = \sum_k w_k [\delta_{kj} - \delta_{ki}]^+ / Z_{ij}` with
   :math:`Z_{ij} = \sum_k w_k |\delta_{kj} - \delta_{ki}|` per pair (the paper) or
   :math:`Z = \sum_k w_k \sum_{a,b} |\delta_{kb} - \delta_{ka}|` over all triples
   (Scholz's code).
3. **Utilities** of :math:`i` against :math:`j` with exponent :math:`r`
   (eqs. 15, 16, 22–24), :math:`d = |x_i - x_j|/R`, :math:`d_\mu = |x_i - \mu|/R`:
   :math:`U_s = 2 - 4(\tfrac12 - \tfrac12 d)^r`, :math:`U_f = 2 - 4(\tfrac12 + \tfrac12 d)^r`,
   :math:`U_b = 2 - 4(\tfrac12 - \tfrac14(d_\mu + d))^r`,
   :math:`U_w = 2 - 4(\tfrac12 + \tfrac14(d_\mu + d))^r`, :math:`U_{sq} = 2 - 4(\tfrac12)^r`.
4. **Expected utility** of :math:`i` challenging :math:`j` (eqs. 5–7), with the
   leading salience :math:`\sigma` (A1):
   :math:`E(U_{ij}) = \sigma(P_{ij} U_s + (1 - P_{ij}) U_f) + (1 - \sigma) U_s
   - Q U_{sq} - (1 - Q)(T U_b + (1 - T) U_w)`.
   A challenge between actors at the same position is void: :math:`E = 0`.
5. **Risk** (eqs. 32–34): with every :math:`r = 1`, the security :math:`S_i`
   (:math:`\mathrm{Sec}_i`, A2) gives
   :math:`R_i = (2 S_i - \max S - \min S)/(\max S - \min S) \in [-1, 1]`
   and :math:`r_i = (1 - R_i/3)/(1 + R_i/3) \in [\tfrac12, 2]`; the expected
   utilities are then recomputed with :math:`r`.
6. **Offers** — receiver :math:`i` looks at each proposer :math:`j` through
   :math:`(a, b) = (E(U_{ij}), E(U_{ji}))` (fig. 6):

   * confrontation, :math:`b > a > 0`: :math:`i` moves to :math:`x_j`;
   * compromise−, :math:`a < 0 < b`, :math:`|b| > |a|` (A3): :math:`i` moves to
     :math:`x_i + (x_j - x_i)|a/b|` (eq. 36);
   * capitulation (compel−), :math:`a < 0 < b`, :math:`|a| \ge |b|` (A4): :math:`i`
     moves to :math:`x_j`;
   * anything else (stalemate, or :math:`i` has the upper hand): no move for
     :math:`i` (the mirror-image octants move :math:`j`, as :math:`j`'s own offers).

   Boundaries (an EU of exactly 0, :math:`a = b`) are no-move. Each actor takes one
   offer (:attr:`BdmSwitches.choice`, :attr:`BdmSwitches.by_type`); all actors move
   at once. Exact ties between offers go to the lower resulting position.

The actors are processed in a canonical order (initial position, capability,
salience), so permuting the table's rows permutes the result exactly, bit for bit.
Moves are convex combinations of current positions: positions never leave the
initial range. The dynamics need not converge (Scholz: the median "appears to
stabilise, but then continues to change"); read the rounds, not only the end point.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from stepdeal.forecast.actors import ActorTable
from stepdeal.forecast.compromise import weights
from stepdeal.forecast.result import ForecastResult

F64 = NDArray[np.float64]
B8 = NDArray[np.bool_]

#: the width of the :class:`ActorTable` position scale (used by ``span="scale"``)
SCALE = 100.0

Salience = Literal["target", "challenger"]
Security = Literal["challengers", "target"]
CompromiseMinus = Literal["figure", "text"]
Choice = Literal["least_move", "highest_eu"]
CompromiseKey = Literal["choice", "weighted_position"]
TRule = Literal["median", "better", "worse"]
Median = Literal["weighted", "condorcet"]
Span = Literal["initial", "dynamic", "scale"]
Probability = Literal["pair", "triples"]
Perception = Literal["own", "receiver"]

_CHOICES: dict[str, Any] = {
    "salience": Salience,
    "security": Security,
    "compromise_minus": CompromiseMinus,
    "choice": Choice,
    "compromise_key": CompromiseKey,
    "t": TRule,
    "median": Median,
    "span": Span,
    "probability": Probability,
    "perception": Perception,
}


@dataclass(frozen=True)
class BdmSwitches:
    """Every ambiguity of the published BDM specification, as an explicit choice.

    The defaults are our reading of the paper (the ``"paper"`` preset);
    ``BdmSwitches.preset("scholz2011")`` reproduces Scholz et al.'s Table 2 best.

    * ``salience`` (A1) — leading salience :math:`\\sigma` in :math:`E(U_{ij})`:
      ``"target"`` = :math:`s_j`, the salience of the one challenged, read as its
      probability of resisting (eq. 6 and its i↔j swap; Scholz's code), or
      ``"challenger"`` = :math:`s_i`.
    * ``security`` (A2) — superscript of the security sum :math:`\\mathrm{Sec}_i`:
      ``"challengers"`` = :math:`\\sum_{j \\ne i} E^j(U_{ji})`, what the others expect
      from challenging :math:`i` (the prose of §5; Scholz's code), or ``"target"`` =
      :math:`\\sum_{j \\ne i} E^i(U_{ji})`, the superscript as printed in eq. 34, read
      as :math:`i`'s own expected utility when :math:`j` challenges it:
      :math:`\\sigma'(P_{ji} U_f + (1 - P_{ji}) U_s) + (1 - \\sigma') U_f - Q U_{sq}
      - (1 - Q)(T U_b + (1 - T) U_w)`, :math:`i`'s utilities, :math:`\\sigma'` by A1.
    * ``compromise_minus`` (A3) — region of Compromise− (:math:`j` has the upper
      hand, :math:`i` moves part way): ``"figure"`` = :math:`a < 0 < b`,
      :math:`|b| > |a|` (fig. 6, the mirror image of Compromise+), or ``"text"`` =
      :math:`b < a < 0` as printed (then :math:`a < 0 < b`, :math:`|b| > |a|` is no move).
    * ``confrontation`` (A4) — whether the conflict quadrant :math:`a, b > 0` makes the
      side with the lower EU move fully to the other (Scholz's reading, p. 25, and
      code), or, ``False``, leaves the uncertain conflict unresolved: nobody moves.
    * ``capitulation`` (A4) — whether the compel octant :math:`a < 0 < b`,
      :math:`|a| \\ge |b|` makes :math:`i` move fully to :math:`x_j` (fig. 6). Scholz's
      code tests a condition that is never true, so it never capitulates: ``False``.
    * ``by_type`` (A4) — offer selection first by type, confrontation before
      compromise before capitulation (the order of §6.2; Scholz's code), then by
      ``choice``; ``False`` ranks all offers by ``choice`` alone.
    * ``choice`` — among several offers: ``"least_move"`` ("players move the least
      that they can", §6.2) or ``"highest_eu"`` (concede to the proposer with the
      highest :math:`b`, for offers that are not equally enforceable).
    * ``compromise_key`` — among compromise offers (needs ``by_type``): ``"choice"``
      as above, or ``"weighted_position"``, Scholz's code: the smallest
      :math:`(|a| x_i + |b| x_j)/(|a| + |b|)`. This key is not symmetric under
      reversing the scale.
    * ``q`` — :math:`Q`, the probability that the status quo persists if nobody
      challenges (appendix: 0.5 or 1.0; Scholz used 1.0 for the EC example).
    * ``t`` — :math:`T` in the no-challenge term (irrelevant when ``q == 1``):
      ``"median"`` = 1 iff :math:`|x_i - \\mu| < |x_i - x_j|` (a move of :math:`j` to the
      median helps :math:`i`, cases 1 and 3A of §3), ``"better"`` = 1, ``"worse"`` = 0.
    * ``risk`` — compute risk exponents (step 5) or keep every :math:`r_i = 1`.
    * ``median`` — ``"weighted"``: the lower capability × salience weighted median
      of the positions (the Condorcet winner of the appendix's linear votes), or
      ``"condorcet"``: the Condorcet winner of the votes with the voters' current
      exponents :math:`\\rho` (see ``vote_risk``); the two differ only when
      ``vote_risk`` and ``risk`` are on.
    * ``span`` — :math:`R`: ``"initial"`` = max − min of the initial positions, fixed
      (Scholz's code), ``"dynamic"`` = max − min of the current positions, or
      ``"scale"`` = the 0–100 scale (100).
    * ``probability`` — denominator of :math:`P_{ij}`: ``"pair"`` (eq. 31) or
      ``"triples"``, the sum over all actor × actor × actor triples of Scholz's code
      (gives small probabilities with :math:`P_{ij} + P_{ji} \\ne 1`).
    * ``perception`` — the exponent in :math:`(a, b)`: ``"own"`` = each challenger's
      own :math:`r` (appendix step 7), or ``"receiver"`` = the receiving actor's
      :math:`r_i` for both (Scholz's code).
    * ``vote_risk`` — votes in :math:`P` (and the Condorcet median) use the voters'
      exponents :math:`\\rho_k = r_k` (Scholz's code) rather than linear distances.
    """

    salience: Salience = "target"
    security: Security = "challengers"
    compromise_minus: CompromiseMinus = "figure"
    confrontation: bool = True
    capitulation: bool = True
    by_type: bool = False
    choice: Choice = "least_move"
    compromise_key: CompromiseKey = "choice"
    q: float = 1.0
    t: TRule = "median"
    risk: bool = True
    median: Median = "weighted"
    span: Span = "initial"
    probability: Probability = "pair"
    perception: Perception = "own"
    vote_risk: bool = False

    def __post_init__(self) -> None:
        for name, kind in _CHOICES.items():
            allowed = get_args(kind)
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"BdmSwitches.{name}={getattr(self, name)!r}: use one of {allowed}"
                )
        if not 0.0 <= self.q <= 1.0:
            raise ValueError(f"BdmSwitches.q={self.q}: give a probability in [0, 1]")
        if self.compromise_key == "weighted_position" and not self.by_type:
            raise ValueError(
                "BdmSwitches.compromise_key='weighted_position' ranks compromise offers "
                "only: set by_type=True"
            )

    @classmethod
    def preset(cls, name: str) -> BdmSwitches:
        """A named preset: ``"paper"`` (the defaults) or ``"scholz2011"``."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown BDM preset {name!r}: use one of {sorted(PRESETS)}") from None


#: ``paper``: our reading of the published equations. ``scholz2011``: the
#: combination closest to Scholz et al. (2011) Table 2 (docs/explanation/forecast-bdm.md).
PRESETS: dict[str, BdmSwitches] = {
    "paper": BdmSwitches(),
    "scholz2011": BdmSwitches(
        capitulation=False,
        by_type=True,
        compromise_key="weighted_position",
        probability="triples",
        perception="receiver",
        vote_risk=True,
    ),
}


# --- one dimension -----------------------------------------------------------------


def distance_powers(x: F64, span: float, rho: F64) -> F64:
    """``delta[k, m]`` = :math:`(|x_k - x_m| / R)^{\\rho_k}` (voter ``k``, position ``m``)."""
    base = np.abs(x[:, None] - x[None, :]) / span
    out: F64 = base ** rho[:, None]
    return out


def win_probabilities(x: F64, w: F64, delta: F64, mode: Probability) -> F64:
    """``P[i, j]``: the probability that ``i`` beats ``j`` (eq. 30/31), ``(n, n)``.

    The numerator :math:`N_{ij} = \\sum_k w_k [\\delta_{kj} - \\delta_{ki}]^+` counts the
    voters nearer :math:`x_i`: for :math:`x_i < x_j` those below the midpoint. With
    voters sorted by position and prefix sums :math:`C_{tm} = \\sum_{k < t} w_k
    \\delta_{km}`, :math:`N_{ij} = C_{t j} - C_{t i}` (:math:`t` = voters below the
    midpoint), and the mirror image for :math:`x_i > x_j`: :math:`O(n^2 \\log n)`
    instead of :math:`O(n^3)`. Pair mode divides by :math:`N_{ij} + N_{ji}` (0.5 if
    nobody cares); triples mode by the sum over all triples. Zero on the diagonal
    and between actors at the same position.
    """
    n = x.size
    order = np.argsort(x, kind="stable")
    prefix = np.zeros((n + 1, n))
    np.cumsum((w[:, None] * delta)[order], axis=0, out=prefix[1:])
    total = prefix[n]
    t = np.searchsorted(x[order], 0.5 * (x[:, None] + x[None, :]), side="left")
    cols = np.arange(n)
    cj = prefix[t, cols[None, :]]
    ci = prefix[t, cols[:, None]]
    lower = x[:, None] < x[None, :]
    upper = x[:, None] > x[None, :]
    num = np.where(
        lower, cj - ci, np.where(upper, (total[None, :] - cj) - (total[:, None] - ci), 0.0)
    )
    num = np.maximum(num, 0.0)
    tiny = 1e-12 * float(w.sum())
    if mode == "pair":
        den = num + num.T
        p: F64 = np.where(den > tiny, num / np.where(den > tiny, den, 1.0), 0.5)
    else:
        ys = np.sort(delta, axis=1)
        coef = 2.0 * np.arange(n) - n + 1.0
        z = 2.0 * float(w @ (ys @ coef))
        p = num / z if z > tiny else np.full((n, n), 0.5)
    p[~(lower | upper)] = 0.0
    return p


def median_position(x: F64, w: F64, delta: F64 | None = None) -> float:
    """The weighted median of ``x`` (``delta`` None), else the Condorcet winner.

    Weighted: the lowest position whose cumulative weight (positions sorted) reaches
    half the total. Condorcet: the position minimising :math:`\\sum_k w_k
    \\delta_{km}` (the winner of every pairwise vote, see the module docstring);
    ties to the lowest position.
    """
    total = float(w.sum())
    if delta is None:
        order = np.argsort(x, kind="stable")
        cum = np.cumsum(w[order])
        k = int(np.searchsorted(cum, 0.5 * total - 1e-12 * total, side="left"))
        return float(x[order][min(k, x.size - 1)])
    f = w @ delta
    best = f <= f.min() + 1e-12 * max(total, 1e-300)
    return float(x[best].min())


def _no_challenge(x: F64, mu: float, span: float, expo: Any, t: TRule) -> F64:
    """:math:`T U_b + (1 - T) U_w` for challenger ``i`` (rows) and target ``j``."""
    d = np.abs(x[:, None] - x[None, :]) / span
    dmu = np.abs(x - mu)[:, None] / span
    ub = 2.0 - 4.0 * np.maximum(0.5 - 0.25 * (dmu + d), 0.0) ** expo
    uw = 2.0 - 4.0 * (0.5 + 0.25 * (dmu + d)) ** expo
    if t == "better":
        return np.broadcast_to(ub, d.shape).astype(float)
    if t == "worse":
        return np.broadcast_to(uw, d.shape).astype(float)
    helps = np.abs(x - mu)[:, None] < np.abs(x[:, None] - x[None, :])
    out: F64 = np.where(helps, ub, uw)
    return out


def expected_utilities(
    x: F64,
    s: F64,
    p: F64,
    mu: float,
    span: float,
    expo: Any,
    sw: BdmSwitches,
    *,
    target: bool = False,
) -> F64:
    """``E[i, j]`` (eqs. 5–7): challenger ``i``'s expected utility of challenging ``j``.

    ``expo`` is the exponent :math:`r`, broadcast against ``(n, n)``: ``r[:, None]`` for
    each challenger's own, ``r[None, :]`` for the target's. With ``target=True``,
    ``E[i, j]`` is instead :math:`E^i(U_{ji})`, ``i``'s own expected utility when ``j``
    challenges it (A2, ``security="target"``). Zero between equal positions.
    """
    d = np.abs(x[:, None] - x[None, :]) / span
    us = 2.0 - 4.0 * np.maximum(0.5 - 0.5 * d, 0.0) ** expo
    uf = 2.0 - 4.0 * (0.5 + 0.5 * d) ** expo
    usq = 2.0 - 4.0 * 0.5**expo
    if target:  # i is challenged by j: j's success is i's failure
        lead = s[:, None] if sw.salience == "target" else s[None, :]
        e = lead * (p.T * uf + (1.0 - p.T) * us) + (1.0 - lead) * uf
    else:
        lead = s[None, :] if sw.salience == "target" else s[:, None]
        e = lead * (p * us + (1.0 - p) * uf) + (1.0 - lead) * us
    e = e - sw.q * usq
    if sw.q < 1.0:
        e = e - (1.0 - sw.q) * _no_challenge(x, mu, span, expo, sw.t)
    out: F64 = np.where(d > 0.0, e, 0.0)
    return out


def risk_exponents(security: F64) -> F64:
    """Eqs. 32–34: :math:`R_i` in [−1, 1] from the security levels, then
    :math:`r_i = (1 - R_i/3)/(1 + R_i/3)`; all 1 if the securities are all equal."""
    hi, lo = float(security.max()), float(security.min())
    if hi - lo <= 1e-12 * max(1.0, abs(hi), abs(lo)):
        return np.ones_like(security)
    big_r = (2.0 * security - hi - lo) / (hi - lo)
    out: F64 = (1.0 - big_r / 3.0) / (1.0 + big_r / 3.0)
    return out


def choose_offers(x: F64, a: F64, b: F64, sw: BdmSwitches) -> tuple[F64, B8]:
    """Step 6: each receiver ``i`` (row) takes at most one offer; new positions and who moved.

    ``a[i, j]`` = :math:`E(U_{ij})` and ``b[i, j]`` = :math:`E(U_{ji})` as ``i`` sees them.
    """
    n = x.size
    toward = x[None, :] - x[:, None]  # x_j - x_i
    valid = toward != 0.0
    conf = valid & (a > 0.0) & (b > a) & sw.confrontation
    if sw.compromise_minus == "figure":
        comp = valid & (a < 0.0) & (b > 0.0) & (b > -a)
    else:
        comp = valid & (b < a) & (a < 0.0)
    capit = valid & (a < 0.0) & (b > 0.0) & (-a >= b)
    if not sw.capitulation:
        capit = np.zeros_like(capit)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(comp, np.abs(a / np.where(b != 0.0, b, 1.0)), 1.0)
    new = np.where(comp, x[:, None] + toward * frac, x[None, :])
    kind = np.full((n, n), 3)
    kind[capit] = 2
    kind[comp] = 1
    kind[conf] = 0
    offered = kind < 3
    if sw.by_type:
        offered &= kind == np.where(offered, kind, 3).min(axis=1, keepdims=True)
    key = np.abs(new - x[:, None]) if sw.choice == "least_move" else -b
    if sw.compromise_key == "weighted_position":
        aa, bb = np.abs(a), np.abs(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            wpos = (aa * x[:, None] + bb * x[None, :]) / (aa + bb)
        key = np.where(comp, wpos, key)
    key = np.where(offered, key, np.inf)
    pick = offered & (key == key.min(axis=1, keepdims=True))
    moved = pick.any(axis=1)
    out: F64 = np.where(moved, np.where(pick, new, np.inf).min(axis=1), x)
    return out, moved


@dataclass
class DimensionRun:
    """One dimension's trajectory: ``positions[t]`` after round ``t`` (0 = input)."""

    positions: F64  # (rounds + 1, n)
    median: F64  # (rounds + 1,)
    mean: F64  # (rounds + 1,)
    moves: list[int]  # actors that moved in round 1, 2, ...
    risk: F64  # (n,) exponents of the last round played


def simulate(x0: F64, c: F64, s: F64, rounds: int, sw: BdmSwitches) -> DimensionRun:
    """Run BDM on one dimension: positions ``x0``, capabilities ``c``, saliences ``s`` in [0, 1]."""
    n = x0.size
    w = c * s
    ones = np.ones(n)
    x = x0.astype(float).copy()
    positions = np.empty((rounds + 1, n))
    positions[0] = x
    span0 = float(x.max() - x.min())
    rho, r = ones, ones

    def median(pos: F64, span: float) -> float:
        if sw.median == "weighted" or span <= 0.0:
            return median_position(pos, w)
        return median_position(pos, w, distance_powers(pos, span, rho))

    def current_span(pos: F64) -> float:
        if sw.span == "initial":
            return span0
        return SCALE if sw.span == "scale" else float(pos.max() - pos.min())

    medians = [median(x, current_span(x))]
    moves: list[int] = []
    for t in range(1, rounds + 1):
        span = current_span(x)
        moved_any = 0
        if span > 0.0:
            mu = medians[-1]
            delta = distance_powers(x, span, ones)
            p = win_probabilities(x, w, delta, sw.probability)
            r = ones
            if sw.risk:
                e1 = expected_utilities(x, s, p, mu, span, 1.0, sw)
                if sw.security == "challengers":
                    sec = e1.sum(axis=0)
                else:
                    sec = expected_utilities(x, s, p, mu, span, 1.0, sw, target=True).sum(axis=1)
                r = risk_exponents(sec)
                if sw.vote_risk:
                    rho = r
                    p = win_probabilities(x, w, distance_powers(x, span, rho), sw.probability)
            a = expected_utilities(x, s, p, mu, span, r[:, None], sw)
            if sw.perception == "own":
                b = a.T
            else:
                b = expected_utilities(x, s, p, mu, span, r[None, :], sw).T
            x, moved = choose_offers(x, a, b, sw)
            moved_any = int(moved.sum())
        positions[t] = x
        moves.append(moved_any)
        medians.append(median(x, current_span(x)))
        if moved_any == 0:  # the state is the positions: an idle round repeats for ever
            positions[t + 1 :] = x
            medians.extend([medians[-1]] * (rounds - t))
            moves.extend([0] * (rounds - t))
            break
    mean = positions @ w / w.sum()
    return DimensionRun(positions, np.asarray(medians), mean, moves, r)


# --- the table ---------------------------------------------------------------------


def bdm(table: ActorTable, rounds: int = 10, switches: BdmSwitches | None = None) -> ForecastResult:
    """Run the BDM expected-utility model on every dimension of ``table`` separately.

    ``rounds[t]`` are the positions after round ``t`` (``rounds[0]`` = the input), on the
    input scale; ``forecast[d]`` is the median-voter position after the last round.
    Extras: ``median_by_round`` and ``mean_by_round`` (``[t][d]``, the mean is the
    capability × salience weighted mean), ``mean`` (after the last round),
    ``moves_by_round`` (actors that moved, ``[t - 1][d]``), ``first_idle_round``
    (per dimension, the first round in which nobody moved, else None: later rounds
    repeat it), ``risk_exponents`` (``[actor][d]``, last round) and ``switches``.
    """
    if rounds < 0:
        raise ValueError(f"rounds={rounds}: give a number of rounds >= 0")
    table.validate()
    sw = switches if switches is not None else BdmSwitches()
    weights(table)  # raise early if a dimension has no weight
    c = np.asarray(table.capability, dtype=float)
    x = np.asarray(table.position, dtype=float)
    s = np.asarray(table.salience, dtype=float) / 100.0
    n, n_dims = x.shape
    positions = np.empty((rounds + 1, n, n_dims))
    median = np.empty((rounds + 1, n_dims))
    mean = np.empty((rounds + 1, n_dims))
    moves = np.zeros((rounds, n_dims), dtype=int)
    risk = np.empty((n, n_dims))
    idle: list[int | None] = []
    for d in range(n_dims):
        order = np.lexsort((s[:, d], c, x[:, d]))  # canonical: permutation-proof
        run = simulate(x[order, d], c[order], s[order, d], rounds, sw)
        positions[:, order, d] = run.positions
        median[:, d], mean[:, d] = run.median, run.mean
        moves[:, d] = run.moves
        risk[order, d] = run.risk
        idle.append(next((t + 1 for t, m in enumerate(run.moves) if m == 0), None))
    return ForecastResult(
        model="bdm",
        dimensions=table.dimensions,
        actors=table.actors,
        rounds=[positions[t] for t in range(rounds + 1)],
        forecast=median[-1].copy(),
        extras={
            "median_by_round": median.tolist(),
            "mean_by_round": mean.tolist(),
            "mean": mean[-1].tolist(),
            "moves_by_round": moves.tolist(),
            "first_idle_round": idle,
            "risk_exponents": {a: risk[i].tolist() for i, a in enumerate(table.actors)},
            "switches": asdict(sw),
        },
    )
