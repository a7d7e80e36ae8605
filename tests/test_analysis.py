"""Tests of the ensemble statistics (distributions, regret, Sobol, PRIM) and their figures."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.text import Text
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami

from stepdeal.ensemble.analysis import (
    PrimResult,
    choose_box,
    distributions,
    outcome_by_sample,
    outcome_matrix,
    prim,
    robustness,
    saltelli_base_size,
    sobol_indices,
)
from stepdeal.report.ensemble_plots import (
    distribution_figure,
    prim_figure,
    regret_figure,
    sobol_figure,
)

# -- fixtures ------------------------------------------------------------------------


def _results(rows: list[tuple[int, str, float | None]]) -> pd.DataFrame:
    """A results frame from (sample, policy, value) rows; value None = a failed run."""
    return pd.DataFrame(
        {
            "sample": np.array([r[0] for r in rows], dtype=np.int64),
            "policy": [r[1] for r in rows],
            "ok": [r[2] is not None for r in rows],
            "error": [None if r[2] is not None else "boom" for r in rows],
            "expected_resolved": [np.nan if r[2] is None else r[2] for r in rows],
        }
    )


@pytest.fixture
def dist_results() -> pd.DataFrame:
    rows: list[tuple[int, str, float | None]] = [
        (i, "a", float(v)) for i, v in enumerate([3, 1, 5, 2, 4])
    ]
    rows.append((5, "a", None))
    rows += [(0, "b", 20.0), (1, "b", 10.0), (2, "b", None), (3, "b", None)]
    return _results(rows)


#: three policies, four samples; sample 3 drops out (b failed there)
REGRET_ROWS: list[tuple[int, str, float | None]] = [
    (0, "a", 3.0),
    (0, "b", 1.0),
    (0, "c", 2.0),
    (1, "a", 1.0),
    (1, "b", 4.0),
    (1, "c", 4.0),
    (2, "a", 2.0),
    (2, "b", 2.0),
    (2, "c", 0.0),
    (3, "a", 5.0),
    (3, "b", None),
    (3, "c", 1.0),
]


@pytest.fixture
def regret_results() -> pd.DataFrame:
    return _results(REGRET_ROWS)


def _ishigami_y(calc_second_order: bool) -> np.ndarray:
    names = ["x1", "x2", "x3"]
    unit = {"num_vars": 3, "names": names, "bounds": [[0.0, 1.0]] * 3}
    u = sobol_sample.sample(unit, 1024, calc_second_order=calc_second_order, seed=11)
    return np.asarray(Ishigami.evaluate(-np.pi + 2 * np.pi * u), dtype=float)


def _prim_data(seed: int = 2024, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    inputs = pd.DataFrame({"sample": np.arange(n), "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2]})
    flags = (x[:, 0] > 0.7) & (x[:, 1] < 0.4)
    return inputs, flags


# -- distributions -------------------------------------------------------------------


def test_distributions_exact_percentiles(dist_results: pd.DataFrame) -> None:
    d = distributions(dist_results, "expected_resolved")
    assert list(d.index) == ["a", "b"]
    assert list(d.columns) == [
        "n_ok",
        "n_error",
        "mean",
        "sd",
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
        "min",
        "max",
    ]
    a = d.loc["a"]
    assert (a["n_ok"], a["n_error"]) == (5, 1)
    expected_a = {"mean": 3.0, "sd": math.sqrt(2.5), "p5": 1.2, "p25": 2.0, "p50": 3.0}
    expected_a |= {"p75": 4.0, "p95": 4.8, "min": 1.0, "max": 5.0}
    for key, value in expected_a.items():
        assert a[key] == pytest.approx(value, abs=1e-12), key
    b = d.loc["b"]
    assert (b["n_ok"], b["n_error"]) == (2, 2)
    expected_b = {"mean": 15.0, "sd": math.sqrt(50.0), "p5": 10.5, "p25": 12.5, "p50": 15.0}
    expected_b |= {"p75": 17.5, "p95": 19.5, "min": 10.0, "max": 20.0}
    for key, value in expected_b.items():
        assert b[key] == pytest.approx(value, abs=1e-12), key


def test_distributions_policy_without_ok_rows() -> None:
    d = distributions(_results([(0, "a", 1.0), (0, "b", None)]), "expected_resolved")
    assert d.loc["b", "n_ok"] == 0 and d.loc["b", "n_error"] == 1
    assert np.isnan(d.loc["b", "mean"]) and np.isnan(d.loc["b", "p50"])
    assert np.isnan(d.loc["a", "sd"])  # one value: no sample sd


def test_distributions_errors(dist_results: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="unknown outcome 'nope'"):
        distributions(dist_results, "nope")
    with pytest.raises(ValueError, match="lacks the column"):
        distributions(dist_results.drop(columns="ok"), "expected_resolved")
    bad = dist_results.copy()
    bad.loc[0, "expected_resolved"] = np.nan  # ok row with NaN outcome
    with pytest.raises(ValueError, match="NaN or infinite in rows marked ok"):
        distributions(bad, "expected_resolved")


# -- robustness ----------------------------------------------------------------------


def test_regret_three_policies(regret_results: pd.DataFrame) -> None:
    r = robustness(regret_results, "expected_resolved")
    assert list(r.index) == ["a", "b", "c"]
    assert list(r["n_samples"]) == [3, 3, 3]
    assert r.attrs["n_dropped"] == 1
    np.testing.assert_allclose(r["mean_regret"], [1.0, 2 / 3, 1.0])
    np.testing.assert_allclose(r["p50_regret"], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(r["p95_regret"], [2.7, 1.8, 1.9])
    np.testing.assert_allclose(r["max_regret"], [3.0, 2.0, 2.0])
    # ties (sample 1: b = c; sample 2: a = b) count for every tied policy
    np.testing.assert_allclose(r["share_best"], [2 / 3, 2 / 3, 1 / 3])
    assert "satisficing" not in r.columns


def test_regret_smaller_is_better(regret_results: pd.DataFrame) -> None:
    r = robustness(regret_results, "expected_resolved", larger_is_better=False)
    np.testing.assert_allclose(r["mean_regret"], [4 / 3, 5 / 3, 4 / 3])
    np.testing.assert_allclose(r["max_regret"], [2.0, 3.0, 3.0])
    np.testing.assert_allclose(r["share_best"], [1 / 3, 1 / 3, 1 / 3])
    assert (r["mean_regret"] >= 0).all()


def test_satisficing(regret_results: pd.DataFrame) -> None:
    r = robustness(regret_results, "expected_resolved", threshold=4.0)
    # a reaches 4 only in sample 3, which is dropped (b failed there)
    np.testing.assert_allclose(r["satisficing"], [0.0, 1 / 3, 1 / 3])
    r = robustness(regret_results, "expected_resolved", larger_is_better=False, threshold=1.0)
    np.testing.assert_allclose(r["satisficing"], [1 / 3, 1 / 3, 1 / 3])
    r = robustness(regret_results, "expected_resolved", threshold=3.0)
    np.testing.assert_allclose(r["satisficing"], [1 / 3, 1 / 3, 1 / 3])
    r = robustness(regret_results, "expected_resolved", threshold=2.0)
    np.testing.assert_allclose(r["satisficing"], [2 / 3, 2 / 3, 2 / 3])
    assert r.attrs["threshold"] == 2.0


def test_regret_tie_tolerance() -> None:
    rows: list[tuple[int, str, float | None]] = [
        (0, "a", 1.0),
        (0, "b", 1.0 + 5e-10),
        (0, "c", 0.0),
    ]
    r = robustness(_results(rows))
    np.testing.assert_allclose(r["share_best"], [1.0, 1.0, 0.0])
    rows = [(0, "a", 1.0), (0, "b", 1.0 + 1e-6), (0, "c", 0.0)]
    np.testing.assert_allclose(robustness(_results(rows))["share_best"], [0.0, 1.0, 0.0])


def test_robustness_errors(regret_results: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="no sample where every policy is ok"):
        robustness(_results([(0, "a", 1.0), (0, "b", None), (1, "a", None), (1, "b", 2.0)]))
    with pytest.raises(ValueError, match="duplicate"):
        robustness(pd.concat([regret_results, regret_results.iloc[:1]], ignore_index=True))
    with pytest.raises(ValueError, match="unknown outcome"):
        robustness(regret_results, "target_utility")


def test_outcome_matrix(regret_results: pd.DataFrame) -> None:
    m = outcome_matrix(regret_results, "expected_resolved")
    assert list(m.index) == [0, 1, 2] and list(m.columns) == ["a", "b", "c"]
    assert m.loc[1, "b"] == 4.0


# -- Sobol ---------------------------------------------------------------------------


@pytest.mark.parametrize("second", [True, False])
def test_sobol_ishigami(second: bool) -> None:
    s = sobol_indices(_ishigami_y(second), ["x1", "x2", "x3"], second, seed=3).set_index("name")
    assert list(s.columns) == ["S1", "S1_conf", "ST", "ST_conf"]
    assert s.loc["x1", "S1"] == pytest.approx(0.31, abs=0.05)
    assert s.loc["x2", "S1"] == pytest.approx(0.44, abs=0.05)
    assert s.loc["x3", "S1"] == pytest.approx(0.0, abs=0.05)
    assert s.loc["x3", "ST"] == pytest.approx(0.24, abs=0.05)
    assert s.loc["x1", "ST"] == pytest.approx(0.56, abs=0.05)
    assert (s[["S1_conf", "ST_conf"]] > 0).all().all()


def test_sobol_bootstrap_is_seeded() -> None:
    y = _ishigami_y(False)
    names = ["x1", "x2", "x3"]
    for seed in (0, 5):  # SALib treats seed 0 as "unseeded"; ours must not
        a = sobol_indices(y, names, False, seed=seed)
        b = sobol_indices(y, names, False, seed=seed)
        pd.testing.assert_frame_equal(a, b)
    c = sobol_indices(y, names, False, seed=6)
    assert not np.allclose(c["S1_conf"], sobol_indices(y, names, False, seed=5)["S1_conf"])


def test_sobol_layout_errors() -> None:
    y = np.arange(8 * 20, dtype=float)  # N = 20 for d = 3 with second order
    assert saltelli_base_size(160, 3, True) == 20
    assert saltelli_base_size(100, 3, False) == 20
    with pytest.raises(ValueError, match=r"N·\(2d\+2\) = N·8"):
        sobol_indices(y[:-1], ["a", "b", "c"], True, seed=1)
    with pytest.raises(ValueError, match=r"N·\(d\+2\) = N·5"):
        sobol_indices(y[:-2], ["a", "b", "c"], False, seed=1)
    with pytest.raises(ValueError, match="do not fit"):
        sobol_indices(y[:4], ["a", "b", "c"], True, seed=1)
    with pytest.raises(ValueError, match="duplicate input names"):
        sobol_indices(y, ["a", "a", "c"], True, seed=1)


def test_sobol_nan_names_failed_samples() -> None:
    y = _ishigami_y(False)
    y[[7, 42]] = np.nan
    with pytest.raises(ValueError, match=r"2 of 5120 samples .*samples 7, 42"):
        sobol_indices(y, ["x1", "x2", "x3"], False, seed=1)


def test_sobol_from_results_frame() -> None:
    n = 4 * (1 + 2)  # N = 4, d = 1, first order only
    rng = np.random.default_rng(0)
    values = rng.random(n)
    rows: list[tuple[int, str, float | None]] = [(i, "p", float(v)) for i, v in enumerate(values)]
    rows[5] = (5, "p", None)
    res = _results(rows).sample(frac=1.0, random_state=1)  # order must not matter
    y = outcome_by_sample(res, "p", "expected_resolved")
    np.testing.assert_allclose(np.delete(y, 5), np.delete(values, 5))
    assert np.isnan(y[5])
    with pytest.raises(ValueError, match="samples 5"):
        sobol_indices(y, ["u"], False, seed=1)


def test_sobol_constant_outcome_is_nan() -> None:
    s = sobol_indices(np.ones(5 * 10), ["a", "b", "c"], False, seed=1)
    assert s[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()


# -- PRIM ----------------------------------------------------------------------------


def test_prim_finds_the_box() -> None:
    inputs, flags = _prim_data()
    r = prim(inputs, flags)
    assert set(r.limits) == {"x1", "x2"}  # x3 unrestricted, sample never an input
    lo1, hi1 = r.limits["x1"]
    lo2, hi2 = r.limits["x2"]
    assert lo1 == pytest.approx(0.7, abs=0.05) and hi1 == pytest.approx(1.0, abs=0.05)
    assert lo2 == pytest.approx(0.0, abs=0.05) and hi2 == pytest.approx(0.4, abs=0.05)
    assert r.density >= 0.9 and r.meets_threshold
    assert r.coverage >= 0.85
    assert r.n == 2000 and r.n_flagged == int(flags.sum())
    # the reported numbers are those of the reported limits
    inside = r.in_box(inputs)
    assert inside.sum() / r.n == pytest.approx(r.mass)
    assert (inside & flags).sum() / flags.sum() == pytest.approx(r.coverage)
    # the trajectory
    t = r.trajectory
    assert list(t.columns) == ["step", "phase", "coverage", "density", "mass", "n_restricted"]
    assert t["phase"].iloc[0] == "start" and t["mass"].iloc[0] == 1.0
    assert t["coverage"].iloc[0] == 1.0
    assert t["density"].iloc[0] == pytest.approx(flags.mean())
    peel = t[t["phase"] != "paste"]
    assert (np.diff(peel["density"]) > 0).all() and (np.diff(peel["mass"]) < 0).all()
    assert r.chosen == len(t) - 1 and len(r.boxes) == len(t)
    assert r.boxes[0] == {} and r.boxes[r.chosen] == r.limits
    assert t["n_restricted"].iloc[-1] == 2


def test_prim_is_deterministic_and_accepts_series() -> None:
    inputs, flags = _prim_data(seed=7, n=500)
    a = prim(inputs, flags)
    b = prim(inputs, pd.Series(flags, index=inputs.index)[::-1])  # reindexed to inputs
    assert a.limits == b.limits
    pd.testing.assert_frame_equal(a.trajectory, b.trajectory)
    c = prim(inputs.drop(columns="sample"), flags.astype(int), names=["x1", "x2", "x3"])
    assert c.limits == a.limits


def test_prim_names_restrict_inputs() -> None:
    inputs, flags = _prim_data(n=800)
    r = prim(inputs, flags, names=["x1", "x3"])
    assert set(r.limits) <= {"x1", "x3"} and "x1" in r.limits


def test_prim_all_flagged_keeps_the_whole_sample() -> None:
    inputs, flags = _prim_data(n=100)
    r = prim(inputs, np.ones_like(flags))
    assert r.limits == {} and (r.coverage, r.density, r.mass) == (1.0, 1.0, 1.0)
    assert len(r.trajectory) == 1


def test_prim_one_input_threshold() -> None:
    # one input, flagged iff x <= 0.5: peeling stops at the first pure box
    x = np.linspace(0.0, 1.0, 201)
    inputs = pd.DataFrame({"sample": np.arange(201), "x": x})
    r = prim(inputs, x <= 0.5)
    assert r.density == 1.0
    assert r.limits["x"][1] == pytest.approx(0.5, abs=0.03)


def test_prim_pasting_recovers_an_overshoot() -> None:
    # coarse peels overshoot to x <= 0.49; fine pastes take back 0.495 and 0.5 (both
    # flagged: density stays 1, coverage rises) and stop before 0.505 (not flagged)
    x = np.linspace(0.0, 1.0, 201)
    r = prim(pd.DataFrame({"x": x}), x <= 0.5, peel_alpha=0.3, paste_alpha=0.01)
    t = r.trajectory
    assert list(t["phase"]) == ["start", "peel", "peel", "paste", "paste"]
    assert t["coverage"].iloc[2] < 1.0
    assert r.limits == {"x": (0.0, 0.5)}
    assert (r.coverage, r.density, r.chosen) == (1.0, 1.0, 4)


def test_choose_box() -> None:
    assert choose_box([0.1, 0.5, 0.85, 0.7, 0.9, 0.6], 0.8) == 4
    assert choose_box([0.1, 0.5, 0.6, 0.4], 0.8) == 2
    assert choose_box([0.2, 0.6, 0.6], 0.8) == 1


def test_prim_errors() -> None:
    inputs, flags = _prim_data(n=50)
    with pytest.raises(ValueError, match="no case is flagged"):
        prim(inputs, np.zeros(50, dtype=bool))
    with pytest.raises(ValueError, match="expected \\(50,\\)"):
        prim(inputs, flags[:-1])
    with pytest.raises(ValueError, match="boolean"):
        prim(inputs, np.full(50, 0.5))
    with pytest.raises(ValueError, match="peel_alpha"):
        prim(inputs, flags, peel_alpha=0.5)
    with pytest.raises(ValueError, match="paste_alpha"):
        prim(inputs, flags, paste_alpha=0.0)
    with pytest.raises(ValueError, match="min_mass"):
        prim(inputs, flags, min_mass=0.0)
    with pytest.raises(ValueError, match="threshold"):
        prim(inputs, flags, threshold=1.5)
    with pytest.raises(ValueError, match="lacks the column"):
        prim(inputs, flags, names=["x1", "nope"])
    with pytest.raises(ValueError, match="besides 'sample'"):
        prim(inputs[["sample"]], flags)
    bad = inputs.copy()
    bad.loc[3, "x2"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        prim(bad, flags)
    with pytest.raises(ValueError, match="index does not match"):
        prim(inputs, pd.Series(flags, index=np.arange(100, 150)))


@st.composite
def prim_cases(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray, float, float, float]:
    n = draw(st.integers(2, 120))
    d = draw(st.integers(1, 3))
    discrete = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, d)).astype(float) if discrete else rng.random((n, d))
    flags = rng.random(n) < draw(st.floats(0.0, 1.0))
    flags[draw(st.integers(0, n - 1))] = True
    inputs = pd.DataFrame(x, columns=[f"u{j}" for j in range(d)])
    inputs.insert(0, "sample", np.arange(n))
    peel = draw(st.floats(0.01, 0.49))
    paste = draw(st.floats(0.01, 0.99))
    min_mass = draw(st.floats(0.01, 1.0))
    return inputs, flags, peel, paste, min_mass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prim_cases())
def test_prim_box_properties(case: tuple[pd.DataFrame, np.ndarray, float, float, float]) -> None:
    inputs, flags, peel, paste, min_mass = case
    r = prim(inputs, flags, peel_alpha=peel, paste_alpha=paste, min_mass=min_mass)
    assert isinstance(r, PrimResult)
    assert 0.0 <= r.coverage <= 1.0 and 0.0 <= r.density <= 1.0
    assert r.mass >= min_mass and r.mass <= 1.0
    t = r.trajectory
    assert ((t["coverage"] >= 0) & (t["coverage"] <= 1)).all()
    assert ((t["density"] >= 0) & (t["density"] <= 1)).all()
    assert (t["mass"] >= min_mass).all()
    inside = r.in_box(inputs)
    assert inside.sum() == pytest.approx(r.mass * r.n)
    assert (inside & flags).sum() == pytest.approx(r.coverage * r.n_flagged)
    assert r.density >= t["density"].iloc[0] - 1e-12  # never worse than the whole sample


# -- figures -------------------------------------------------------------------------


def _check_figure(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    assert len(fig.axes) >= 1
    fig.savefig(io.BytesIO(), format="png")  # renders (Agg)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_visible():
            assert text.get_fontsize() >= 9, text.get_text()


def test_figures_smoke(regret_results: pd.DataFrame, dist_results: pd.DataFrame) -> None:
    _check_figure(distribution_figure(dist_results, "expected_resolved", "concerns"))
    rob = robustness(regret_results, "expected_resolved", threshold=2.0)
    _check_figure(regret_figure(rob))
    _check_figure(regret_figure(robustness(regret_results), unit="concerns"))
    sob = sobol_indices(_ishigami_y(False), ["x1", "x2", "x3"], False, seed=1)
    fig = sobol_figure(sob, "Ishigami")
    _check_figure(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "x1"  # largest ST on top
    inputs, flags = _prim_data(n=600)
    _check_figure(prim_figure(prim(inputs, flags)))
    all_flagged = prim(inputs, np.ones_like(flags))
    _check_figure(prim_figure(all_flagged))
