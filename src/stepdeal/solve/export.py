r"""Export a compiled game as a Gambit extensive-form game (``.efg``, format "EFG 2 R").

The exported file is the full game tree of (scenario, policy), with no merging of
equal states, so that other tools (Gambit, OpenSpiel, pygambit) can read it and
check stepdeal's results independently. It follows ``docs/explanation/model.md``:

* **Players.** Player 1 is the target; players 2, 3, ... are the powers in file
  order. Powers never move (they follow their fixed vote rules, which are
  deterministic given the state); they are players only so that every terminal
  node carries every actor's payoff.
* **Nodes, per period** *t* = 0 … *H* − 1:

  1. one personal node of the target (its own information set: perfect
     information) with one action per allowed step set
     (:func:`~stepdeal.mechanisms.rules.allowed_actions`), labelled ``none`` or
     the concern ids joined by ``+`` (``a+b``), in stepdeal's canonical order (no
     step first, then fewer steps, then by file index: ``Game.actions``);
  2. after each action, one chance node for verification when it has more than
     one outcome (:func:`~stepdeal.mechanisms.rules.verification_outcomes`: each
     pending step with 0 < ``verify`` < 1 is verified or not); outcomes are
     labelled ``a=verified b=pending`` over those uncertain steps, with exact
     decimal probabilities;
  3. proposals and votes (:func:`~stepdeal.mechanisms.rules.resolve`) are
     deterministic: no node.

* **Terminal nodes** after period *H* − 1 carry, for every actor, the discounted
  utility of that history exactly as the simulator computes it
  (:func:`stepdeal.sim.engine.discounted`: Σ δᵗ uₜ plus δᴴ/(1 − δ)·ū with
  ``tail: persist``). Each terminal node has its own outcome.

Node labels are unique within the file, as Gambit requires: ``D<n> t=<t> <state>``
for decisions (``<n>`` is also the information set number), ``C<n> ...`` for chance
nodes and ``T<n> <final state>`` for outcomes.

Backward induction on the exported tree (ties broken towards the first listed
action, within the tie tolerance of the solver) gives the values of
:func:`~stepdeal.solve.best_response.solve_best_response`.

The tree grows exponentially with the horizon. Its size is counted before
anything is written, on the merged state graph (one vectorised pass per period);
:class:`TreeTooLarge` is raised when it exceeds ``max_nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..mechanisms.game import (
    CONCERN_STATUS,
    F64,
    I64,
    MEASURE_STATUS,
    PENDING,
    U8,
    VERIFIED,
    B,
    Game,
)
from ..mechanisms.rules import (
    allowed_actions,
    apply_action,
    power_payoffs,
    resolve,
    target_payoff,
    verification_outcomes,
    vote_costs,
)
from ..mechanisms.state import unique_states

#: default limit on the number of nodes of an exported tree (decision + chance + terminal)
DEFAULT_MAX_NODES = 200_000

_EXACT_FLOAT = 2.0**53


class TreeTooLarge(ValueError):
    """The game tree has more nodes than allowed; nothing was written."""

    def __init__(self, message: str, n_nodes: int, max_nodes: int, exact: bool) -> None:
        super().__init__(message)
        #: number of nodes of the tree (a lower bound when ``exact`` is False; counted in
        #: double precision, so exact only below 2**53)
        self.n_nodes = n_nodes
        self.max_nodes = max_nodes
        self.exact = exact


@dataclass(frozen=True)
class TreeSize:
    """Number of nodes of the exported tree, by kind."""

    decision: int  # personal nodes of the target, one per period along every history
    chance: int  # verification nodes (only where there are at least two outcomes)
    terminal: int

    @property
    def total(self) -> int:
        return self.decision + self.chance + self.terminal


@dataclass
class _Period:
    """Transitions of one period over its distinct start states (rows sorted by state)."""

    C: U8  # start states of the period
    M: U8
    pair_state: I64  # per (state, allowed action), sorted by state then action
    pair_action: I64
    pair_chance: B  # the pair has at least two verification outcomes
    out_pair: I64  # per verification outcome: its pair (sorted)
    out_next: I64  # its end-of-period state (row of the next period's states)
    out_prob: list[Fraction] | None = None  # exact probabilities (filled for writing only)
    out_label: list[str] | None = None
    #: per outcome and actor (target, then powers): δᵗ × payoff of the period, the term
    #: that :func:`~stepdeal.sim.engine.discounted` adds for this period
    out_w: list[tuple[float, ...]] | None = None


def _fmt_count(n: float) -> str:
    return f"{int(n):,}" if n < _EXACT_FLOAT else f"about {n:.3g}"


def _uncertain(game: Game) -> B:
    out: B = (game.verify > 0.0) & (game.verify < 1.0)
    return out


def _discounts(game: Game) -> list[float]:
    """Discount factors of the target and the powers, as Python floats (as the simulator)."""
    return [float(game.target_discount), *(float(d) for d in game.power_discount)]


def _forward(game: Game, max_nodes: int, detail: bool) -> tuple[list[_Period], U8, U8, float]:
    """Enumerate the merged state graph period by period.

    Stops early, once the tree is known to exceed ``max_nodes`` (``1 + Σₜ outcomes``
    is a lower bound on its size: every distinct state occurs at least once in the
    tree, and each occurrence has one child per action and outcome). Returns the
    periods completed, the states after the last of them and that lower bound.
    """
    C, M = game.initial_state()
    C, M = C[None, :], M[None, :]
    uncertain = _uncertain(game)
    probs = [Fraction(str(float(p))) for p in game.verify]
    periods: list[_Period] = []
    bound = 1.0
    for t in range(game.horizon):
        pair_state, pair_action = np.nonzero(allowed_actions(game, C))
        C_taken, taken, reversed_ = apply_action(game, C[pair_state], pair_action)
        n_out = np.left_shift(1, ((C_taken == PENDING) & uncertain[None, :]).sum(axis=1))
        if bound + float(n_out.sum()) > max_nodes:  # checked before expanding the outcomes
            return periods, C, M, bound + float(n_out.sum())
        bound += float(n_out.sum())
        row, C_after, _ = verification_outcomes(game, C_taken)
        M_end, recs = resolve(game, t, C_after, M[pair_state][row], record=detail)
        first, inverse, _ = unique_states(C_after, M_end)
        period = _Period(
            C=C,
            M=M,
            pair_state=pair_state.astype(np.int64),
            pair_action=pair_action.astype(np.int64),
            pair_chance=n_out > 1,
            out_pair=row.astype(np.int64),
            out_next=inverse,
        )
        if detail:
            u = np.column_stack(
                [
                    target_payoff(game, C_after, M_end, taken[row], reversed_[row]),
                    power_payoffs(game, C_after, M_end) - vote_costs(game, recs, row.size),
                ]
            )
            weight = np.array([d**t for d in _discounts(game)])
            period.out_w = [tuple(r) for r in (weight[None, :] * u).tolist()]
            ids = game.concern_ids
            labels: list[str] = []
            exact: list[Fraction] = []
            for k in range(row.size):
                unc = np.flatnonzero((C_taken[row[k]] == PENDING) & uncertain)
                prob = Fraction(1)
                words = []
                for i in unc:
                    hit = bool(C_after[k, i] == VERIFIED)
                    prob *= probs[i] if hit else 1 - probs[i]
                    words.append(f"{ids[i]}={'verified' if hit else 'pending'}")
                labels.append(" ".join(words))
                exact.append(prob)
            period.out_label, period.out_prob = labels, exact
        periods.append(period)
        C, M = C_after[first], M_end[first]
    return periods, C, M, bound


def _count(periods: list[_Period], horizon: int, n_final: int) -> F64:
    """(decision, chance, terminal) node counts of the tree truncated at ``horizon``."""
    counts = np.zeros((n_final, 3))
    counts[:, 2] = 1.0
    for period in reversed(periods[:horizon]):
        n_pairs, n_states = period.pair_state.size, period.C.shape[0]
        below = counts[period.out_next]
        per_pair = np.stack(
            [np.bincount(period.out_pair, below[:, j], minlength=n_pairs) for j in range(3)],
            axis=1,
        )
        per_pair[:, 1] += period.pair_chance
        counts = np.stack(
            [np.bincount(period.pair_state, per_pair[:, j], minlength=n_states) for j in range(3)],
            axis=1,
        )
        counts[:, 0] += 1.0
    out: F64 = counts[0]
    return out


def _too_large(
    game: Game,
    periods: list[_Period],
    n_final: int,
    n_nodes: float,
    exact: bool,
    max_nodes: int,
) -> TreeTooLarge:
    # the longest shorter horizon whose tree fits (the rules do not depend on the horizon)
    n_states = [int(p.C.shape[0]) for p in periods] + [n_final]
    fits = None
    for h in range(min(len(periods), game.horizon - 1), 0, -1):
        total = float(_count(periods, h, n_states[h]).sum())
        if total <= max_nodes:
            fits = (h, total)
            break
    size = _fmt_count(n_nodes) if exact else f"more than {_fmt_count(n_nodes)}"
    hint = (
        f"horizon: {fits[0]} gives {_fmt_count(fits[1])} nodes"
        if fits
        else "even a horizon of 1 is too large"
    )
    also = []
    if game.max_steps > 1:
        also.append("max_steps_per_period: 1")
    if _uncertain(game).any():
        also.append("fewer concerns with 0 < verify < 1")
    others = f"; {' and '.join(also)} also shrink{'s' if len(also) == 1 else ''} it" if also else ""
    return TreeTooLarge(
        f"the game tree of policy {game.policy.id!r} with horizon {game.horizon} has {size} "
        f"nodes, above the limit of {max_nodes:,} (max_nodes). The tree grows exponentially "
        f"with the horizon. Fix: a shorter horizon ({hint}){others}; or raise max_nodes",
        int(n_nodes),
        max_nodes,
        exact,
    )


def _check_supported(game: Game) -> None:
    """Refuse games whose rules this export does not model (rather than write a wrong tree)."""
    if getattr(game, "has_strategic", False):
        raise ValueError(
            f"policy {game.policy.id!r} has strategic voters: they are decision makers, and "
            "the .efg export only models the target's decisions. Fix: give every member a "
            "fixed vote rule (yes, no, sincere or if_verified_at_least) to export the tree"
        )


def _size(
    game: Game, max_nodes: int | None, detail: bool
) -> tuple[TreeSize, list[_Period], U8, U8]:
    _check_supported(game)
    limit = 2**62 if max_nodes is None else max_nodes
    periods, C, M, bound = _forward(game, limit, detail)
    if len(periods) < game.horizon:
        assert max_nodes is not None
        raise _too_large(game, periods, C.shape[0], bound, False, max_nodes)
    d, c, t = _count(periods, game.horizon, C.shape[0])
    if max_nodes is not None and d + c + t > max_nodes:
        raise _too_large(game, periods, C.shape[0], d + c + t, True, max_nodes)
    return TreeSize(int(d), int(c), int(t)), periods, C, M


def tree_size(game: Game, max_nodes: int | None = None) -> TreeSize:
    """Node counts of the tree :func:`export_efg` would write, without writing it.

    The count runs on the merged state graph, so it is fast even for huge trees
    (exact below 2**53 nodes). Raises :class:`TreeTooLarge` when ``max_nodes`` is
    given and exceeded (the count stops early on trees far above the limit).
    """
    return _size(game, max_nodes, detail=False)[0]


# --------------------------------------------------------------------------- text


def _clean(text: str) -> str:
    """Text safe inside a quoted label: the readers differ on escapes, so none are needed."""
    return " ".join(text.replace('"', "'").replace("\\", "/").split())


def _quote(text: str) -> str:
    return f'"{_clean(text)}"'


def _number(x: float) -> str:
    """Shortest decimal that reads back as the same double (no exponent)."""
    if x == 0.0:
        return "0"
    text = repr(x)
    if "e" in text:
        text = str(np.format_float_positional(x, unique=True, trim="-"))
    return text[:-2] if text.endswith(".0") else text


def _decimal(x: Fraction) -> str:
    """Exact decimal of a fraction whose denominator divides a power of ten."""
    num, den = x.numerator, x.denominator
    k = 0
    while 10**k % den:
        k += 1
        if k > 64:
            return f"{num}/{den}"
    digits = str(num * 10**k // den).rjust(k + 1, "0")
    return digits if k == 0 else f"{digits[:-k]}.{digits[-k:]}"


def _state_label(game: Game, C: U8, M: U8) -> str:
    """Statuses grouped by value, e.g. ``open a,b; verified c | active m1; frozen m2``."""

    def groups(ids: tuple[str, ...], codes: U8, names: tuple[str, ...]) -> str:
        return "; ".join(
            f"{name} {','.join(i for i, c in zip(ids, codes, strict=True) if c == code)}"
            for code, name in enumerate(names)
            if (codes == code).any()
        )

    concerns = groups(game.concern_ids, C, CONCERN_STATUS)
    if not game.n_measures:
        return concerns
    return f"{concerns} | {groups(game.measure_ids, M, MEASURE_STATUS)}"


def export_efg(game: Game, max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """The game tree of ``game`` as Gambit ``.efg`` text (see the module docstring).

    Raises :class:`TreeTooLarge` (a :class:`ValueError`) before writing anything
    when the tree has more than ``max_nodes`` nodes.
    """
    _size(game, max_nodes, detail=False)  # refuse before the (slower) detailed pass
    periods, C_final, M_final, _ = _forward(game, max_nodes, detail=True)
    H = game.horizon
    s = game.scenario
    players = [game.target_id, *game.power_ids]
    action_label = [
        _quote("+".join(game.concern_label(i) for i in act) if act else "none")
        for act in game.actions
    ]
    # what discounted() adds for the tail: δᴴ / (1 − δ) × per-period payoff of the final state
    tail = np.column_stack(
        [target_payoff(game, C_final, M_final), power_payoffs(game, C_final, M_final)]
    )
    factor = np.array([d**H / (1.0 - d) for d in _discounts(game)])
    tail_w = [tuple(r) for r in (factor[None, :] * tail).tolist()]
    # pair and outcome ranges per state / pair
    pair_start = [
        np.searchsorted(p.pair_state, np.arange(p.C.shape[0] + 1)).tolist() for p in periods
    ]
    out_start = [
        np.searchsorted(p.out_pair, np.arange(p.pair_state.size + 1)).tolist() for p in periods
    ]
    # node text around the node's number (node labels must be unique within the game for
    # Gambit, so each starts with D<n> or C<n>; <n> is also the information set number)
    decision_text: dict[tuple[int, int], tuple[str, str]] = {}
    chance_text: dict[tuple[int, int], tuple[str, str]] = {}
    end_text: dict[int, str] = {}

    def decision(t: int, i: int) -> tuple[str, str]:
        key = (t, i)
        if key not in decision_text:
            period = periods[t]
            first, last = pair_start[t][i], pair_start[t][i + 1]
            acts = " ".join(action_label[a] for a in period.pair_action[first:last])
            state = _clean(_state_label(game, period.C[i], period.M[i]))
            decision_text[key] = (f' t={t} {state}" 1 ', f' "" {{ {acts} }} 0')
        return decision_text[key]

    def chance(t: int, pair: int) -> tuple[str, str]:
        key = (t, pair)
        if key not in chance_text:
            period = periods[t]
            assert period.out_label is not None and period.out_prob is not None
            outs = " ".join(
                f"{_quote(period.out_label[k])} {_decimal(period.out_prob[k])}"
                for k in range(out_start[t][pair], out_start[t][pair + 1])
            )
            act = action_label[period.pair_action[pair]][1:-1]
            chance_text[key] = (f' t={t} verification after {act}" ', f' "" {{ {outs} }} 0')
        return chance_text[key]

    comment = (
        f"stepdeal export: scenario {s.name}, policy {game.policy.id} ({game.policy.kind}), "
        f"horizon {H}, tail {'persist' if game.tail_persist else 'none'}. "
        f"Player 1 ({game.target_id}) is the target and chooses a step set each period; "
        "chance verifies pending steps; proposals and votes follow the fixed vote rules "
        "(no nodes), so the powers never move. Payoffs: each actor's discounted utility "
        f"in {s.unit}."
    )
    lines = [
        f"EFG 2 R {_quote(f'stepdeal {s.name} / {game.policy.id}')} "
        f"{{ {' '.join(_quote(p) for p in players)} }}",
        _quote(comment),
    ]
    n_infoset = n_chance = n_outcome = 0
    # depth first, children in listed order; an item is (is_decision, t, index, the
    # discounted payoffs so far per actor, summed in the simulator's order)
    stack: list[tuple[bool, int, int, tuple[float, ...]]] = [
        (True, 0, 0, tuple(0.0 for _ in players))
    ]
    while stack:
        is_decision, t, i, total = stack.pop()
        if is_decision and t == H:
            n_outcome += 1
            if game.tail_persist:
                total = tuple(x + y for x, y in zip(total, tail_w[i], strict=True))
            if i not in end_text:
                end_text[i] = _clean(_state_label(game, C_final[i], M_final[i]))
            pay = ", ".join(_number(x) for x in total)
            lines.append(f't "" {n_outcome} "T{n_outcome} {end_text[i]}" {{ {pay} }}')
            continue
        period = periods[t]
        if is_decision:
            n_infoset += 1
            label, rest = decision(t, i)
            lines.append(f'p "D{n_infoset}{label}{n_infoset}{rest}')
            first, last = pair_start[t][i], pair_start[t][i + 1]
            for pair in range(last - 1, first - 1, -1):
                stack.append((False, t, pair, total))
            continue
        # after the target's action: verification (a chance node if uncertain), then votes
        if period.pair_chance[i]:
            n_chance += 1
            label, rest = chance(t, i)
            lines.append(f'c "C{n_chance}{label}{n_chance}{rest}')
        assert period.out_w is not None
        for k in range(out_start[t][i + 1] - 1, out_start[t][i] - 1, -1):
            w = period.out_w[k]
            nxt = tuple(x + y for x, y in zip(total, w, strict=True))
            stack.append((True, t + 1, int(period.out_next[k]), nxt))
    return "\n".join(lines) + "\n"


__all__ = ["DEFAULT_MAX_NODES", "TreeSize", "TreeTooLarge", "export_efg", "tree_size"]
