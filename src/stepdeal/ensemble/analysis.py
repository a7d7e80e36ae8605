r"""Statistics of an ensemble run: distributions, regret, Sobol indices and PRIM.

Pure functions over the two frames of an ensemble run (no I/O, no randomness
except the seeded Sobol bootstrap):

* ``inputs``: one row per sample, column ``sample`` (0 … N−1) and one float
  column per uncertainty (the drawn value, in its own units);
* ``results``: one row per (sample, policy), columns ``sample``, ``policy``,
  ``ok``, ``error`` and the float outcome columns (``expected_resolved``,
  ``target_utility``, ``utility:<power>``, ``p_verified:<concern>``, …).

A row with ``ok = False`` is a failed evaluation: its outcomes are NaN. It is
counted (``n_error``) but never enters a statistic. An ``ok`` row with a NaN
outcome is inconsistent data and raises :class:`ValueError`.

Percentiles are numpy's default (linear interpolation between order statistics,
Hyndman–Fan type 7): with sorted values :math:`x_{(0)} \le \dots \le x_{(n-1)}`,
the :math:`q`-th percentile is :math:`x_{(\lfloor h \rfloor)} + (h - \lfloor h
\rfloor)(x_{(\lfloor h \rfloor + 1)} - x_{(\lfloor h \rfloor)})` with
:math:`h = (n-1)\,q/100`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from SALib.analyze import sobol as _salib_sobol  # type: ignore[import-untyped]

TIE_TOLERANCE = 1e-9
"""Two outcomes within this absolute distance tie for "best" in :func:`robustness`."""

PERCENTILES = (5, 25, 50, 75, 95)
_RESULT_COLUMNS = ("sample", "policy", "ok")

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]


# -- helpers -------------------------------------------------------------------------


def _check_results(results: pd.DataFrame, outcome: str) -> None:
    missing = [c for c in _RESULT_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(f"results lacks the column(s) {missing}; it has {list(results.columns)}")
    if outcome not in results.columns:
        known = [c for c in results.columns if c not in (*_RESULT_COLUMNS, "error")]
        raise ValueError(f"unknown outcome {outcome!r}; the outcome columns are {known}")
    ok = results["ok"].astype(bool).to_numpy()
    values = pd.to_numeric(results[outcome], errors="coerce").to_numpy(dtype=float)
    bad = ok & ~np.isfinite(values)
    if bad.any():
        rows = results.loc[bad, ["sample", "policy"]].head(10).to_records(index=False)
        raise ValueError(
            f"outcome {outcome!r} is NaN or infinite in rows marked ok, "
            f"e.g. (sample, policy) = {[tuple(r) for r in rows]}"
        )


def _policies(results: pd.DataFrame) -> list[str]:
    """Policy ids in order of first appearance."""
    return [str(p) for p in pd.unique(results["policy"])]


def outcome_by_sample(results: pd.DataFrame, policy: str, outcome: str) -> F64:
    """The outcome of one policy as a float vector ordered by ``sample`` (NaN where failed).

    Position :math:`i` holds sample :math:`i`'s value, so the vector can be fed to
    :func:`sobol_indices` when the samples are a Saltelli design. Samples are
    expected to be 0 … N−1 with one row each for the policy; a gap or a duplicate
    raises :class:`ValueError`.
    """
    _check_results(results, outcome)
    rows = results[results["policy"].astype(str) == policy]
    if rows.empty:
        raise ValueError(f"no rows for policy {policy!r}; policies are {_policies(results)}")
    samples = rows["sample"].to_numpy(dtype=np.int64)
    n = len(samples)
    if len(np.unique(samples)) != n or samples.min() != 0 or samples.max() != n - 1:
        raise ValueError(
            f"policy {policy!r} does not have exactly one row per sample 0…{n - 1} "
            f"(got {n} rows, samples {samples.min()}…{samples.max()})"
        )
    y = np.full(n, np.nan)
    ok = rows["ok"].astype(bool).to_numpy()
    y[samples[ok]] = rows[outcome].to_numpy(dtype=float)[ok]
    return y


# -- distributions -------------------------------------------------------------------


def distributions(results: pd.DataFrame, outcome: str) -> pd.DataFrame:
    r"""The distribution of one outcome over the samples, per policy.

    For policy :math:`p` with ok values :math:`y_1, \dots, y_n`:
    ``n_ok`` :math:`= n`, ``n_error`` = its rows with ``ok = False``,
    ``mean`` :math:`\bar y = \frac1n \sum_i y_i`, ``sd`` the sample standard
    deviation :math:`\sqrt{\frac{1}{n-1}\sum_i (y_i - \bar y)^2}` (NaN when
    :math:`n < 2`), ``p5`` … ``p95`` the percentiles (type 7, see the module),
    ``min`` and ``max``. All statistics are NaN for a policy with no ok row.

    Returns a frame indexed by ``policy`` (order of first appearance) with the
    columns ``n_ok, n_error, mean, sd, p5, p25, p50, p75, p95, min, max``.
    """
    _check_results(results, outcome)
    rows: list[dict[str, Any]] = []
    for policy in _policies(results):
        sub = results[results["policy"].astype(str) == policy]
        ok = sub["ok"].astype(bool).to_numpy()
        y = sub[outcome].to_numpy(dtype=float)[ok]
        row: dict[str, Any] = {"policy": policy, "n_ok": int(ok.sum()), "n_error": int((~ok).sum())}
        if y.size:
            pct = np.percentile(y, PERCENTILES)
            row["mean"] = float(y.mean())
            row["sd"] = float(y.std(ddof=1)) if y.size > 1 else np.nan
            row.update({f"p{q}": float(v) for q, v in zip(PERCENTILES, pct, strict=True)})
            row["min"] = float(y.min())
            row["max"] = float(y.max())
        else:
            row.update({k: np.nan for k in ("mean", "sd", "min", "max")})
            row.update({f"p{q}": np.nan for q in PERCENTILES})
        rows.append(row)
    columns = ["n_ok", "n_error", "mean", "sd", *(f"p{q}" for q in PERCENTILES), "min", "max"]
    out = pd.DataFrame(rows).set_index("policy")[columns]
    out.attrs["outcome"] = outcome
    return out


# -- robustness ----------------------------------------------------------------------


def outcome_matrix(results: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Samples × policies matrix of one outcome, keeping only the samples where every policy is ok.

    Raises :class:`ValueError` on a duplicate (sample, policy) row.
    """
    _check_results(results, outcome)
    dup = results.duplicated(subset=["sample", "policy"])
    if dup.any():
        first = results.loc[dup, ["sample", "policy"]].iloc[0].tolist()
        raise ValueError(f"duplicate (sample, policy) row, e.g. {first}")
    policies = _policies(results)
    ok = results[results["ok"].astype(bool)]
    wide = ok.pivot(index="sample", columns="policy", values=outcome)
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.reindex(columns=policies).dropna(how="any").sort_index()
    return wide.astype(float)


def robustness(
    results: pd.DataFrame,
    outcome: str = "expected_resolved",
    larger_is_better: bool = True,
    threshold: float | None = None,
) -> pd.DataFrame:
    r"""Regret, share of samples where best, and satisficing share, per policy.

    Only the samples :math:`s \in S` where *every* policy is ok enter (``n_samples``
    :math:`= |S|`); comparing policies on different samples would mix their
    difficulty. With :math:`y_{s,p}` the outcome of policy :math:`p` in sample
    :math:`s`, the regret is

    .. math::

        r_{s,p} = \max_q y_{s,q} - y_{s,p} \quad\text{(larger is better)},\qquad
        r_{s,p} = y_{s,p} - \min_q y_{s,q} \quad\text{(smaller is better)},

    so :math:`r_{s,p} \ge 0` and the best policy of a sample has regret 0.
    Columns: ``mean_regret`` :math:`\frac{1}{|S|}\sum_s r_{s,p}`, ``p50_regret``,
    ``p95_regret`` (type-7 percentiles), ``max_regret`` :math:`\max_s r_{s,p}`;
    ``share_best`` :math:`\frac{1}{|S|}\,\#\{s : r_{s,p} \le 10^{-9}\}` (ties count
    for every tied policy, so the shares may sum to more than 1); and, when
    ``threshold`` :math:`\tau` is given, ``satisficing``
    :math:`\frac{1}{|S|}\,\#\{s : y_{s,p} \ge \tau\}` (:math:`\le \tau` when smaller
    is better).

    Returns a frame indexed by ``policy``; ``attrs`` records ``outcome``,
    ``larger_is_better``, ``threshold`` and ``n_dropped`` (samples left out because
    some policy failed). Raises :class:`ValueError` when no sample has every
    policy ok.
    """
    wide = outcome_matrix(results, outcome)
    n_all = int(results["sample"].nunique())
    if wide.empty:
        raise ValueError(
            f"no sample where every policy is ok for {outcome!r}; "
            f"{n_all} sample(s), policies {_policies(results)}"
        )
    y = wide.to_numpy(dtype=float)
    if larger_is_better:
        regret = y.max(axis=1, keepdims=True) - y
    else:
        regret = y - y.min(axis=1, keepdims=True)
    n = y.shape[0]
    out = pd.DataFrame(
        {
            "n_samples": np.full(y.shape[1], n, dtype=np.int64),
            "mean_regret": regret.mean(axis=0),
            "p50_regret": np.percentile(regret, 50, axis=0),
            "p95_regret": np.percentile(regret, 95, axis=0),
            "max_regret": regret.max(axis=0),
            "share_best": (regret <= TIE_TOLERANCE).mean(axis=0),
        },
        index=pd.Index(list(wide.columns), name="policy"),
    )
    if threshold is not None:
        meets = y >= threshold if larger_is_better else y <= threshold
        out["satisficing"] = meets.mean(axis=0)
    out.attrs.update(
        outcome=outcome,
        larger_is_better=larger_is_better,
        threshold=threshold,
        n_dropped=n_all - n,
    )
    return out


# -- Sobol ---------------------------------------------------------------------------


def saltelli_base_size(n_rows: int, num_vars: int, calc_second_order: bool) -> int:
    r"""The base sample size :math:`N` of a Saltelli design of ``n_rows`` rows.

    A design over :math:`d` inputs has :math:`N(2d+2)` rows with second-order
    indices and :math:`N(d+2)` without. Raises :class:`ValueError` if ``n_rows``
    is not of that form.
    """
    if num_vars < 1:
        raise ValueError("a Sobol analysis needs at least one input")
    per = 2 * num_vars + 2 if calc_second_order else num_vars + 2
    if n_rows < per or n_rows % per:
        layout = f"N·(2d+2) = N·{per}" if calc_second_order else f"N·(d+2) = N·{per}"
        raise ValueError(
            f"{n_rows} outcomes do not fit a Saltelli design over d = {num_vars} inputs "
            f"with calc_second_order={calc_second_order}: expected {layout} for some N ≥ 1. "
            "Check that calc_second_order matches the sampling and that no sample is missing."
        )
    return n_rows // per


def sobol_indices(
    y: ArrayLike,
    names: Sequence[str],
    calc_second_order: bool,
    seed: int,
    *,
    num_resamples: int = 100,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    r"""First-order and total Sobol indices of one outcome, with bootstrap confidence.

    ``y`` holds the outcome of the Saltelli design's rows in ``sample`` order
    (e.g. from :func:`outcome_by_sample`); the design lives in the unit hypercube
    over ``names``. With :math:`V = \operatorname{Var}(Y)`,

    .. math::

        S_i = \frac{\operatorname{Var}_{X_i}\!\big(E[Y \mid X_i]\big)}{V},\qquad
        S_{T i} = \frac{E_{X_{\sim i}}\!\big[\operatorname{Var}_{X_i}(Y \mid X_{\sim i})\big]}{V},

    estimated by SALib (Saltelli et al. 2010 for :math:`S_i`, Jansen for
    :math:`S_{Ti}`) from the matrices :math:`A`, :math:`B` and :math:`A_B^{(i)}`
    of the design. ``S1_conf`` and ``ST_conf`` are the half-widths
    :math:`z_{(1+c)/2}\,\hat\sigma_{\text{boot}}` of the ``conf_level`` :math:`c`
    interval over ``num_resamples`` bootstrap resamples of the :math:`N` base rows,
    drawn from ``numpy.random.default_rng(seed)`` (passed to SALib as a Generator,
    so seed 0 is seeded too).

    A constant ``y`` has :math:`V = 0` and undefined indices: every index is NaN.
    Raises :class:`ValueError` if ``len(y)`` is not :math:`N(2d+2)`
    (``calc_second_order``) or :math:`N(d+2)`, or if ``y`` has NaN (a failed
    sample; the message lists them).

    Returns a frame with the columns ``name, S1, S1_conf, ST, ST_conf``, one row
    per input in the order of ``names``.
    """
    values = np.asarray(y, dtype=float).ravel()
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate input names in {names}")
    saltelli_base_size(values.size, len(names), calc_second_order)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        labels = np.asarray(y.index)[bad] if isinstance(y, pd.Series) else bad
        shown = ", ".join(str(s) for s in labels[:20]) + (" …" if bad.size > 20 else "")
        raise ValueError(
            f"{bad.size} of {values.size} samples have no finite outcome (failed runs?): "
            f"samples {shown}. Sobol indices need every sample of the design."
        )
    if np.ptp(values) == 0.0:
        nan = np.full(len(names), np.nan)
        return pd.DataFrame({"name": names, "S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan})
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    si = _salib_sobol.analyze(
        problem,
        values,
        calc_second_order=calc_second_order,
        num_resamples=num_resamples,
        conf_level=conf_level,
        print_to_console=False,
        seed=np.random.default_rng(seed),
    )
    return pd.DataFrame(
        {
            "name": names,
            "S1": np.asarray(si["S1"], dtype=float),
            "S1_conf": np.asarray(si["S1_conf"], dtype=float),
            "ST": np.asarray(si["ST"], dtype=float),
            "ST_conf": np.asarray(si["ST_conf"], dtype=float),
        }
    )


# -- PRIM ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PrimResult:
    """The outcome of :func:`prim`.

    ``trajectory`` has one row per box: ``step`` (0 = the whole sample), ``phase``
    (``"start"``, ``"peel"`` or ``"paste"``), ``coverage``, ``density``, ``mass``
    and ``n_restricted`` (inputs whose limits exclude some sample). ``boxes[k]`` are
    the limits of row ``k``. ``chosen`` is the row of the returned box, whose limits
    ``limits`` map each restricted input to ``(lower, upper)``: a case is in the box
    iff ``lower <= x <= upper`` for every restricted input (an unrestricted side is
    reported as the sample's min or max of that input).
    """

    trajectory: pd.DataFrame
    boxes: tuple[dict[str, tuple[float, float]], ...]
    chosen: int
    limits: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    threshold: float
    n: int
    n_flagged: int

    @property
    def meets_threshold(self) -> bool:
        """Whether the chosen box's density reaches the threshold."""
        return self.density >= self.threshold

    def in_box(self, inputs: pd.DataFrame) -> Bool:
        """Which rows of ``inputs`` fall in the chosen box."""
        inside = np.ones(len(inputs), dtype=bool)
        for name, (lo, hi) in self.limits.items():
            x = inputs[name].to_numpy(dtype=float)
            inside &= (x >= lo) & (x <= hi)
        return inside


@dataclass
class _Box:
    lo: F64
    hi: F64

    def contains(self, x: F64) -> Bool:
        return np.all((x >= self.lo) & (x <= self.hi), axis=1)  # type: ignore[no-any-return]

    def copy(self) -> _Box:
        return _Box(self.lo.copy(), self.hi.copy())


def _prim_data(
    inputs: pd.DataFrame, flags: Any, names: Sequence[str] | None
) -> tuple[list[str], F64, Bool]:
    cols = [str(c) for c in (names if names is not None else inputs.columns) if str(c) != "sample"]
    if not cols:
        raise ValueError("prim needs at least one input column besides 'sample'")
    missing = [c for c in cols if c not in inputs.columns]
    if missing:
        raise ValueError(f"inputs lacks the column(s) {missing}")
    x = inputs[cols].to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise ValueError("inputs has NaN or infinite values; PRIM needs every input of every row")
    if isinstance(flags, pd.Series):
        if not flags.index.equals(inputs.index):
            if set(flags.index) != set(inputs.index) or not flags.index.is_unique:
                raise ValueError("flags' index does not match inputs' index")
            flags = flags.reindex(inputs.index)
        if flags.isna().any():
            raise ValueError("flags has missing values")
    arr = np.asarray(flags)
    if arr.ndim != 1 or arr.shape[0] != x.shape[0]:
        raise ValueError(
            f"flags has shape {arr.shape}; expected ({x.shape[0]},), one per input row"
        )
    if arr.dtype != np.bool_:
        if not np.isin(arr, [0, 1]).all():
            raise ValueError("flags must be boolean (or 0/1)")
        arr = arr.astype(bool)
    if not arr.any():
        raise ValueError("no case is flagged; PRIM needs at least one case of interest")
    return cols, x, arr


def _stats(inside: Bool, y: Bool, n_flagged: int) -> tuple[float, float, float]:
    """(coverage, density, mass) of the box whose members are ``inside``."""
    n_in = int(inside.sum())
    hits = int((inside & y).sum())
    return hits / n_flagged, (hits / n_in if n_in else 0.0), n_in / inside.size


def _peel_candidates(x: F64, box: _Box, alpha: float) -> list[tuple[_Box, Bool]]:
    """Each one-sided peel of ``box``: drop about ``alpha`` of its cases on one side of an input."""
    inside = box.contains(x)
    xb = x[inside]
    n_b = xb.shape[0]
    k = max(1, int(np.floor(alpha * n_b)))
    out: list[tuple[_Box, Bool]] = []
    for j in range(x.shape[1]):
        v = np.sort(xb[:, j])
        if v[0] == v[-1]:
            continue
        # lower side: keep x_j >= v[k]; if that removes nothing (ties), the next distinct value
        lo = v[min(k, n_b - 1)]
        if lo == v[0]:
            lo = v[np.searchsorted(v, v[0], side="right")]
        new = box.copy()
        new.lo[j] = lo
        out.append((new, inside & (x[:, j] >= lo)))
        hi = v[max(n_b - 1 - k, 0)]
        if hi == v[-1]:
            hi = v[np.searchsorted(v, v[-1], side="left") - 1]
        new = box.copy()
        new.hi[j] = hi
        out.append((new, inside & (x[:, j] <= hi)))
    return out


def _paste_candidates(x: F64, box: _Box, alpha: float) -> list[tuple[_Box, Bool]]:
    """Every one-sided paste of ``box``: add about ``alpha`` times its cases beyond one limit."""
    inside = box.contains(x)
    k = max(1, int(np.floor(alpha * inside.sum())))
    out: list[tuple[_Box, Bool]] = []
    for j in range(x.shape[1]):
        others = np.all(
            np.delete((x >= box.lo) & (x <= box.hi), j, axis=1), axis=1
        )  # every limit but input j's
        below = np.sort(x[others & (x[:, j] < box.lo[j]), j])[::-1]
        if below.size:
            new = box.copy()
            new.lo[j] = below[min(k, below.size) - 1]
            out.append((new, new.contains(x)))
        above = np.sort(x[others & (x[:, j] > box.hi[j]), j])
        if above.size:
            new = box.copy()
            new.hi[j] = above[min(k, above.size) - 1]
            out.append((new, new.contains(x)))
    return out


def _best(candidates: list[tuple[_Box, Bool]], y: Bool, n_flagged: int, min_mass: float) -> Any:
    """The candidate of highest density (ties: larger mass, then first), or None."""
    best: tuple[float, float, int] | None = None
    chosen = None
    for i, (box, inside) in enumerate(candidates):
        cov, dens, mass = _stats(inside, y, n_flagged)
        if mass < min_mass:
            continue
        key = (dens, mass, -i)
        if best is None or key > best:
            best, chosen = key, (box, inside, cov, dens, mass)
    return chosen


def _paste_gains(pick: Any, current: dict[str, Any]) -> bool:
    """A paste is kept if it raises the density, or keeps it and raises the coverage."""
    cov, dens = float(pick[2]), float(pick[3])
    old_cov, old_dens = float(current["coverage"]), float(current["density"])
    if dens > old_dens + 1e-12:
        return True
    return dens >= old_dens - 1e-12 and cov > old_cov + 1e-12


def choose_box(density: Sequence[float] | F64, threshold: float) -> int:
    """Index of the last entry with ``density >= threshold``, else of the first maximum."""
    d = np.asarray(density, dtype=float)
    hits = np.flatnonzero(d >= threshold)
    return int(hits[-1]) if hits.size else int(np.argmax(d))


def prim(
    inputs: pd.DataFrame,
    flags: Any,
    names: Sequence[str] | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_mass: float = 0.05,
    threshold: float = 0.8,
) -> PrimResult:
    r"""PRIM scenario discovery (Friedman & Fisher 1999): a box of inputs where flagged cases lie.

    Data: :math:`n` cases :math:`x_i \in \mathbb R^d` (the columns ``names`` of
    ``inputs``; default every column but ``sample``) and flags :math:`y_i \in
    \{0, 1\}` (``flags``, aligned with the rows of ``inputs``; at least one true). A
    *box* is :math:`B = \prod_j [l_j, u_j]`, starting from :math:`l_j = -\infty`,
    :math:`u_j = +\infty`. With :math:`n_B = \#\{i : x_i \in B\}`,
    :math:`h_B = \#\{i : x_i \in B, y_i = 1\}` and :math:`n_1 = \sum_i y_i`:

    .. math::

        \text{coverage} = h_B / n_1,\qquad \text{density} = h_B / n_B,\qquad
        \text{mass} = n_B / n.

    **Peeling.** From the current box, each input :math:`j` (not constant in the
    box) gives two candidates: raise :math:`l_j` to :math:`v_{(k)}` or lower
    :math:`u_j` to :math:`v_{(n_B-1-k)}`, where :math:`v` are the box's values of
    input :math:`j` sorted ascending (0-based) and :math:`k = \max(1, \lfloor
    \alpha_{\text{peel}}\, n_B \rfloor)`; so about :math:`\alpha_{\text{peel}}` of
    the box is removed (all cases tied at the new limit are kept; if the limit
    would remove nothing, it moves to the next distinct value). Among the
    candidates with mass :math:`\ge` ``min_mass`` the one of highest density is
    taken (ties: larger mass, then lower input index, lower side first). Peeling
    stops when no candidate is left or the best one does not *strictly* raise the
    density; so density rises strictly along the peeling trajectory, whose boxes
    are nested with non-increasing coverage and mass.

    **Choice.** The chosen peeled box is the last one on the trajectory with
    density :math:`\ge` ``threshold``, else the one of maximal density. (Since
    density rises along the trajectory, this is its final box; the rule is kept
    explicit in :func:`choose_box`.)

    **Pasting.** From the chosen box, each restricted side gives a candidate that
    moves the limit outwards to take in the :math:`k = \max(1, \lfloor
    \alpha_{\text{paste}}\, n_B \rfloor)` nearest cases beyond it among those that
    satisfy every other limit (fewer if fewer exist). The candidate of highest
    density (ties: larger mass) is taken while it raises the density, or keeps the
    density and raises the coverage (so a pure box grows to take in adjacent
    flagged cases; every paste adds cases, so this ends). Paste boxes are
    appended to the trajectory (``phase = "paste"``); the returned box is the last
    row, after pasting.

    The limits reported are the data values that bound the box, so a case is in the
    box iff :math:`l_j \le x_{ij} \le u_j` on every restricted input. Deterministic:
    no randomness anywhere. Cost :math:`O(S\, d\, n \log n)` for :math:`S` steps.
    """
    if not 0.0 < peel_alpha < 0.5:
        raise ValueError(f"peel_alpha must be in (0, 0.5); got {peel_alpha}")
    if not 0.0 < paste_alpha < 1.0:
        raise ValueError(f"paste_alpha must be in (0, 1); got {paste_alpha}")
    if not 0.0 < min_mass <= 1.0:
        raise ValueError(f"min_mass must be in (0, 1]; got {min_mass}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1]; got {threshold}")
    cols, x, y = _prim_data(inputs, flags, names)
    n, d = x.shape
    n_flagged = int(y.sum())
    x_min, x_max = x.min(axis=0), x.max(axis=0)

    def limits(box: _Box) -> dict[str, tuple[float, float]]:
        lo = np.maximum(box.lo, x_min)
        hi = np.minimum(box.hi, x_max)
        return {
            cols[j]: (float(lo[j]), float(hi[j]))
            for j in range(d)
            if lo[j] > x_min[j] or hi[j] < x_max[j]
        }

    rows: list[dict[str, Any]] = []
    boxes: list[_Box] = []

    def record(box: _Box, phase: str, stats: tuple[float, float, float]) -> None:
        cov, dens, mass = stats
        rows.append(
            {
                "step": len(rows),
                "phase": phase,
                "coverage": cov,
                "density": dens,
                "mass": mass,
                "n_restricted": len(limits(box)),
            }
        )
        boxes.append(box)

    box = _Box(np.full(d, -np.inf), np.full(d, np.inf))
    record(box, "start", _stats(np.ones(n, dtype=bool), y, n_flagged))
    while True:
        pick = _best(_peel_candidates(x, box, peel_alpha), y, n_flagged, min_mass)
        if pick is None or pick[3] <= rows[-1]["density"]:
            break
        box = pick[0]
        record(box, "peel", pick[2:])

    # density rises strictly while peeling, so this is the last peeled box
    box = boxes[choose_box([r["density"] for r in rows], threshold)]
    while True:
        pick = _best(_paste_candidates(x, box, paste_alpha), y, n_flagged, min_mass)
        if pick is None or not _paste_gains(pick, rows[-1]):
            break
        box = pick[0]
        record(box, "paste", pick[2:])

    last = rows[-1]
    trajectory = pd.DataFrame(rows)
    return PrimResult(
        trajectory=trajectory,
        boxes=tuple(limits(b) for b in boxes),
        chosen=len(rows) - 1,
        limits=limits(box),
        coverage=float(last["coverage"]),
        density=float(last["density"]),
        mass=float(last["mass"]),
        threshold=threshold,
        n=n,
        n_flagged=n_flagged,
    )
