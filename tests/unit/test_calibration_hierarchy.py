"""The calibration parameter hierarchy (issue 15 item 3): priors from the records' plausible
ranges, overrides that leave the shipped set unchanged at theta = 0 and touch only the right
trials, an explicit arm -> parameter table, and a complete free/uncalibrated partition.

Source: identity checks on the shipped parameter sets, drug catalog and example specs.
"""

from __future__ import annotations

import math

import pytest

from oncotwin.calibration import hierarchy as hy
from oncotwin.calibration.targets import load_targets
from oncotwin.errors import OncotwinError, UnknownNameError
from oncotwin.parameters import ParameterSet, list_parameter_sets
from oncotwin.trials import Trial

CAR_T_ARMS = {"ZUMA1_AXICEL", "JULIET_TISACEL", "ELIANA_TISACEL", "KARMMA_IDECEL"}


@pytest.fixture(scope="module")
def h() -> hy.Hierarchy:
    return hy.Hierarchy.build()


def _typical(example: str) -> ParameterSet:
    return Trial.from_example(example).plan(patients=1).parameter_set()


def test_free_quantities_are_few_and_their_priors_come_from_the_records(h) -> None:
    counts = h.counts()
    assert 20 <= len(h.free) <= 45, counts  # CALIBRATION.md section 1: ~25-40 (+ toxicity)
    assert counts["tau"] == 2 and h.tau_names == ("tau_response", "tau_survival")
    for q in h.free:
        assert q.lower < 0 < q.upper, q.name  # theta = 0 (the shipped set) lies inside
        assert q.arms, q.name
    default = ParameterSet.load("metastatic_io/default")
    q, rec = h.quantity("cart_kill"), default["cart_kill"]
    lo, hi = rec.prior_range
    assert (q.lower, q.upper) == pytest.approx((math.log(lo / rec.value), math.log(hi / rec.value)))
    mel = ParameterSet.load("metastatic_io/melanoma")["growth_rate"]
    q = h.quantity("growth_rate@melanoma")
    assert q.value == mel.value and q.upper == pytest.approx(
        math.log(mel.prior_range[1] / mel.value)
    )
    # a range that starts at 0 is bounded at value / 100 on the log scale
    assert h.quantity("irae_hazard_synergy").lower == pytest.approx(math.log(0.01))


def test_overrides_at_theta_zero_are_the_typical_values(h) -> None:
    theta = dict.fromkeys(h.names, 0.0)
    for example in ("keynote024", "checkmate067", "zuma1"):
        typical = _typical(example)
        out = h.overrides(theta, example)
        assert out and all(out[p] == pytest.approx(typical[p].value) for p in out), example


def test_overrides_multiply_the_trials_own_typical_values(h) -> None:
    out = h.overrides({"growth_rate": 0.1, "growth_rate@nsclc": 0.2}, "keynote024")
    nsclc = _typical("keynote024")["growth_rate"].value
    assert out == {"growth_rate": pytest.approx(nsclc * math.exp(0.3))}
    out = h.overrides({"chemo_logkill_platinum": 0.5, "tau_response": 0.3}, "impower133")
    assert set(out) == {
        "chemo_logkill_platinum", "chemo_logkill_antimetabolite",
        "chemo_logkill_topoisomerase_inhibitor",
    }  # fmt: skip
    assert out["chemo_logkill_platinum"] == pytest.approx(0.3 * math.exp(0.5))


def test_a_cancer_offset_only_touches_its_cancers_trials(h) -> None:
    theta = {"growth_rate@melanoma": 0.5}
    mel = _typical("checkmate067")["growth_rate"].value
    assert h.overrides(theta, "checkmate067") == {"growth_rate": pytest.approx(mel * math.e**0.5)}
    for example in ("keynote024", "checkmate214", "zuma1"):
        assert h.overrides(theta, example) == {}, example


def test_overrides_refuse_unknown_names_and_bad_values(h) -> None:
    with pytest.raises(UnknownNameError, match="growth_rate"):
        h.overrides({"growth_rat": 0.1}, "keynote024")
    with pytest.raises(UnknownNameError):
        h.overrides({"lag3_brake": 0.1}, "keynote024")  # uncalibrated: not a quantity
    with pytest.raises(OncotwinError, match="finite"):
        h.overrides({"growth_rate": math.nan}, "keynote024")


def test_free_and_uncalibrated_partition_every_calibration_parameter(h) -> None:
    names: set[str] = set()
    offsets: set[str] = set()
    for pset in list_parameter_sets("metastatic_io"):
        ps = ParameterSet.load(pset)
        cancer = pset.split("/")[1]
        own = ps.own() if callable(ps.own) else ps.own
        names |= {k for k in ps if ps[k].calibrate}
        if cancer != "default":
            offsets |= {f"{k}@{cancer}" for k in own if ps[k].calibrate}
    covered = [p for q in h.free if q.level != "cancer" for p in q.parameters]
    covered += [n for n, _ in h.uncalibrated if "@" not in n]
    assert sorted(covered) == sorted(names)  # each once: free, pooled or uncalibrated
    labels = [q.name for q in h.free] + [n for n, _ in h.uncalibrated]
    assert len(labels) == len(set(labels))
    assert offsets <= set(labels)
    for name, reason in h.uncalibrated:
        assert reason.split(":")[0] in ("uncalibrated", "fixed"), name


def test_informing_arms_follow_the_drug_classes(h) -> None:
    assert set(h.quantity("cart_kill").arms) == CAR_T_ARMS
    for arm in h.quantity("chemo_logkill_platinum").arms:
        ex = next(t for t in load_targets() if t.arm_id == arm)
        assert "platinum" in hy.arm_tags(ex.example, ex.arm), arm
    assert set(h.quantity("irae_hazard_synergy").arms) == {"CM067_NIVO_IPI", "CM214_NIVO_IPI"}
    assert "CM067_IPI" not in h.quantity("irae_hazard_pd1").arms
    assert "KN189_PEMBRO_CHEMO" in h.quantity("irae_hazard_pd1").arms
    assert set(h.quantity("crs_grade3").arms) == CAR_T_ARMS
    assert h.quantity("growth_rate").arms == h.quantity("immunogenicity").arms
    assert len(h.quantity("growth_rate").arms) == len({t.arm_id for t in load_targets()})
    unc = dict(h.uncalibrated)
    assert unc["lag3_brake"] == "uncalibrated: no arm for anti-LAG-3"
    assert unc["engager_kill"].startswith("uncalibrated: no arm for")
    assert unc["crs_grade1"].startswith("uncalibrated")
    # conditioning cyclophosphamide is lymphodepletion, AC's is an alkylating agent
    assert "alkylating" not in hy.arm_tags("zuma1", "axicabtagene ciloleucel")
    assert "alkylating" in hy.arm_tags("slamon2001", "chemotherapy alone")


def test_rule_needs_every_class_group_and_an_endpoint() -> None:
    rule = hy.INFORMED_BY["irae_hazard_synergy"]
    both = frozenset({"anti-PD-1", "anti-CTLA-4"})
    assert rule.informed_by(both, {"g3plus_AE"})
    assert not rule.informed_by(frozenset({"anti-PD-1"}), {"g3plus_AE"})
    assert not rule.informed_by(both, {"ORR"})
    assert hy.INFORMED_BY["growth_rate"].informed_by(frozenset(), {"median_PFS_mo"})
    assert not hy.INFORMED_BY["death_hazard_max"].informed_by(frozenset(), {"ORR"})


def test_pooled_members_only_ever_come_with_their_primary(h) -> None:
    for primary, (members, _) in hy.POOLED.items():
        q = h.quantity(primary)
        for m in q.pooled:
            rule = hy.INFORMED_BY[m]
            for t in load_targets():
                if rule.informed_by(hy.arm_tags(t.example, t.arm), {t.endpoint}):
                    assert t.arm_id in q.arms, (primary, m, t.arm_id)
        assert set(q.pooled) <= set(members)


def test_json_round_trip_and_tau_assignment(h) -> None:
    back = hy.Hierarchy.from_json(h.to_json())
    assert back.free == h.free and back.uncalibrated == h.uncalibrated
    assert back.overrides({"cart_kill": 1.0}, "zuma1") == h.overrides({"cart_kill": 1.0}, "zuma1")
    with pytest.raises(OncotwinError, match="hierarchy JSON"):
        hy.Hierarchy.from_json('{"free": [{"name": 1}]}')
    ts = {t.target_id: t for t in load_targets()}
    assert h.tau_name(ts["KN024_PEMBRO:ORR"]) == "tau_response"
    assert h.tau_name(ts["KN024_PEMBRO:median_OS_mo"]) == "tau_survival"
