"""Sensitivity indices on functions whose answer is known, and the engine's bookkeeping
(designs, tornado, resumable points, bad input) with a fake simulator (no trial runs)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("SALib")

from oncotwin.calibration import sensitivity as sens
from oncotwin.calibration.sensitivity import Factor
from oncotwin.errors import OncotwinError


def _lin(names: str, lo: float = 0.0, hi: float = 1.0) -> list[Factor]:
    return [Factor(n, lo, hi, (lo + hi) / 2, "1", "linear") for n in names]


def test_morris_mu_star_of_a_linear_model_is_coefficient_times_range() -> None:
    factors = [
        Factor("a", 0.0, 10.0, 5.0, "1", "linear"),
        Factor("b", 0.0, 1.0, 0.5, "1", "linear"),
        Factor("c", 2.0, 4.0, 3.0, "1", "linear"),
    ]
    coef = np.array([3.0, -5.0, 0.0])
    x = sens.design(factors, "morris", 6, seed=1)
    assert x.shape == (6 * 4, 3)  # trajectories x (factors + 1)
    y = x @ coef
    idx = sens.morris_indices(factors, x, y).set_index("parameter")
    # an elementary effect is the change over the whole range: |coef| x (high - low)
    assert idx.loc["a", "mu_star"] == pytest.approx(30.0)
    assert idx.loc["b", "mu_star"] == pytest.approx(5.0)
    assert idx.loc["b", "mu"] == pytest.approx(-5.0)
    assert idx.loc["c", "mu_star"] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(idx["sigma"], 0.0, atol=1e-9)  # linear: no spread


def test_partial_morris_matches_salib_and_skips_non_finite_points() -> None:
    factors = _lin("abc")
    x = sens.design(factors, "morris", 8, seed=6)
    y = np.exp(x[:, 0]) + x[:, 1] * x[:, 2]
    full = sens.morris_indices(factors, x, y)
    part = sens.morris_partial(factors, x, y)
    for col in ("mu", "mu_star", "sigma"):
        assert np.allclose(full[col], part[col]), col
    assert (part["effects"] == 8).all()
    y2 = y.copy()
    y2[0] = np.inf  # the first point of the first trajectory: its first step is lost
    part2 = sens.morris_partial(factors, x, y2)
    assert part2["effects"].sum() == 3 * 8 - 1
    assert np.isfinite(part2["mu_star"]).all()


def test_morris_ranks_an_interaction_as_spread() -> None:
    factors = _lin("abc")
    x = sens.design(factors, "morris", 10, seed=2)
    y = x[:, 0] * x[:, 1] + 0.1 * x[:, 2]
    idx = sens.morris_indices(factors, x, y).set_index("parameter")
    assert idx.loc["c", "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert idx.loc["a", "sigma"] > 0.05 and idx.loc["b", "sigma"] > 0.05
    assert idx.loc["a", "mu_star"] > idx.loc["c", "mu_star"]


def test_sobol_first_order_of_a_linear_model_is_proportional_to_squared_coefficients() -> None:
    factors = _lin("abc")
    coef = np.array([1.0, 2.0, 3.0])
    x = sens.design(factors, "sobol", 1024, seed=3)
    assert x.shape == (1024 * 5, 3)  # samples x (factors + 2)
    idx = sens.sobol_indices(factors, x @ coef).set_index("parameter")
    expect = coef**2 / (coef**2).sum()  # equal ranges: S1_i = a_i^2 / sum a^2, ST = S1
    assert np.allclose(idx["S1"], expect, atol=0.03)
    assert np.allclose(idx["ST"], expect, atol=0.03)
    assert (idx["S1_conf"] > 0).all()


def test_sobol_indices_of_the_ishigami_function() -> None:
    factors = [Factor(n, -math.pi, math.pi, 0.0, "1", "linear") for n in ("x1", "x2", "x3")]
    x = sens.design(factors, "sobol", 2048, seed=4)
    y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    idx = sens.sobol_indices(factors, y).set_index("parameter")
    # analytic values (a = 7, b = 0.1; Ishigami & Homma 1990, Saltelli et al. 2008 Table 4.1)
    assert idx["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.05)
    assert idx["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.05)


def test_sobol_of_a_constant_output_is_zero() -> None:
    factors = _lin("ab")
    x = sens.design(factors, "sobol", 8, seed=0)
    idx = sens.sobol_indices(factors, np.full(len(x), 7.0))
    assert (idx[["S1", "ST"]].to_numpy() == 0).all()


def test_log_scale_is_used_for_wide_positive_ranges_only() -> None:
    f = Factor("k", 0.01, 1.0, 0.1, "1/day", "log")
    assert f.bounds == pytest.approx((math.log(0.01), 0.0))
    assert f.value(math.log(0.5)) == pytest.approx(0.5)
    assert "log-scaled" in f.describe() and "1/day" in f.describe()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("growth_rate", "is not NAME=LO:HI"),
        ("growth_rate=0.1", "is not NAME=LO:HI"),
        ("growth_rate=a:0.2", "is not two numbers"),
        ("growth_rate=0.3:0.2", "is not below high"),
        ("growth_rate=0.2:0.2", "is not below high"),
        ("growth_rate=-1:2", "negative"),
        ("growth_rate=0:inf", "finite"),
    ],
)
def test_parse_vary_refuses_bad_items(item: str, message: str) -> None:
    with pytest.raises(OncotwinError, match=message):
        sens.parse_vary([item])


def test_parse_vary_reads_ranges_and_refuses_duplicates() -> None:
    assert sens.parse_vary(["a=0:2", " b = 1e-3:0.1"]) == [("a", 0.0, 2.0), ("b", 1e-3, 0.1)]
    with pytest.raises(OncotwinError, match="given twice"):
        sens.parse_vary(["a=0:2", "a=1:3"])


@pytest.mark.parametrize(
    ("method", "size", "message"),
    [
        ("morris", 1, "at least 2 trajectories"),
        ("sobol", 12, "power of two"),
        ("sobol", 2, "power of two"),
        ("fast", 8, "unknown"),
    ],
)
def test_too_small_designs_are_refused(method: str, size: int, message: str) -> None:
    with pytest.raises(OncotwinError, match=message):
        sens.check_size(method, size)


class FakeTrial:
    """y = endpoint of the overrides; counts simulations."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, overrides: dict[str, float]) -> pd.DataFrame:
        self.calls += 1
        g, k = overrides["growth"], overrides["kill"]
        return pd.DataFrame(
            {
                "arm": ["A", "A", "A"],
                "endpoint": ["median_OS_mo", "ORR", "median_PFS_mo"],
                "value": [10.0 / g + 2.0 * k, 40.0 * k, math.inf if k > 0.15 else 3.0],
                "unit": ["months", "%", "months"],
            }
        )


def _fake_factors() -> list[Factor]:
    return [
        Factor("growth", 0.5, 2.0, 1.0, "1/day", "linear"),
        Factor("kill", 0.01, 1.0, 0.1, "1/day", "log"),
    ]


def test_engine_ranks_tornado_direction_and_not_finite_endpoints() -> None:
    fake = FakeTrial()
    idx, tor, n, now, notes = sens.analyse(
        _fake_factors(),
        fake,
        to_overrides=dict,
        method="morris",
        size=3,
        seed=5,
        endpoints=None,
    )
    assert n == 3 * 3 + 5 and now <= n and fake.calls == now
    os_ = idx[idx["endpoint"] == "median_OS_mo"].set_index("parameter")
    assert os_.loc["growth", "mu_star"] > os_.loc["kill", "mu_star"]
    orr = idx[idx["endpoint"] == "ORR"].set_index("parameter")
    assert orr.loc["growth", "mu_star"] == 0 and orr.loc["kill", "mu_star"] > 0
    t = tor[tor["endpoint"] == "median_OS_mo"].set_index("parameter")
    assert t.loc["growth", "change"] < 0  # faster growth, shorter survival
    assert t.loc["growth", "at_low"] == pytest.approx(10 / 0.5 + 0.2)
    assert t.loc["kill", "change"] == pytest.approx(2.0 * 0.99)
    # an endpoint that is infinite at some points gets indices from the elementary effects
    # between finite points (here: none for kill, whose every step crosses k = 0.15), and a
    # note says so
    pfs = idx[idx["endpoint"] == "median_PFS_mo"].set_index("parameter")
    assert pfs.loc["kill", "effects"] == 0 and np.isnan(pfs.loc["kill", "mu_star"])
    assert 0 < pfs.loc["growth", "effects"] < 3 and pfs.loc["growth", "mu_star"] == 0
    assert any("median_PFS_mo" in s and "not finite" in s for s in notes)


def test_points_are_stored_and_skipped_on_rerun(tmp_path) -> None:
    path = tmp_path / "points.csv"
    fake = FakeTrial()
    kw = dict(to_overrides=dict, method="morris", size=2, seed=1, identity="x", endpoints=None)
    idx1, *_ = sens.analyse(_fake_factors(), fake, cache=sens.PointCache(path), **kw)
    first = fake.calls
    assert first > 0 and path.exists()
    again = FakeTrial()
    idx2, _, _, now, _ = sens.analyse(_fake_factors(), again, cache=sens.PointCache(path), **kw)
    assert again.calls == 0 and now == 0
    pd.testing.assert_frame_equal(idx1, idx2)
    # a point cut short by a kill (fewer rows than it announced) is simulated again
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    third = FakeTrial()
    sens.analyse(_fake_factors(), third, cache=sens.PointCache(path), **kw)
    assert third.calls == 1
    # another identity (other spec, seed or patients) shares nothing
    other = FakeTrial()
    sens.analyse(_fake_factors(), other, cache=sens.PointCache(path), **{**kw, "identity": "y"})
    assert other.calls == first


def test_inert_quantities_are_below_the_threshold_for_every_target() -> None:
    screen = pd.DataFrame(
        {
            "target_id": ["t1", "t1", "t1", "t2", "t2", "t2"],
            "quantity": ["q1", "q2", "q3", "q1", "q2", "q3"],
            "mu_star_norm": [1.0, 0.01, 0.0, 0.2, 0.5, np.nan],
        }
    )
    assert sens.inert_quantities(screen) == ["q3"]
    assert sens.inert_quantities(screen, threshold=0.6) == ["q2", "q3"]


def test_refused_points_are_left_out_with_a_note_and_all_refused_raises() -> None:
    fake = FakeTrial()

    def picky(overrides: dict[str, float]) -> pd.DataFrame:
        if overrides["kill"] > 0.9:
            raise OncotwinError("kill outside its valid range")
        return fake(overrides)

    kw = dict(to_overrides=dict, method="morris", size=4, seed=2, endpoints=["ORR"])
    idx, tor, n, _, notes = sens.analyse(_fake_factors(), picky, **kw)
    x = np.vstack([sens.design(_fake_factors(), "morris", 4, 2), sens.oat_design(_fake_factors())])
    refused = int((np.exp(x[:, 1]) > 0.9).sum())  # kill is log-scaled
    assert 0 < refused < n
    assert notes[0].startswith(f"{refused} of {n} simulations refused")
    assert "kill outside its valid range" in notes[0]
    orr = idx.set_index("parameter")
    assert orr.loc["kill", "effects"] < 4 and orr.loc["kill", "mu_star"] > 0
    assert np.isnan(tor.set_index("parameter").loc["kill", "at_high"])

    def never(overrides: dict[str, float]) -> pd.DataFrame:
        raise OncotwinError("refused")

    with pytest.raises(OncotwinError, match="refused"):
        sens.analyse(_fake_factors(), never, **kw)
