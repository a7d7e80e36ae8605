"""KTAB's Spatial Model of Politics (SMP): probabilistic Condorcet bargaining.

A reimplementation of the SMP of KAPSARC's Toolkit for Behavioral Analysis (KTAB,
``github.com/KAPSARC/KTAB``, MIT licence, © 2015 King Abdullah Petroleum Studies and
Research Center), following ``kmodel.cpp``, ``smp.cpp`` and ``smpbcn.cpp``. The code is
our own; the algorithm, its constants and its quirks are KTAB's. With the default
parameters it reproduces KTAB's reference run of ``dummyData_3Dim.csv`` at every printed
digit (see ``docs/explanation/forecast-smp.md``).

Notation (everything on KTAB's internal [0, 1] scale; the table's 0–100 numbers are
divided by 100): actor :math:`i` has capability :math:`c_i`, salience :math:`s_{id}`
on dimension :math:`d` with total :math:`S_i = \\sum_d s_{id} \\le 1`, position
:math:`x_i` and ideal :math:`\\theta_i` (equal to :math:`x_i` unless ideals lag, see
``accommodation``).

One **state** :math:`t` is evaluated as follows.

1. Distance (``bvDiff``): :math:`d_{ij} = \\sqrt{\\sum_d ((\\theta_{id} - x_{jd}) s_{id})^2
   / \\sum_d s_{id}^2}`.
2. Utility with risk attitude :math:`R` (``bsUtil``): :math:`u(d, R) = (1-d)(1+dR)`.
3. Risk attitudes (``setAllAUtil``): a probabilistic Condorcet election (PCE) over the
   actors' positions with risk-neutral utilities :math:`u(d_{ij}, 0)`, votes weighted by
   :math:`c_k`, gives :math:`p_i`; ``Mid`` maps it to
   :math:`R_i = (3p_i - p_{max} - 2p_{min}) / (2(p_{max}-p_{min})) \\in [-\\tfrac12, 1]`.
   Actor :math:`h` estimates :math:`i`'s attitude as :math:`r^h_i = (2R_h + R_i)/3`
   (``OneThird``), so :math:`U^h_{ij} = u(d_{ij}, r^h_i)`.
4. Votes and coalitions: :math:`v_k(a{:}b) = w_k f(u_{ka} - u_{kb})`
   (``Prop``: :math:`f(\\Delta) = \\Delta`), :math:`C(a{:}b) = 10^{-8} + \\sum_k [v_k]^+`;
   victory probability (``Linear``) :math:`P[a \\succ b] = C(a{:}b)/(C(a{:}b)+C(b{:}a))`;
   PCE (``Conditional``) :math:`p_a \\propto \\prod_b P[a \\succ b]`.
5. Challenges (``probEduChlg``): :math:`h` rates :math:`i` challenging :math:`j`.
   The principals vote with weight :math:`S c`; each third party :math:`n` joins the side
   it prefers after weighing the "little conflict" of :math:`i, j, n` alone
   (``thirdPartyVoteSU``, ``SemiCommit``). With :math:`\\phi` the resulting probability
   that :math:`i` wins, the gain to :math:`k` is
   :math:`(1-S_j)\\,2U_{ki} + S_j(\\phi\\,2U_{ki} + (1-\\phi)\\,2U_{kj}) - (U_{ki}+U_{kj})`.
6. Proposals (``doBCN``): each actor challenges the target of largest own gain (if above
   :math:`10^{-5}`) and proposes that both move to (almost) the same point, per dimension
   weighted by :math:`s^2 \\phi^2` (``S2P2``), rounded to 4 decimals. The bargain joins
   the queues of both actors; every queue also holds the status quo.
7. Resolution: every actor :math:`a` values each bargain in :math:`k`'s queue by its mean
   utility over all :math:`n` positions after the bargain; a PCE over the queue (weights
   :math:`c`) picks the bargain :math:`k` adopts (``Deterministic``: the most probable).
8. Ideals: :math:`\\theta_i \\leftarrow \\sum_j A_{ij} x_j + (1 - \\sum_j A_{ij})\\,\\theta_i`
   (``A`` = identity: ideals track positions).
9. Stop (``smpStopFn``) at step :math:`t \\ge 100`, or at :math:`t \\ge 2` once
   :math:`\\mathrm{dist}(t-1, t) / (\\mathrm{dist}(0, 1) + 10^{-4}) < 0.02`, with
   :math:`\\mathrm{dist} = \\sum_i \\lVert x_i(t) - x_i(t-1) \\rVert_2`.

The reported probability of a state (``pDist(-1)``) is a PCE over its *distinct*
positions (closer than 0.1 on the 0–100 scale count as one) with each actor's own
risk-aware utility :math:`u(d_{ij}, R_i)`, the voting rule and weights :math:`c`;
each actor gets the probability of the position it holds, so actors sharing a position
share a probability and the per-actor numbers can sum to more than 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, get_args

import numpy as np
from numpy.typing import NDArray

from .actors import ActorTable, ActorTableError
from .result import ForecastResult

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

VictoryProbModel = Literal["Linear", "Square", "Quartic", "Octic", "Binary"]
PCEModel = Literal["Conditional", "MarkovIncentive", "MarkovUniform"]
StateTransitions = Literal["Deterministic", "Stochastic"]
VotingRule = Literal["Binary", "PropBin", "Prop", "PropCbc", "Cubic", "ASymProsp"]
BigRAdjust = Literal["None", "OneThird", "Half", "TwoThirds", "Full"]
BigRRange = Literal["Min", "Mid", "Max"]
ThirdPartyCommit = Literal["NoCommit", "SemiCommit", "FullCommit"]
InterVecBrgn = Literal["S1P1", "S2P2", "S2PMax"]
BargnModel = Literal["InitOnlyInterp", "InitRcvrInterp", "PWCompInterp"]

#: KTAB's XML element name -> (our field, the allowed values)
KTAB_PARAMETERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "VictoryProbModel": ("victory_prob_model", get_args(VictoryProbModel)),
    "PCEModel": ("pce_model", get_args(PCEModel)),
    "StateTransitions": ("state_transitions", get_args(StateTransitions)),
    "VotingRule": ("voting_rule", get_args(VotingRule)),
    "BigRAdjust": ("big_r_adjust", get_args(BigRAdjust)),
    "BigRRange": ("big_r_range", get_args(BigRRange)),
    "ThirdPartyCommit": ("third_party_commit", get_args(ThirdPartyCommit)),
    "InterVecBrgn": ("inter_vec_brgn", get_args(InterVecBrgn)),
    "BargnModel": ("bargn_model", get_args(BargnModel)),
}
#: other spellings accepted for the same values (KTAB's docs, logs and notes use them)
ALIASES: dict[str, dict[str, str]] = {
    "VotingRule": {"Proportional": "Prop"},
    "BigRAdjust": {"No": "None", "NoRA": "None"},
    "ThirdPartyCommit": {"No": "NoCommit", "Semi": "SemiCommit", "Full": "FullCommit"},
}

MIN_COALITION = 1e-8  # Model::coalitions
MIN_CHALLENGE_COALITION = 1e-10  # SMPState::probEduChlg
MIN_GAIN = 1e-5  # SMPState::bestChallenge: smallest gain worth a challenge
_BLOCK = 1 << 15  # elements per chunk of the (actor, actor, actor) tensors: cache-sized


def canonical(name: str, value: str) -> str:
    """KTAB's spelling of ``value`` for the XML parameter ``name``; ``ValueError`` if unknown."""
    _, allowed = KTAB_PARAMETERS[name]
    v = ALIASES.get(name, {}).get(value.strip(), value.strip())
    if v not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return v


@dataclass(frozen=True)
class SmpParams:
    """The SMP's switches, spelled as in KTAB's XML ``ModelParameters``; the defaults
    are KTAB's. ``accommodation`` lists ``(adjusting actor, reference actor, rate)`` pairs
    (KTAB's ``iaPair``) that override entries of the identity accommodation matrix.

    ``max_iterations``, ``min_iterations``, ``stop_ratio`` and ``min_sig_delta`` are
    KTAB's stop rule (100, 2, 0.02, 1e-4); ``position_tolerance`` (1e-3 on [0, 1]) is the
    distance below which two positions count as one. ``seed`` seeds numpy's generator for
    ``Stochastic`` transitions (KTAB's XML ``prngSeed``; KTAB's own Mersenne Twister
    draws are not replayed). ``ktab_quirks`` reproduces two slips in KTAB's
    ``InitRcvrInterp``/``PWCompInterp`` bargains (the receiver's bargain uses its
    estimate of the initiator's *gain* as a probability; the compromise weights use the
    initiator's capability for both sides); the default bargain model does not use them.
    """

    victory_prob_model: VictoryProbModel = "Linear"
    pce_model: PCEModel = "Conditional"
    state_transitions: StateTransitions = "Deterministic"
    voting_rule: VotingRule = "Prop"
    big_r_adjust: BigRAdjust = "OneThird"
    big_r_range: BigRRange = "Mid"
    third_party_commit: ThirdPartyCommit = "SemiCommit"
    inter_vec_brgn: InterVecBrgn = "S2P2"
    bargn_model: BargnModel = "InitOnlyInterp"
    accommodation: tuple[tuple[str, str, float], ...] = ()
    max_iterations: int = 100
    min_iterations: int = 2
    stop_ratio: float = 0.02
    min_sig_delta: float = 1e-4
    position_tolerance: float = 1e-3
    seed: int | None = None
    ktab_quirks: bool = True

    def __post_init__(self) -> None:
        for xml_name, (attr, allowed) in KTAB_PARAMETERS.items():
            if getattr(self, attr) not in allowed:
                raise ValueError(
                    f"{attr}={getattr(self, attr)!r} ({xml_name}) is not one of "
                    f"{', '.join(allowed)}"
                )
        if self.max_iterations < 1 or self.min_iterations < 1:
            raise ValueError("max_iterations and min_iterations must be at least 1")
        for a, r, rate in self.accommodation:
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"accommodation rate {rate:g} for ({a}, {r}) outside [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON values (``accommodation`` as lists)."""
        d = asdict(self)
        d["accommodation"] = [list(p) for p in self.accommodation]
        return d


class BargainChooser(Protocol):
    """Picks the bargain actor ``actor`` adopts at step ``step`` (0 = the move from the
    initial state): ``bargains`` are ``(initiator, receiver)`` index pairs (the status quo
    is ``(actor, actor)``, always first), ``probabilities`` their PCE probabilities.
    Replace the default (most probable / sampled) to replay a logged run."""

    def __call__(
        self, step: int, actor: int, bargains: Sequence[tuple[int, int]], probabilities: F64
    ) -> int: ...


# --------------------------------------------------------------------------- elements


def salience_distance(ideal: F64, pos: F64, sal: F64) -> F64:
    """``d[i, j]``: distance from ``ideal[i]`` to ``pos[j]`` weighted by ``sal[i]``
    (KTAB ``bvDiff``), all on [0, 1]; shape ``(len(ideal), len(pos))``."""
    diff = (ideal[:, None, :] - pos[None, :, :]) * sal[:, None, :]
    ds = np.einsum("ijd,ijd->ij", diff, diff)
    ss = np.einsum("id,id->i", sal, sal)
    out: F64 = np.sqrt(ds / ss[:, None])
    return out


def risk_utility(d: F64, r: F64 | float) -> F64:
    """:math:`u(d, R) = (1-d)(1+dR)`, and :math:`(1-d)(1+R)` for :math:`d > 1` (KTAB
    ``bsUtil``)."""
    out: F64 = np.where(d <= 1.0, (1.0 - d) * (1.0 + d * r), (1.0 - d) * (1.0 + r))
    return out


def vote(rule: VotingRule, w: F64 | float, du: F64) -> F64:
    """Influence :math:`w f(\\Delta u)` exerted for the option worth ``du`` more (KTAB
    ``Model::vote``): Binary ``clip(du/1e-8, ±1)``, PropBin ``0.8 du + 0.2 bin``, Prop
    ``du``, PropCbc ``0.5 du + 0.5 du^3``, Cubic ``du^3``, ASymProsp ``du`` if negative
    else ``2 du / 3``."""
    if rule == "Prop":
        return w * du
    if rule == "Binary":
        return w * np.clip(du / 1e-8, -1.0, 1.0)
    if rule == "PropBin":
        return w * ((1 - 0.2) * du + 0.2 * np.clip(du / 1e-8, -1.0, 1.0))
    if rule == "PropCbc":
        return w * ((1 - 0.5) * du + 0.5 * (du * du * du))
    if rule == "Cubic":
        return w * (du * du * du)
    out: F64 = np.where(du < 0.0, w * du, (2.0 * w * du) / 3.0)
    return out


def est_nra(rh: F64, ri: F64, adjust: BigRAdjust) -> F64:
    """:math:`h`'s estimate of :math:`i`'s risk attitude (KTAB ``estNRA``)."""
    if adjust == "Full":
        return ri + 0.0 * rh
    if adjust == "TwoThirds":
        return (rh + (2.0 * ri)) / 3.0
    if adjust == "Half":
        return (rh + ri) / 2
    if adjust == "OneThird":
        return ((2.0 * rh) + ri) / 3.0
    return rh + 0.0 * ri


def _chunks(n: int, per_item: int) -> Iterator[slice]:
    step = max(1, _BLOCK // max(per_item, 1))
    for a in range(0, n, step):
        yield slice(a, min(n, a + step))


def coalitions(rule: VotingRule, w: F64, u: F64) -> F64:
    """``C[a, b]``: strength of the coalition for option ``a`` over ``b`` given voters'
    weights ``w`` ``(n,)`` and utilities ``u`` ``(n, m)`` (KTAB ``Model::coalitions``):
    :math:`C_{ab} = 10^{-8} + \\sum_k [v_k(a{:}b)]^+`. KTAB votes each pair once, as
    (higher index : lower index), and books the negative votes to the other side; this
    matters only for the asymmetric ``ASymProsp``. For ``Prop`` the sum is computed as
    :math:`\\tfrac12 \\sum_k w_k (u_{ka} - u_{kb}) + \\tfrac12 \\sum_k w_k |u_{ka} - u_{kb}|`
    (a weighted L1 distance, equal up to rounding)."""
    n, m = u.shape
    asym = rule == "ASymProsp"
    if rule == "Prop" and m > 8:
        lin = w @ u
        pos = np.maximum(0.5 * (lin[:, None] - lin[None, :]) + 0.5 * _cityblock(u.T, w), 0.0)
        neg = pos.T
    else:
        pos, neg = np.zeros((m, m)), np.zeros((m, m))
        for blk in _chunks(n, m * m):
            v = vote(rule, w[blk, None, None], u[blk, :, None] - u[blk, None, :])
            pos += np.maximum(v, 0.0).sum(axis=0)
            if asym:
                neg += np.maximum(-v, 0.0).sum(axis=0)
        if not asym:  # v(b:a) = -v(a:b) exactly
            neg = pos.T
    c = MIN_COALITION + (np.tril(pos, -1) + np.tril(neg, -1).T)
    np.fill_diagonal(c, MIN_COALITION)
    out: F64 = c
    return out


def _cityblock(x: F64, w: F64) -> F64:
    """:math:`\\sum_k w_k |x_{ak} - x_{bk}|` for all rows ``a``, ``b`` of ``x``."""
    from scipy.spatial.distance import cdist

    out: F64 = cdist(x, x, "cityblock", w=w)
    return out


def victory_probability(vpm: VictoryProbModel, c: F64) -> F64:
    """``P[a, b]`` that option ``a`` beats ``b`` from coalition strengths (KTAB
    ``Model::vProb``): Linear :math:`C_{ab}/(C_{ab}+C_{ba})`, Square/Quartic/Octic with
    :math:`C^2, C^4, C^8`, Binary certain at a 10 % advantage and linear in between;
    :math:`P_{aa} = 1/2`."""
    p, _ = _vprob(vpm, c, c.T)
    np.fill_diagonal(p, 0.5)
    return p


def _vprob(vpm: VictoryProbModel, c1: F64, c2: F64) -> tuple[F64, F64]:
    """Probabilities that side 1 and side 2 win, from strengths ``c1``, ``c2``."""
    if vpm == "Binary":
        thresh = 1.10
        mid = ((c1 / (c1 + c2)) * (thresh + 1.0) - 1.0) / (thresh - 1.0)
        x1 = np.where(c1 >= thresh * c2, 1.0, np.where(c2 >= thresh * c1, 1e-6, mid))
        x2 = np.where(c1 >= thresh * c2, 1e-6, np.where(c2 >= thresh * c1, 1.0, 1.0 - mid))
    else:
        power = {"Linear": 1, "Square": 2, "Quartic": 4, "Octic": 8}[vpm]
        x1, x2 = c1**power, c2**power
    return x1 / (x1 + x2), x2 / (x1 + x2)


def pce(model: PCEModel, vpm: VictoryProbModel, c: F64) -> F64:
    """Probabilistic Condorcet election: the probability of each option from coalition
    strengths ``c`` (KTAB ``Model::probCE2``).

    * Conditional: :math:`p_a \\propto \\prod_b P[a \\succ b]`.
    * MarkovUniform: :math:`q_a = \\frac1m \\sum_b P[a \\succ b](p_a + p_b)`,
      :math:`p \\leftarrow (p+q)/2` until :math:`\\max|q-p| \\le 10^{-6}`.
    * MarkovIncentive: challenge probability :math:`ch(a|b) \\propto C_{ab} P[a \\succ b]`
      (:math:`+10^{-10}` on the diagonal),
      :math:`q_a = \\sum_b P[a \\succ b](p_a\\,ch(b|a) + p_b\\,ch(a|b))`, same damping,
      until :math:`\\max|q-p| \\le 10^{-8}`.
    """
    p_win = victory_probability(vpm, c)
    m = c.shape[0]
    if model == "Conditional":
        prod = np.prod(p_win, axis=1)
        total = prod.sum()
        if not 0.0 < total < np.inf:  # every product underflowed: use logarithms
            logp = np.log(p_win).sum(axis=1)
            prod, total = np.exp(logp - logp.max()), None
        out: F64 = prod / (prod.sum() if total is None else total)
        return out
    uniform = model == "MarkovUniform"
    tol = 1e-6 if uniform else 1e-8
    chlg = np.zeros((m, m))
    if not uniform:
        inc = c * p_win
        inc[np.diag_indices(m)] += 1e-10
        chlg = inc / inc.sum(axis=0, keepdims=True)  # chlg[a, b] = P(a challenges b)
    p: F64 = np.full(m, 1.0 / m)
    for _ in range(1000):
        if uniform:
            q: F64 = (p_win * (p[:, None] + p[None, :])).sum(axis=1) / m
        else:
            ct = p[:, None] * chlg.T  # ct[a, b] = p_a ch(b|a)
            q = (p_win * (ct + ct.T)).sum(axis=1)
        change = float(np.max(np.abs(q - p)))
        p = (p + q) / 2.0
        if change <= tol:
            return p
    raise RuntimeError(f"{model} PCE did not converge in 1000 iterations (KTAB aborts too)")


def scalar_pce(w: F64, u: F64, rule: VotingRule, vpm: VictoryProbModel, model: PCEModel) -> F64:
    """Probabilities of ``m`` options from voters' weights ``w`` and utilities ``u``
    ``(n, m)`` (KTAB ``Model::scalarPCE``)."""
    return pce(model, vpm, coalitions(rule, w, u))


def big_r_from_prob(p: F64, rng: BigRRange) -> F64:
    """Risk attitudes from win probabilities (KTAB ``bigRfromProb``): Min
    :math:`(p-p_{min})/\\Delta`, Mid :math:`(3p - p_{max} - 2p_{min})/(2\\Delta)`, Max
    :math:`(2p - p_{max} - p_{min})/\\Delta`, :math:`\\Delta = p_{max} - p_{min}`. When
    every probability is equal (KTAB divides by zero and aborts) all are risk neutral."""
    lo, hi = float(p.min()), float(p.max())
    if hi - lo <= 0.0:
        return np.zeros_like(p)
    if rng == "Min":
        return (p - lo) / (hi - lo)
    if rng == "Mid":
        return (3 * p - (hi + 2 * lo)) / (2 * (hi - lo))
    return (2 * p - (hi + lo)) / (hi - lo)


def distinct_positions(x: F64, tol: float) -> tuple[I64, I64]:
    """KTAB ``ueIndices``/``posProb``: the first-appearance indices of the distinct
    positions (Euclidean distance below ``tol`` counts as equal) and, per actor, the
    index *into that list* of the last representative equal to its position."""
    eq = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2) < tol
    earlier = np.tril(eq, -1)
    rep = ~earlier.any(axis=1)  # nothing equal before it: a representative
    for i in np.flatnonzero(~rep):  # in order: a representative iff no earlier one is equal
        rep[i] = not (earlier[i] & rep).any()
    r = np.flatnonzero(rep).astype(np.int64)
    sub = eq[:, r]
    last = (sub.shape[1] - 1 - np.argmax(sub[:, ::-1], axis=1)).astype(np.int64)
    return r, last


# --------------------------------------------------------------------------- one state


@dataclass
class _State:
    """Positions and ideals on [0, 1], and what KTAB derives from them."""

    x: F64  # (n, D)
    ideal: F64  # (n, D)
    d: F64 = field(init=False)  # d[i, j] from ideal i to position j
    dt: F64 = field(init=False)  # d transposed, contiguous: dt[j, n] = d[n, j]
    cdt: F64 = field(init=False)  # 1 - dt
    risk: F64 = field(init=False)  # R_i
    own: F64 = field(init=False)  # own[a, j] = U^a[a, j]


@dataclass(frozen=True)
class _Model:
    params: SmpParams
    cap: F64  # (n,)
    sal: F64  # (n, D) on [0, 1]
    tot: F64  # (n,) total salience S_i
    acc: F64 | None  # accommodation matrix; None = identity (ideals = positions)

    @property
    def n(self) -> int:
        return int(self.cap.shape[0])


def _assess(m: _Model, st: _State) -> None:
    """Distances, risk attitudes (risk-neutral PCE over all positions) and every actor's
    risk-aware utility for every position (KTAB ``setAllAUtil``)."""
    p = m.params
    st.d = salience_distance(st.ideal, st.x, m.sal)
    st.dt = np.ascontiguousarray(st.d.T)
    st.cdt = 1.0 - st.dt
    neutral = risk_utility(st.d, 0.0)
    prob = scalar_pce(m.cap, neutral, p.voting_rule, p.victory_prob_model, p.pce_model)
    st.risk = big_r_from_prob(prob, p.big_r_range)
    st.own = risk_utility(st.d, est_nra(st.risk, st.risk, p.big_r_adjust)[:, None])


def _third_party_terms(
    commit: ThirdPartyCommit, uni: F64, unj: F64, unn: F64
) -> tuple[F64, F64, F64, F64]:
    """KTAB ``thirdPartyVoteSU``: utilities (sums over three positions) of ``ik > j``,
    ``j > ik``, ``i > jk`` and ``jk > i`` for third party ``n``."""
    if commit == "FullCommit":
        return uni + uni + uni, unj + unj + unj, uni + uni + uni, unj + unj + unj
    if commit == "SemiCommit":
        return uni + uni + unn, unj + unj + unj, uni + uni + uni, unj + unj + unn
    return uni + uni + unn, unj + unj + unn, uni + uni + unn, unj + unj + unn


def challenge(
    m: _Model, st: _State, h: I64, i: I64, j: I64, k: I64 | None = None
) -> tuple[F64, F64]:
    r"""KTAB ``probEduChlg(h, k, i, j)`` for a batch: ``h``, ``i`` ``(B,)``, ``j`` and ``k``
    ``(B, J)`` (``k=None``: the initiator). Estimator ``h`` uses
    :math:`U^h_{ab} = u(d_{ab}, r^h_a)`. Returns :math:`\phi` (``h``'s probability that
    ``i`` beats ``j``) and the expected gain to ``k`` of the challenge, each ``(B, J)``.

    The principals vote with weight :math:`S c`: :math:`v_i = f(U_{ii} - U_{ij})`,
    :math:`v_j = f(U_{ji} - U_{jj})`, seeding :math:`ch_{ij}, ch_{ji}` (from
    :math:`10^{-10}`). Third party :math:`n` first weighs the little conflict
    :math:`p_{in} = (ch_{ij} + [v]^+)/(ch_{ij} + [v]^+ + ch_{ji} + [-v]^+)`,
    :math:`v = S_n c_n f(U_{ni} - U_{nj})`, then votes
    :math:`S_n c_n f(p_{in} U_1 + (1-p_{in}) U_2 - p_{in} U_3 - (1-p_{in}) U_4)`
    (``SemiCommit``: :math:`U_1 = 2U_{ni}+U_{nn}`, :math:`U_2 = 3U_{nj}`,
    :math:`U_3 = 3U_{ni}`, :math:`U_4 = 2U_{nj}+U_{nn}`; with ``NoCommit`` and
    ``FullCommit`` the two sides are equal, so third parties abstain). Then
    :math:`\phi = ch_{ij}/(ch_{ij}+ch_{ji})` and the gain is
    :math:`(1-S_j)\,2U_{ki} + S_j(\phi\,2U_{ki} + (1-\phi)\,2U_{kj}) - U_{ki} - U_{kj}`.
    """
    p = m.params
    rule = p.voting_rule
    d = st.d
    ws = m.tot * m.cap
    nb = j.shape[0]
    r = est_nra(st.risk[h][:, None], st.risk[None, :], p.big_r_adjust)  # r[t, a] = r^h_a
    rows = np.arange(nb)[:, None]
    ii = i[:, None]

    def util(a: I64, b: I64) -> F64:  # U^h[a, b], a and b (B, J)
        return risk_utility(d[a, b], r[rows, a])

    uii, uij, uji, ujj = util(ii, ii), util(ii, j), util(j, ii), util(j, j)
    chij, chji = _principals(rule, ws[ii], ws[j], uii - uij, uji - ujj)
    uni = risk_utility(d[:, i].T, r)  # U^h[n, i], (B, n)
    unn = risk_utility(np.diagonal(d)[None, :], r)  # U^h[n, n]
    phij = _phi(m, st, r, uni, unn, i, j, chij, chji)
    if k is None:
        return phij, _gain(m, j, phij, np.broadcast_to(uii, j.shape), uij)
    return phij, _gain(m, j, phij, util(k, np.broadcast_to(ii, j.shape)), util(k, j))


def _principals(rule: VotingRule, wi: F64, wj: F64, dui: F64, duj: F64) -> tuple[F64, F64]:
    """Coalitions for and against ``i`` seeded by the principals' own votes
    :math:`v_i = S_i c_i f(U_{ii} - U_{ij})` and :math:`v_j = S_j c_j f(U_{ji} - U_{jj})`."""
    ci = vote(rule, wi, dui)
    cj = vote(rule, wj, duj)
    chij = (MIN_CHALLENGE_COALITION + np.maximum(ci, 0.0)) + np.maximum(cj, 0.0)
    chji = (MIN_CHALLENGE_COALITION + np.maximum(-ci, 0.0)) + np.maximum(-cj, 0.0)
    return chij, chji


def _phi(
    m: _Model, st: _State, r: F64, uni: F64, unn: F64, i: I64, j: I64, chij: F64, chji: F64
) -> F64:
    """:math:`\\phi = ch_{ij}/(ch_{ij}+ch_{ji})` once the third parties have voted."""
    if m.params.third_party_commit == "SemiCommit":
        third = _third_parties_prop if m.params.voting_rule == "Prop" else _third_parties
        up, down = third(m, st, r, uni, unn, i, j, chij, chji)
        chij = chij + up
        chji = chji + down
    out: F64 = chij / (chij + chji)
    return out


def _gain(m: _Model, j: I64, phij: F64, uki: F64, ukj: F64) -> F64:
    """Expected gain to ``k`` of ``i`` challenging ``j`` over the status quo."""
    phji = 1.0 - phij
    eu_vict = uki + uki
    eu_cntst = phij * eu_vict + phji * (ukj + ukj)
    sj = m.tot[j]
    edu: F64 = ((1 - sj) * eu_vict + sj * eu_cntst) - (uki + ukj)
    return np.broadcast_to(edu, j.shape).copy()


def _exclude(a: F64, i: I64, j: I64) -> None:
    """Zero ``a[t, q, n]`` for ``n = i[t]`` and ``n = j[t, q]``: no third parties."""
    rows = np.arange(a.shape[0])[:, None]
    q = np.arange(a.shape[1])[None, :]
    a[rows, q, i[:, None]] = 0.0
    a[rows, q, j] = 0.0


def _third_parties(
    m: _Model, st: _State, r: F64, uni: F64, unn: F64, i: I64, j: I64, chij: F64, chji: F64
) -> tuple[F64, F64]:
    """The third parties' added strength for and against ``i`` (``SemiCommit``), as in
    KTAB's ``vProbLittle`` and ``thirdPartyVoteSU``, term by term; tensors ``(B, J, n)``.
    ``r``, ``uni`` :math:`= U^h_{ni}`, ``unn`` :math:`= U^h_{nn}` are ``(B, n)``."""
    rule = m.params.voting_rule
    ws = m.tot * m.cap
    uni, unn = uni[:, None, :], unn[:, None, :]
    dnj = st.dt[j]
    unj = (1.0 - dnj) * (1.0 + dnj * r[:, None, :])  # d <= 1
    wn = ws[None, None, :]
    vn = vote(rule, wn, uni - unj)
    c0i, c0j = chij[:, :, None], chji[:, :, None]
    cni = np.where(vn > 0.0, c0i + vn, c0i)
    cnj = np.where(vn < 0.0, c0j - vn, c0j)
    pin = cni / (cni + cnj)
    pjn = 1.0 - pin
    t1, t2, t3, t4 = _third_party_terms("SemiCommit", uni, unj, unn)
    v3 = vote(rule, wn, (pin * t1 + pjn * t2) - (pin * t3 + pjn * t4))
    up, down = np.maximum(v3, 0.0), np.maximum(-v3, 0.0)
    _exclude(up, i, j)
    _exclude(down, i, j)
    return up.sum(axis=2), down.sum(axis=2)


def _third_parties_prop(
    m: _Model, st: _State, r: F64, uni: F64, unn: F64, i: I64, j: I64, chij: F64, chji: F64
) -> tuple[F64, F64]:
    """:func:`_third_parties` for the proportional rule, simplified: with
    :math:`x = U_{ni} - U_{nj}`, :math:`v = S_n c_n x`,
    :math:`p_{in} = (ch_{ij} + [v]^+)/(ch_{ij} + ch_{ji} + |v|)` and the vote is
    :math:`S_n c_n (e + p_{in}(g - e))` with :math:`g = U_{nn} - U_{ni}`,
    :math:`e = U_{nj} - U_{nn}`; the weighted sums over :math:`n` are matrix products.
    Equal to the term-by-term version up to rounding."""
    ws = m.tot * m.cap
    uni, unn = uni[:, None, :], unn[:, None, :]
    g = unn - uni
    unj = st.dt[j]
    unj *= r[:, None, :]
    unj += 1.0
    unj *= st.cdt[j]  # (1 - d)(1 + d r), d <= 1
    vn = uni - unj
    vn *= ws
    den = np.abs(vn)
    den += (chij + chji)[:, :, None]
    np.maximum(vn, 0.0, out=vn)
    vn += chij[:, :, None]
    vn /= den  # p_in
    unj -= unn  # e
    delta = g - unj
    delta *= vn
    delta += unj  # e + p_in (g - e)
    _exclude(delta, i, j)
    total = delta @ ws
    np.maximum(delta, 0.0, out=delta)
    up = delta @ ws
    return up, np.maximum(up - total, 0.0)


def _best_challenges(m: _Model, st: _State) -> tuple[I64, F64, F64]:
    r"""Each actor's most advantageous target (``-1``: none worth :math:`10^{-5}`), its
    estimate of winning and its expected gain (KTAB ``bestChallenge``: the largest gain,
    the lowest index among equals).

    Exact pruning: the gain is :math:`(U_{ii}-U_{ij})(1 - 2S_j(1-\phi))` with
    :math:`\phi \in [0, 1]`, so it is at most
    :math:`\max(U_{ii}-U_{ij}, (U_{ii}-U_{ij})(1-2S_j))`. A first round evaluates the
    targets that look best when :math:`\phi` is estimated from the principals' votes
    alone; a second round every other target whose bound reaches the best gain found.
    """
    n = m.n
    p = m.params
    idx = np.arange(n)
    ws = m.tot * m.cap
    # initiator i's own view (h = k = i): r[i, a] = r^i_a, U^i[i, i], U^i[i, j],
    # U^i[j, i] (also third party n's U^i[n, i]) and U^i[j, j] (also U^i[n, n])
    r = est_nra(st.risk[:, None], st.risk[None, :], p.big_r_adjust)
    d_diag = np.diagonal(st.d)
    uii = risk_utility(d_diag, np.diagonal(r))[:, None]
    uij = risk_utility(st.d, np.diagonal(r)[:, None])
    uji = risk_utility(st.dt, r)
    ujj = risk_utility(d_diag[None, :], r)
    a_b = uii - uij
    c0i, c0j = _principals(p.voting_rule, ws[:, None], ws[None, :], a_b, uji - ujj)
    s_j = m.tot[None, :]
    bound = np.maximum(a_b, a_b * (1.0 - 2.0 * s_j))
    # principals-only estimate of phi, to order the first round
    estimate = a_b * (1.0 - 2.0 * s_j * (c0j / (c0i + c0j)))
    bound[idx, idx] = -np.inf
    estimate[idx, idx] = -np.inf
    slack = 1e-9  # bounds and gains are rounded differently
    best = np.full(n, MIN_GAIN)  # a gain must exceed this
    target = np.full(n, -1, dtype=np.int64)
    prob = np.zeros(n)
    done = np.zeros((n, n), dtype=bool)
    done[idx, idx] = True
    first = np.argpartition(-estimate, min(16, n - 1) - 1, axis=1)[:, : min(16, n - 1)]
    todo = np.zeros((n, n), dtype=bool)
    todo[idx[:, None], first] = bound[idx[:, None], first] >= MIN_GAIN - slack
    for _ in range(2):
        count = todo.sum(axis=1)
        rows = np.flatnonzero(count)
        rows = rows[np.argsort(count[rows], kind="stable")]
        for blk in _chunks(len(rows), n * max(1, int(count.sum()) // max(1, len(rows)))):
            rr = rows[blk]
            width = int(count[rr].max())
            t_row, t_col = np.nonzero(todo[rr])
            js = np.empty((len(rr), width), dtype=np.int64)
            js[t_row, np.arange(len(t_row)) - (np.cumsum(count[rr]) - count[rr])[t_row]] = t_col
            valid = np.arange(width)[None, :] < count[rr, None]
            js = np.where(valid, js, js[:, :1])  # padding repeats a real target
            r2 = rr[:, None]
            phi = _phi(m, st, r[rr], uji[rr], ujj[rr], rr, js, c0i[r2, js], c0j[r2, js])
            edu = _gain(m, js, phi, np.broadcast_to(uii[rr], js.shape), uij[r2, js])
            edu = np.where(valid, edu, -np.inf)
            top = edu.max(axis=1)
            jmin = np.where(edu == top[:, None], js, n).min(axis=1)
            qmin = np.argmax((edu == top[:, None]) & (js == jmin[:, None]), axis=1)
            better = (top > best[rr]) & (top > MIN_GAIN)
            tie = (top == best[rr]) & (target[rr] >= 0) & (jmin < target[rr])
            upd = better | tie
            ru = rr[upd]
            best[ru], target[ru] = top[upd], jmin[upd]
            prob[ru] = phi[np.flatnonzero(upd), qmin[upd]]
        done |= todo
        todo = ~done & (bound >= best[:, None] - slack)
    gain = np.where(target >= 0, best, 0.0)
    return target, prob, gain


def _round4(x: F64) -> F64:
    """KTAB's ``round4``: ``int(0.5 + 10000 x) / 10000`` (positions are non-negative)."""
    out: F64 = np.trunc(0.5 + x * 10000.0) / 10000.0
    return out


def interpolate(
    ivb: InterVecBrgn, ti: F64, si: F64, pi: F64, tj: F64, sj: F64, pj: F64
) -> tuple[F64, F64]:
    """The positions a bargain gives initiator and receiver, per dimension (KTAB
    ``interpBrgnSnPm``/``interpBrgnS2PMax``). S\\ :sup:`n`\\ P\\ :sup:`m`: with
    :math:`w_i = s_i^n p_i^m`, :math:`b_i = ((w_i+10^{-6})t_i + w_j t_j)/(w_i+10^{-6}+w_j)`
    and :math:`b_j = (w_i t_i + (w_j+10^{-6}) t_j)/(w_i+10^{-6}+w_j)`, rounded to 4
    decimals. S2PMax: only the side with the lower probability concedes."""
    if ivb == "S2PMax":
        di = np.maximum(pj - pi, 0.0)
        dj = np.maximum(pi - pj, 0.0)
        si2, sj2 = si * si, sj * sj
        dik = (di * sj2) / ((di * sj2) + 1e-6 + ((1 - di) * si2))
        djk = (dj * si2) / ((dj * si2) + 1e-6 + ((1 - dj) * sj2))
        return ti + dik * (tj - ti), tj + djk * (ti - tj)
    e = 1 if ivb == "S1P1" else 2
    wi = si**e * pi**e
    wj = sj**e * pj**e
    den = wi + 1e-6 + wj
    return _round4(((wi + 1e-6) * ti + wj * tj) / den), _round4((wi * ti + (1e-6 + wj) * tj) / den)


@dataclass(frozen=True)
class _Bargains:
    """Proposed bargains: initiator, receiver and the positions each would adopt."""

    init: I64  # (B,)
    rcvr: I64  # (B,)
    pos_init: F64  # (B, D)
    pos_rcvr: F64  # (B, D)


def _propose(m: _Model, st: _State, target: I64, prob: F64) -> _Bargains:
    """Every challenger's bargain with its target, in initiator order (KTAB ``doBCN``)."""
    p = m.params
    i = np.flatnonzero(target >= 0).astype(np.int64)
    j = target[i]
    col = (slice(None), None)
    pii = prob[i][col]

    def interp(pi: F64) -> tuple[F64, F64]:
        return interpolate(p.inter_vec_brgn, st.x[i], m.sal[i], pi, st.x[j], m.sal[j], 1 - pi)

    bi, bj = interp(pii)
    if p.bargn_model == "InitOnlyInterp" or len(i) == 0:
        return _Bargains(i, j, bi, bj)
    # the receiver's perspective: j's estimate of i challenging j, its gain to i
    phi, edu = challenge(m, st, j, i, j[:, None], i[:, None])
    pji = (edu if p.ktab_quirks else phi)[:, 0]
    ri, rj = interp(pji[col])
    if p.bargn_model == "InitRcvrInterp":
        order = np.stack([np.arange(len(i)), np.arange(len(i)) + len(i)], axis=1).ravel()
        return _Bargains(
            np.concatenate([i, i])[order],
            np.concatenate([j, j])[order],
            np.concatenate([bi, ri])[order],
            np.concatenate([bj, rj])[order],
        )
    wi = (m.cap[i] * m.tot[i])[col]
    wj = ((m.cap[i] if p.ktab_quirks else m.cap[j]) * m.tot[j])[col]
    return _Bargains(i, j, (wi * bi + wj * ri) / (wi + wj), (wi * bj + wj * rj) / (wi + wj))


def _choose(
    step: int,
    k: int,
    queue: list[tuple[int, int]],
    prob: F64,
    gen: np.random.Generator | None,
    chooser: BargainChooser | None,
) -> int:
    if chooser is not None:
        c = int(chooser(step, k, queue, prob))
        if not 0 <= c < len(queue):
            raise ValueError(f"chooser returned {c} for a queue of {len(queue)} bargains")
        return c
    if gen is None:
        return int(np.argmax(prob))
    u = gen.random()
    hit = np.flatnonzero(u <= np.cumsum(prob))
    return int(hit[0]) if len(hit) else len(prob) - 1


def _queue_pce(m: _Model, u: F64, options: I64, sizes: I64, offsets: I64) -> F64:
    """KTAB ``scalarPCE`` over every actor's queue of bargains at once: ``u`` ``(n, O)``
    holds the voters' utilities of the options, queue ``k`` is
    ``options[offsets[k]:offsets[k] + sizes[k]]``; returns the probabilities in the same
    flat layout. ``Conditional`` PCEs are batched (products as sums of logarithms);
    the Markov PCEs run queue by queue."""
    p = m.params
    out = np.ones(len(options))
    if p.pce_model != "Conditional":
        for k in np.flatnonzero(sizes > 1):
            sl = slice(offsets[k], offsets[k] + sizes[k])
            out[sl] = scalar_pce(
                m.cap, u[:, options[sl]], p.voting_rule, p.victory_prob_model, p.pce_model
            )
        return out
    npairs = sizes * (sizes - 1) // 2
    if npairs.sum() == 0:
        return out
    ta, tb = np.tril_indices(int(sizes.max()), -1)  # pairs (a > b), ordered by a
    group = np.repeat(np.arange(len(sizes)), npairs)
    local = np.arange(int(npairs.sum())) - np.repeat(np.cumsum(npairs) - npairs, npairs)
    slot_a, slot_b = offsets[group] + ta[local], offsets[group] + tb[local]
    du = u[:, options[slot_a]] - u[:, options[slot_b]]
    if p.voting_rule == "Prop":
        c_ab = MIN_COALITION + m.cap @ np.maximum(du, 0.0)
        c_ba = MIN_COALITION + m.cap @ np.maximum(-du, 0.0)
    else:
        v = vote(p.voting_rule, m.cap[:, None], du)
        c_ab = MIN_COALITION + np.maximum(v, 0.0).sum(axis=0)
        c_ba = MIN_COALITION + np.maximum(-v, 0.0).sum(axis=0)
    p_ab, p_ba = _vprob(p.victory_prob_model, c_ab, c_ba)
    with np.errstate(divide="ignore"):
        logp = np.bincount(slot_a, np.log(p_ab), len(options))
        logp += np.bincount(slot_b, np.log(p_ba), len(options))
    top = np.maximum.reduceat(logp, offsets)
    e = np.exp(logp - np.repeat(top, sizes))
    res: F64 = e / np.repeat(np.add.reduceat(e, offsets), sizes)
    return res


def _step(
    m: _Model,
    st: _State,
    step: int,
    gen: np.random.Generator | None,
    chooser: BargainChooser | None,
) -> tuple[_State, dict[str, Any]]:
    """One KTAB ``stepBCN``: challenges, bargains, their resolution, new ideals."""
    n = m.n
    target, prob, gain = _best_challenges(m, st)
    b = _propose(m, st, target, prob)
    # every actor's utility for each bargain's two positions, judged from its ideal with
    # its own R (as in the 2017 reference runs; later KTAB judges from the position)
    pu_i = risk_utility(salience_distance(st.ideal, b.pos_init, m.sal), st.risk[:, None])
    pu_j = risk_utility(salience_distance(st.ideal, b.pos_rcvr, m.sal), st.risk[:, None])
    own_sum = st.own.sum(axis=1)
    u_brg = (pu_i + pu_j + (own_sum[:, None] - st.own[:, b.init] - st.own[:, b.rcvr])) / n
    u_sq = own_sum / n
    # each actor's queue: the status quo (option 0), then its bargains (option 1 + q)
    kk, qq = np.nonzero(
        (b.init[None, :] == np.arange(n)[:, None]) | (b.rcvr[None, :] == np.arange(n)[:, None])
    )
    sizes = 1 + np.bincount(kk, minlength=n)
    offsets = np.cumsum(sizes) - sizes
    options = np.zeros(int(sizes.sum()), dtype=np.int64)
    options[offsets[kk] + 1 + np.arange(len(kk)) - (offsets[kk] - kk)] = 1 + qq
    u_opt = np.concatenate([u_sq[:, None], u_brg], axis=1)
    probs = _queue_pce(m, u_opt, options, sizes, offsets)
    x_new = st.x.copy()
    chosen: list[tuple[int, int]] = []
    for k in range(n):
        opts = options[offsets[k] : offsets[k] + sizes[k]]
        queue = [(k, k)] + [(int(b.init[o - 1]), int(b.rcvr[o - 1])) for o in opts[1:]]
        c = _choose(step, k, queue, probs[offsets[k] : offsets[k] + sizes[k]], gen, chooser)
        chosen.append(queue[c])
        if c > 0:
            q = opts[c] - 1
            x_new[k] = b.pos_init[q] if b.init[q] == k else b.pos_rcvr[q]
    ideal = x_new.copy()
    if m.acc is not None:
        lag = 1.0 - np.minimum(m.acc.sum(axis=1), 1.0)
        ideal = m.acc @ x_new + lag[:, None] * st.ideal
    info = {
        "challenges": [
            (int(i), int(target[i]), float(prob[i]), float(gain[i]))
            for i in np.flatnonzero(target >= 0)
        ],
        "proposals": [
            (int(b.init[q]), int(b.rcvr[q]), 100.0 * b.pos_init[q], 100.0 * b.pos_rcvr[q])
            for q in range(len(b.init))
        ],
        "adopted": chosen,
    }
    return _State(x_new, ideal), info


def state_probabilities(m: _Model, st: _State) -> tuple[F64, I64, I64]:
    """KTAB ``pDist(-1)``: the probability of each distinct position (own risk-aware
    utilities, the model's voting rule as in the 2017 reference runs; later KTAB
    hard-codes ``Prop``), the representatives' indices and, per actor, the index of the
    representative whose probability it gets (``posProb``)."""
    p = m.params
    reps, held = distinct_positions(st.x, p.position_tolerance)
    pu = scalar_pce(m.cap, st.own[:, reps], p.voting_rule, p.victory_prob_model, p.pce_model)
    return pu, reps, held


# --------------------------------------------------------------------------- driver


def _model(table: ActorTable, params: SmpParams) -> _Model:
    table.validate()
    problems: list[tuple[str, str, str]] = []
    for i, a in enumerate(table.actors):
        if not table.capability[i] > 0:
            problems.append((a, "capability 0", "give every actor a positive capability"))
        if not table.salience[i].sum() > 0:
            problems.append((a, "all saliences 0", "give every actor some positive salience"))
    index = {a: i for i, a in enumerate(table.actors)}
    acc: F64 | None = None
    if params.accommodation:
        acc = np.eye(table.n)
        for a, r, rate in params.accommodation:
            for who in (a, r):
                if who not in index:
                    problems.append(
                        ("accommodation", f"unknown actor {who!r}", "use the table's names")
                    )
            if a in index and r in index:
                acc[index[a], index[r]] = rate
        for i, a in enumerate(table.actors):
            if acc[i].sum() > 1.0 + 1e-10:
                problems.append(
                    (
                        f"accommodation of {a}",
                        f"rates sum to {acc[i].sum():g} (the diagonal defaults to 1)",
                        "make each actor's rates, its own included, sum to at most 1",
                    )
                )
        if np.array_equal(acc, np.eye(table.n)):
            acc = None
    if problems:
        raise ActorTableError(table.source, problems)
    sal = table.salience / 100.0
    return _Model(params, table.capability.astype(float), sal, sal.sum(axis=1), acc)


def _state_distance(a: F64, b: F64) -> float:
    return float(np.linalg.norm(a - b, axis=1).sum())


def smp(
    table: ActorTable,
    params: SmpParams | None = None,
    *,
    rng: np.random.Generator | int | None = None,
    chooser: BargainChooser | None = None,
) -> ForecastResult:
    """Run KTAB's SMP on ``table`` until KTAB's stop rule (see the module docstring).

    * ``rounds``: every state's positions on the 0–100 scale, the initial state first.
    * ``probabilities[t]``: KTAB's printed "prob" vector of state ``t``, each actor's
      chance that the position it holds wins (actors sharing a position share it, so the
      vector can sum to more than 1; over distinct positions it sums to 1).
    * ``forecast``: the probability-weighted mean of the final state's distinct positions.
    * ``extras``: ``modal`` (the most probable final position); ``groups`` (per state,
      the actor whose position stands for each actor's group of equal positions);
      ``risk`` (risk attitudes per state); ``fractional_change`` (KTAB's stop ratio per
      step); ``iterations``; ``converged`` (stopped by the ratio, not by
      ``max_iterations``); ``challenges`` (per step: who challenged whom, the
      challenger's probability of winning and its expected gain); ``proposals`` (per
      step: the bargains proposed and the positions offered); ``adopted`` (per step:
      each actor's bargain as ``[initiator, receiver]``, the status quo being
      ``[actor, actor]``); ``ideals`` (per state; only with accommodation); ``params``;
      and ``seed`` for stochastic runs.

    ``rng`` (or ``params.seed``) seeds the sampling of bargains under ``Stochastic``
    transitions (``None``: fresh entropy, recorded in ``extras``); ``chooser``
    overrides how each actor's bargain is picked, e.g. to replay a logged run.
    """
    params = params or SmpParams()
    m = _model(table, params)
    gen: np.random.Generator | None = None
    seed: int | None = None
    if params.state_transitions == "Stochastic" and chooser is None:
        if isinstance(rng, np.random.Generator):
            gen = rng
        else:
            seed = rng if rng is not None else params.seed
            if seed is None:
                seed = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
            gen = np.random.default_rng(seed)
    x0 = table.position.astype(float) / 100.0
    states = [_State(x0, x0.copy())]
    _assess(m, states[0])
    fractional: list[float] = []
    infos: list[dict[str, Any]] = []
    d01 = 0.0
    converged = False
    t = 0
    while True:
        t += 1
        new, info = _step(m, states[-1], t - 1, gen, chooser)
        _assess(m, new)
        states.append(new)
        infos.append(info)
        if t == 1:
            d01 = _state_distance(states[1].x, states[0].x) + params.min_sig_delta
        ratio = _state_distance(states[-1].x, states[-2].x) / d01
        fractional.append(ratio)
        if t >= params.min_iterations and ratio < params.stop_ratio:
            converged = True
            break
        if t >= params.max_iterations:
            break
    names = table.actors
    probs: list[F64] = []
    groups: list[dict[str, str]] = []
    for st in states:
        pu, reps, held = state_probabilities(m, st)
        probs.append(pu[held])
        groups.append({a: names[reps[held[i]]] for i, a in enumerate(names)})
    final = states[-1]
    forecast = 100.0 * (pu @ final.x[reps])
    modal = 100.0 * final.x[reps[int(np.argmax(pu))]]
    rounds = [table.position.astype(float).copy()] + [100.0 * s.x for s in states[1:]]
    extras: dict[str, Any] = {
        "modal": [float(v) for v in modal],
        "groups": groups,
        "risk": [{a: float(r) for a, r in zip(names, s.risk, strict=True)} for s in states],
        "fractional_change": fractional,
        "iterations": t,
        "converged": converged,
        "challenges": [
            [
                {"actor": names[i], "target": names[j], "prob": pr, "gain": g}
                for i, j, pr, g in info["challenges"]
            ]
            for info in infos
        ],
        "proposals": [
            [
                {
                    "initiator": names[i],
                    "receiver": names[j],
                    "initiator_position": [float(v) for v in pi],
                    "receiver_position": [float(v) for v in pj],
                }
                for i, j, pi, pj in info["proposals"]
            ]
            for info in infos
        ],
        "adopted": [
            {names[k]: [names[a], names[b]] for k, (a, b) in enumerate(info["adopted"])}
            for info in infos
        ],
        "params": params.to_dict(),
    }
    if m.acc is not None:
        extras["ideals"] = [
            {a: [float(v) for v in 100.0 * s.ideal[i]] for i, a in enumerate(names)} for s in states
        ]
    if seed is not None:
        extras["seed"] = seed
    return ForecastResult(
        model="smp",
        dimensions=table.dimensions,
        actors=names,
        rounds=rounds,
        forecast=forecast,
        probabilities=probs,
        extras=extras,
    )
