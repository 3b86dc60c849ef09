"""The parameter hierarchy of calibration: which quantities the calibration arms can move.

A calibration quantity is a log-multiplier ``theta[q]`` on the typical value of one model
parameter (``CALIBRATION.md`` section 2), at one level:

- ``global`` (name ``"<parameter>"``): every trial. Global *biology* (antigenicity, growth,
  exhaustion, suppression, memory, new-lesion and death hazards) is informed by every efficacy
  arm; a therapy-class *potency* (e.g. ``cart_kill``) is a global quantity whose effect shows
  only in arms of its class.
- ``cancer`` (name ``"<parameter>@<cancer>"``): an offset for the trials of one cancer,
  partially pooled around the global value.
- ``toxicity``: the separate toxicity block, quantities whose parameters move only toxicity
  endpoints (irAE hazards, CRS/ICANS grade thresholds).

The prior of each quantity is uniform on log(value) over the parameter record's plausible
range (``prior_range``): ``theta`` in ``[log(lo / value), log(hi / value)]``, so ``theta = 0``
is the shipped set. Two trial random-effect spreads, ``tau_response`` (logit scale, rates) and
``tau_survival`` (log scale, medians and hazard ratios), are free quantities of the posterior
with half-normal priors (scale :data:`TAU_PRIOR_SCALE`); the trial effect itself is not
simulated but enters the likelihood as extra variance.

Which arms inform a parameter is an explicit table, :data:`INFORMED_BY`: the drug classes
(``oncotwin.pharmacology.get_drug(name).mechanism`` and ``.mechanisms``, or ``drug:<name>``
for one drug) an arm must give, and the endpoints that must be targets of that arm. Only a
quantity with at least one informing calibration arm is free; every other ``calibrate = true``
parameter stays at its sourced value and :attr:`Hierarchy.uncalibrated` says why
("uncalibrated: no arm for X"). To keep the number of free quantities within what ~200
published numbers can inform (~25-40 population quantities, ``CALIBRATION.md`` section 1),
a few informed quantities are pooled or fixed, each with its reason (:data:`POOLED`,
:data:`FIXED`, :data:`OFFSET_RULES`).

Examples
--------
>>> h = Hierarchy.build()
>>> "cart_kill" in h.names and "lag3_brake" in h.names
False
>>> dict(h.uncalibrated)["lag3_brake"]
'uncalibrated: no arm for anti-LAG-3'
>>> h.overrides({}, "keynote024") == {}
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean
from oncotwin.models._metastatic_io_chemo import drug_key
from oncotwin.pharmacology.catalog import CYTOTOXIC_CLASSES

if TYPE_CHECKING:
    from oncotwin.calibration.targets import Target

__all__ = [
    "FIXED",
    "INFORMED_BY",
    "OFFSET_INFORMED_BY",
    "OFFSET_RULES",
    "POOLED",
    "TAU_NAMES",
    "TAU_PRIOR_SCALE",
    "Hierarchy",
    "Quantity",
    "Rule",
    "arm_tags",
]

MODEL = "metastatic_io"
#: The trial random-effect spreads (logit scale for rates, log scale for medians and HRs).
TAU_NAMES: tuple[str, str] = ("tau_response", "tau_survival")
#: Scale of the half-normal priors of the tau's.
TAU_PRIOR_SCALE = 0.5

_PD1_AXIS = frozenset({"anti-PD-1", "anti-PD-L1"})
_CTLA4 = frozenset({"anti-CTLA-4"})
_CELL_ENGAGING = frozenset({"CAR-T", "bispecific T-cell engager"})
#: Classes whose effect runs through the patient's own anti-tumour immunity (priming from
#: tumour antigen): the arms that can inform a cancer's immunogenicity offset.
IMMUNE_PRIMING_CLASSES = frozenset(
    {
        "anti-PD-1",
        "anti-PD-L1",
        "anti-CTLA-4",
        "anti-LAG-3",
        "cytokine",
        "peptide vaccine",
        "cellular vaccine",
        "oncolytic virus",
        "tumour-infiltrating lymphocytes",
    }
)
#: Classes acting through a target antigen on tumour cells (antigen-negative escape).
_ANTIGEN_TARGETED = frozenset(
    {"CAR-T", "anti-tumor-antigen mAb", "bispecific T-cell engager", "antibody-drug conjugate"}
)
_ALL = "*"  # any arm

EFFICACY_ENDPOINTS = frozenset(
    {
        "ORR",
        "CR",
        "median_PFS_mo",
        "median_OS_mo",
        "HR_PFS",
        "HR_OS",
        *(f"{k}_{m}mo" for k in ("PFS", "OS") for m in (6, 12, 24)),
    }
)
OS_ENDPOINTS = frozenset({"median_OS_mo", "HR_OS", "OS_6mo", "OS_12mo", "OS_24mo"})


@dataclass(frozen=True)
class Rule:
    """How calibration arms inform one parameter.

    An arm informs the parameter if, for every set in ``all_of``, it gives a drug of one of
    its classes (a mechanism name, or ``drug:<name>``; ``"*"`` = any arm), and it has a
    target among ``endpoints``. ``kind`` is ``biology``, ``class`` or ``toxicity``; ``needs``
    names what is missing when no arm qualifies ("uncalibrated: no arm for <needs>").
    """

    kind: str
    all_of: tuple[frozenset[str], ...]
    endpoints: frozenset[str]
    needs: str
    why: str = ""

    def informed_by(self, tags: frozenset[str], endpoints: Iterable[str]) -> bool:
        """True if an arm with these drug tags and target endpoints informs the parameter."""
        if not self.endpoints.intersection(endpoints):
            return False
        return all(_ALL in group or group & tags for group in self.all_of)


def _class(classes: Iterable[str], needs: str, why: str = "") -> Rule:
    return Rule("class", (frozenset(classes),), EFFICACY_ENDPOINTS, needs, why)


def _biology(endpoints: frozenset[str] = EFFICACY_ENDPOINTS, why: str = "") -> Rule:
    return Rule("biology", (frozenset({_ALL}),), endpoints, "an efficacy target", why)


def _tox(groups: Sequence[Iterable[str]], endpoints: Iterable[str], needs: str) -> Rule:
    return Rule("toxicity", tuple(frozenset(g) for g in groups), frozenset(endpoints), needs)


#: Parameter -> the arms that make it identifiable (drug classes and target endpoints).
#: Global biology is informed by every efficacy arm (death and post-progression hazards by
#: arms with an OS target); a class potency only by arms giving that class; a toxicity
#: parameter only by arms of its class with a target of the toxicity it grades. Grade 1, 2
#: and 4 thresholds and the grade-4 share of irAEs move no grade >= 3 rate: no target can
#: inform them.
INFORMED_BY: dict[str, Rule] = {
    # global biology
    "growth_rate": _biology(why="untreated growth sets every arm's PFS and OS"),
    "immunogenicity": _biology(why="antigen release and priming act in every patient"),
    "exhaustion_rate": _biology(why="T-cell exhaustion acts in every patient"),
    "treg_suppression": _biology(why="Treg suppression acts in every patient"),
    "memory_recall": _biology(why="memory recall sets the durability of any immune control"),
    "micromet_access": _biology(why="immune patrol of micrometastases shapes new lesions"),
    "death_hazard_max": _biology(OS_ENDPOINTS, "the tumour-death hazard shapes OS"),
    "lethal_burden": _biology(OS_ENDPOINTS, "the lethal burden shapes OS"),
    "subsequent_therapy_hr": _biology(OS_ENDPOINTS, "post-progression survival shapes OS"),
    "antigen_negative_fraction": Rule(
        "biology",
        (_ANTIGEN_TARGETED,),
        EFFICACY_ENDPOINTS,
        "an antigen-targeted therapy (CAR-T, tumour-antigen antibody, engager, ADC)",
        "antigen-negative escape shows only under antigen-targeted therapy",
    ),
    # therapy-class potencies
    "pd1_inhibition": _class(_PD1_AXIS, "anti-PD-1/PD-L1"),
    "ctla4_brake": _class(_CTLA4, "anti-CTLA-4"),
    "lag3_brake": _class({"anti-LAG-3"}, "anti-LAG-3"),
    "il2_boost": _class(
        {"drug:aldesleukin", "tumour-infiltrating lymphocytes"}, "IL-2 (aldesleukin)"
    ),
    "gmcsf_priming": _class({"drug:sargramostim"}, "GM-CSF (sargramostim)"),
    "tki_effect": _class({"VEGFR TKI"}, "VEGFR TKI"),
    "mtor_growth_inhibition": _class({"mTOR inhibitor"}, "mTOR inhibitor"),
    "cart_kill": _class({"CAR-T"}, "CAR-T"),
    "vaccine_potency": _class({"peptide vaccine", "cellular vaccine"}, "vaccine"),
    "virus_lysis": _class({"oncolytic virus"}, "oncolytic virus"),
    "mab_adcc": _class({"anti-tumor-antigen mAb"}, "anti-tumor-antigen mAb"),
    "engager_kill": _class({"bispecific T-cell engager"}, "bispecific T-cell engager"),
    "til_reactive_fraction": _class({"tumour-infiltrating lymphocytes"}, "TIL"),
    "adc_kill": _class({"antibody-drug conjugate"}, "antibody-drug conjugate"),
    "brafmek_kill": _class({"BRAF/MEK inhibitor"}, "BRAF/MEK inhibitor"),
    "egfr_tki_kill": _class({"EGFR TKI"}, "EGFR TKI"),
    "imid_kill": _class({"immunomodulatory drug"}, "immunomodulatory drug"),
    "proteasome_kill": _class({"proteasome inhibitor"}, "proteasome inhibitor"),
    "glucocorticoid_kill": _class({"corticosteroid"}, "corticosteroid"),
    "chemo_sensitivity": _class({"chemotherapy"}, "chemotherapy"),
    **{f"chemo_logkill_{drug_key(c)}": _class({c}, f"{c} chemotherapy") for c in CYTOTOXIC_CLASSES},
    # toxicity block
    "irae_hazard_pd1": _tox(
        [_PD1_AXIS], {"g3plus_AE"}, "anti-PD-1/PD-L1 with a grade >= 3 AE rate"
    ),
    "irae_hazard_ctla4": _tox([_CTLA4], {"g3plus_AE"}, "anti-CTLA-4 with a grade >= 3 AE rate"),
    "irae_hazard_synergy": _tox(
        [_PD1_AXIS, _CTLA4], {"g3plus_AE"}, "anti-PD-(L)1 + anti-CTLA-4 with a grade >= 3 AE rate"
    ),
    "irae_hazard_il2": _tox(
        [{"drug:aldesleukin"}], {"g3plus_AE"}, "IL-2 with a grade >= 3 AE rate"
    ),
    "capillary_leak_grade3": _tox(
        [{"drug:aldesleukin"}], {"g3plus_AE"}, "IL-2 with a grade >= 3 AE rate"
    ),
    "irae_grade4_share": _tox([{_ALL}], (), "grade 4 irAE rates (targets are grade >= 3)"),
    "crs_cytokine_release": _tox(
        [_CELL_ENGAGING], {"g3plus_CRS", "g3plus_ICANS"}, "CAR-T/engager with CRS or ICANS rates"
    ),
    "crs_grade3": _tox(
        [_CELL_ENGAGING], {"g3plus_CRS"}, "CAR-T/engager with a grade >= 3 CRS rate"
    ),
    "icans_grade3": _tox(
        [_CELL_ENGAGING], {"g3plus_ICANS"}, "CAR-T/engager with a grade >= 3 ICANS rate"
    ),
    **{
        f"{kind}_grade{g}": _tox(
            [{_ALL}], (), f"grade {g} {kind.upper()} rates (targets are grade >= 3 rates)"
        )
        for kind in ("crs", "icans")
        for g in (1, 2, 4)
    },
}

#: Primary parameter -> parameters moved by the same log-multiplier, and why: classes that
#: the calibration arms give only together cannot be told apart. A member joins only when an
#: arm informs it; every arm that informs a member also informs the primary (tested).
POOLED: dict[str, tuple[tuple[str, ...], str]] = {
    "chemo_logkill_platinum": (
        ("chemo_logkill_antimetabolite", "chemo_logkill_topoisomerase_inhibitor"),
        "antimetabolites and topoisomerase inhibitors are given only with a platinum in the "
        "calibration arms (pemetrexed/5-FU/capecitabine/gemcitabine doublets, carboplatin-"
        "etoposide): one platinum-doublet potency",
    ),
    "chemo_logkill_anthracycline": (
        ("chemo_logkill_alkylating",),
        "doxorubicin and cyclophosphamide are given only together (AC in Slamon 2001): one "
        "AC potency",
    ),
}

#: Quantities that arms inform but that stay fixed, with why ("<parameter>" or
#: "<parameter>@*" for every cancer offset of it).
FIXED: dict[str, str] = {
    "chemo_sensitivity": "fixed: a common factor of every class log-kill, not separable from "
    "the class potencies (only their product acts)",
    "chemo_sensitivity@*": "fixed: each cancer's calibration chemotherapy arms give one or two "
    "class combinations, so its sensitivity is not separable from the class potencies; the "
    "cancer set's value stands",
    "crs_cytokine_release": "fixed: only its ratio to the CRS and ICANS grade thresholds moves "
    "the grade >= 3 rates; crs_grade3 and icans_grade3 are calibrated",
}

#: Cancer offsets: (minimum informing arms, minimum trials among them, why) per parameter.
#: Candidates are the calibrate = true parameters a cancer set overrides, and immunogenicity
#: (per cancer by nature). One arm cannot separate a cancer offset from its own treatment
#: effect; a cancer's immunogenicity offset from one trial would only absorb that trial's
#: random effect (the TMB covariate mapping stands instead).
OFFSET_RULES: dict[str, tuple[int, int]] = {
    "growth_rate": (2, 1),
    "immunogenicity": (2, 2),
    "lethal_burden": (2, 1),
    "mab_adcc": (2, 1),
    "chemo_sensitivity": (2, 1),
}
PER_CANCER_BY_NATURE: tuple[str, ...] = ("immunogenicity",)
#: Offsets informed by fewer arms than the global quantity: a cancer's immunogenicity shows
#: in arms whose effect runs through priming (checkpoint inhibitors, cytokines, vaccines,
#: oncolytic virus, TIL), not in CAR-T or chemotherapy arms.
OFFSET_INFORMED_BY: dict[str, Rule] = {
    "immunogenicity": Rule(
        "cancer",
        (IMMUNE_PRIMING_CLASSES,),
        EFFICACY_ENDPOINTS,
        "an immune-priming therapy (checkpoint inhibitor, cytokine, vaccine, virus, TIL)",
    ),
}


@dataclass(frozen=True)
class Quantity:
    """One free calibration quantity: a log-multiplier on a parameter's typical value.

    ``lower``/``upper`` bound ``theta`` (from the record's plausible range; 0 lies inside).
    ``value`` is the typical value (the default set's for a global quantity, the cancer
    set's for an offset), ``arms`` the calibration arms that inform it, ``pooled`` further
    parameters moved by the same multiplier.
    """

    name: str
    parameter: str
    level: str
    cancer: str | None
    lower: float
    upper: float
    value: float
    unit: str
    arms: tuple[str, ...]
    kind: str = ""
    pooled: tuple[str, ...] = ()
    note: str = ""

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter this quantity multiplies."""
        return (self.parameter, *self.pooled)


def _drug_tags(drugs: Iterable[str]) -> set[str]:
    from oncotwin.pharmacology import get_drug

    tags: set[str] = set()
    for name in drugs:
        d = get_drug(name)
        tags |= {d.mechanism, *d.mechanisms, f"drug:{d.name}"}
    return tags


@lru_cache(maxsize=256)
def arm_tags(example: str, arm: str) -> frozenset[str]:
    """Drug classes of an example arm: each drug's mechanism and mechanism classes and
    ``drug:<name>``, over all of an investigator's-choice arm's options.

    In an arm that gives a cell therapy (CAR-T, TIL), the lymphodepleting drugs count as
    ``lymphodepletion`` only (cyclophosphamide's ``alkylating`` class is not informed by a
    conditioning dose). A crossover regimen is not counted (it acts after progression).

    >>> sorted(arm_tags("keynote024", "platinum doublet chemotherapy"))[:3]
    ['antimetabolite', 'chemotherapy', 'drug:carboplatin']
    """
    from oncotwin.pharmacology import get_drug
    from oncotwin.regimens import parse_regimen
    from oncotwin.trials.spec import example_path, load_spec

    spec = load_spec(example_path(example))
    match = [a for a in spec.arms if a.name == arm]
    if not match:
        raise UnknownNameError(did_you_mean(arm, spec.arm_names, what=f"arm of {example}"))
    a = match[0]
    regimens = list(a.regimens())
    for c in a.choices:
        regimens += [parse_regimen(t) for t in c.regimen]
    drugs = sorted({d for r in regimens for d in r.drugs})
    cell = any(get_drug(d).mechanism in ("CAR-T", "tumour-infiltrating lymphocytes") for d in drugs)
    tags: set[str] = set()
    for d in drugs:
        if cell and get_drug(d).mechanism == "lymphodepletion":
            tags |= {"lymphodepletion", f"drug:{get_drug(d).name}"}
        else:
            tags |= _drug_tags([d])
    return frozenset(tags)


def _calibration_records() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(records of the default set, cancer -> its own calibrate = true records) for every
    parameter that is calibrate = true in the default set or in a cancer set."""
    from oncotwin.parameters import ParameterSet, list_parameter_sets

    default = ParameterSet.load(f"{MODEL}/default")
    names = {k for k in default if default[k].calibrate}
    per_cancer: dict[str, dict[str, Any]] = {}
    for name in list_parameter_sets(MODEL):
        cancer = name.split("/", 1)[1]
        if cancer == "default":
            continue
        ps = ParameterSet.load(name)
        own = ps.own() if callable(ps.own) else ps.own
        per_cancer[cancer] = {k: ps[k] for k in own if ps[k].calibrate}
        names |= set(per_cancer[cancer])
    return {k: default[k] for k in sorted(names)}, per_cancer


def _global_bounds(
    param: str, rec: Any, per_cancer: Mapping[str, Mapping[str, Any]]
) -> tuple[float, float]:
    """theta bounds of a global quantity: its default record's range, or, for a parameter
    that only the cancer sets calibrate (e.g. growth_rate), the intersection of the cancer
    records' ranges (so that the global multiplier stays plausible for every cancer)."""
    if rec.calibrate and rec.prior_range is not None:
        return _bounds(rec, param)
    pairs = [_bounds(r[param], f"{param}@{c}") for c, r in per_cancer.items() if param in r]
    if not pairs:
        return _bounds(rec, param)
    return max(p[0] for p in pairs), min(p[1] for p in pairs)


def _bounds(rec: Any, name: str) -> tuple[float, float]:
    """theta bounds from a record's plausible range (a range from 0 stops at value / 100)."""
    value = float(rec.value)
    if rec.prior_range is None or value <= 0:
        raise OncotwinError(
            f"calibration quantity {name}: the record needs a value > 0 and a plausible range "
            "(prior_range) to give a prior; add them to its parameter set"
        )
    lo, hi = (float(x) for x in rec.prior_range)
    lo = max(lo, value / 100.0)
    if not lo <= value <= hi:
        raise OncotwinError(
            f"calibration quantity {name}: value {value:g} lies outside its range "
            f"({lo:g}, {hi:g}); fix the record"
        )
    return math.log(lo / value), math.log(hi / value)


def _arm_index(targets: Sequence[Target]) -> dict[str, dict[str, Any]]:
    """arm_id -> {example, arm, cancer, trial, tags, endpoints} of the targets' arms."""
    from oncotwin.trials.targets import published

    out: dict[str, dict[str, Any]] = {}
    for t in targets:
        info = out.setdefault(
            t.arm_id,
            {
                "example": t.example,
                "arm": t.arm,
                "cancer": t.cancer,
                "trial": published(t.arm_id).trial,
                "tags": arm_tags(t.example, t.arm),
                "endpoints": set(),
            },
        )
        info["endpoints"].add(t.endpoint)
    return out


@dataclass(frozen=True)
class Hierarchy:
    """Free calibration quantities, the uncalibrated ones with reasons, and the tau's.

    Build it with :meth:`build`; ``theta`` maps quantity names (and optionally the tau
    names, which :meth:`overrides` ignores) to log-multipliers.
    """

    free: tuple[Quantity, ...]
    uncalibrated: tuple[tuple[str, str], ...]
    tau_names: tuple[str, ...] = TAU_NAMES
    tau_prior_scale: float = TAU_PRIOR_SCALE
    model: str = MODEL
    _examples_cancer: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, targets: Sequence[Target] | None = None) -> Hierarchy:
        """The hierarchy that ``targets`` (default: :func:`load_targets`) can inform."""
        from oncotwin.calibration.targets import load_targets

        targets = list(load_targets() if targets is None else targets)
        arms = _arm_index(targets)
        base, per_cancer = _calibration_records()
        missing = sorted(set(base) - set(INFORMED_BY))
        if missing:
            raise OncotwinError(
                f"calibrate = true parameters without a row in hierarchy.INFORMED_BY: {missing}; "
                "add each with the drug classes and endpoints that make it identifiable"
            )
        free: list[Quantity] = []
        unc: list[tuple[str, str]] = []
        pooled_members = {m: p for p, (ms, _) in POOLED.items() for m in ms}

        def informing(param: str, cancer: str | None = None) -> list[str]:
            rule = INFORMED_BY[param]
            if cancer is not None:
                rule = OFFSET_INFORMED_BY.get(param, rule)
            return sorted(
                a
                for a, i in arms.items()
                if (cancer is None or i["cancer"] == cancer)
                and rule.informed_by(i["tags"], i["endpoints"])
            )

        # global and toxicity quantities
        for param in sorted(base):
            rule = INFORMED_BY[param]
            informed = informing(param)
            if not informed:
                unc.append((param, f"uncalibrated: no arm for {rule.needs}"))
                continue
            if param in FIXED:
                unc.append((param, FIXED[param]))
                continue
            if param in pooled_members and informing(pooled_members[param]):
                continue  # moved by its primary's quantity (Quantity.pooled)
            members = tuple(m for m in POOLED.get(param, ((), ""))[0] if informing(m))
            lo, hi = _global_bounds(param, base[param], per_cancer)
            for m in members:
                mlo, mhi = _global_bounds(m, base[m], per_cancer)
                lo, hi = max(lo, mlo), min(hi, mhi)
            all_arms = sorted({*informed, *(a for m in members for a in informing(m))})
            free.append(
                Quantity(
                    name=param,
                    parameter=param,
                    level="toxicity" if rule.kind == "toxicity" else "global",
                    cancer=None,
                    lower=lo,
                    upper=hi,
                    value=float(base[param].value),
                    unit=base[param].unit,
                    arms=tuple(all_arms),
                    kind=rule.kind,
                    pooled=members,
                    note=POOLED[param][1] if members else rule.why,
                )
            )
        # cancer offsets
        cancers = sorted({i["cancer"] for i in arms.values()})
        candidates = sorted(
            {k for recs in per_cancer.values() for k in recs} | set(PER_CANCER_BY_NATURE)
        )
        for param in candidates:
            min_arms, min_trials = OFFSET_RULES.get(param, (2, 1))
            for cancer in sorted(per_cancer):
                if param not in PER_CANCER_BY_NATURE and param not in per_cancer[cancer]:
                    continue
                name = f"{param}@{cancer}"
                if cancer not in cancers:
                    if param in per_cancer[cancer]:
                        unc.append((name, f"uncalibrated: no arm for {cancer}"))
                    continue
                informed = informing(param, cancer)
                trials = {arms[a]["trial"] for a in informed}
                if not informed:
                    need = OFFSET_INFORMED_BY.get(param, INFORMED_BY[param]).needs
                    unc.append((name, f"uncalibrated: no arm for {need} in {cancer}"))
                elif f"{param}@*" in FIXED:
                    unc.append((name, FIXED[f"{param}@*"]))
                elif len(informed) < min_arms:
                    unc.append(
                        (
                            name,
                            f"uncalibrated: one arm for {cancer} ({informed[0]}) "
                            "cannot separate a cancer offset from its treatment effect",
                        )
                    )
                elif len(trials) < min_trials:
                    unc.append(
                        (
                            name,
                            f"uncalibrated: arms of one trial only for {cancer} "
                            f"({sorted(trials)[0]}); the offset would absorb that "
                            "trial's random effect",
                        )
                    )
                else:
                    rec = per_cancer[cancer].get(param, base[param])
                    lo, hi = _bounds(rec, name)
                    free.append(
                        Quantity(
                            name=name,
                            parameter=param,
                            level="cancer",
                            cancer=cancer,
                            lower=lo,
                            upper=hi,
                            value=float(rec.value),
                            unit=rec.unit,
                            arms=tuple(informed),
                            kind="cancer",
                            note=f"offset of {param} for {cancer} ({len(informed)} arms, "
                            f"{len(trials)} trials)",
                        )
                    )
        return cls(free=tuple(free), uncalibrated=tuple(unc))

    # ------------------------------------------------------------------ queries
    @property
    def names(self) -> tuple[str, ...]:
        """Names of the free quantities (without the tau's)."""
        return tuple(q.name for q in self.free)

    def quantity(self, name: str) -> Quantity:
        """The free quantity ``name``; did-you-mean if unknown."""
        for q in self.free:
            if q.name == name:
                return q
        raise UnknownNameError(did_you_mean(name, self.names, what="calibration quantity"))

    def counts(self) -> dict[str, int]:
        """Number of free quantities by level and kind (``biology``, ``class``, ``cancer``,
        ``toxicity``), plus the tau's."""
        out: dict[str, int] = {}
        for q in self.free:
            out[q.kind] = out.get(q.kind, 0) + 1
        out["tau"] = len(self.tau_names)
        return out

    def tau_name(self, target: Target) -> str:
        """The random-effect spread that applies to ``target``: ``tau_response`` on the logit
        scale (binomial rates), ``tau_survival`` on the log scale (medians, hazard ratios)."""
        return self.tau_names[0] if target.law == "binomial" else self.tau_names[1]

    def _cancer_of(self, example: str) -> str:
        if example not in self._examples_cancer:
            self._examples_cancer[example] = _plan(example).cancer
        return self._examples_cancer[example]

    def overrides(self, theta: Mapping[str, float], example: str) -> dict[str, float]:
        """New typical values for example trial ``example`` under ``theta``.

        Each parameter moved by an applicable quantity (global and toxicity quantities, and
        the offsets of the trial's cancer) gets ``typical x exp(sum of their theta)``, with the
        typical value from the trial's ``TrialPlan.parameter_set()``. Quantities missing from
        ``theta`` are 0; the tau names are accepted and ignored. Feed the result to
        ``Trial.summary(parameters=...)``.
        """
        known = set(self.names) | set(self.tau_names)
        for k, v in theta.items():
            if k not in known:
                raise UnknownNameError(
                    "theta: " + did_you_mean(k, sorted(known), what="calibration quantity")
                )
            if not math.isfinite(float(v)):
                raise OncotwinError(f"theta[{k!r}] = {v!r}; give a finite log-multiplier")
        cancer = self._cancer_of(example)
        return self.overrides_for(theta, cancer, lambda: _plan(example).parameter_set())

    def overrides_for(
        self, theta: Mapping[str, float], cancer: str, typical: Any
    ) -> dict[str, float]:
        """:meth:`overrides` for any trial: its ``cancer`` and its typical values
        (``typical``: a ``ParameterSet``, or a callable returning it, read only when a
        quantity applies). ``theta`` is not validated here (see :meth:`overrides`)."""
        logs: dict[str, float] = {}
        for q in self.free:
            if q.name not in theta:
                continue
            if q.level == "cancer" and q.cancer != cancer:
                continue
            for p in q.parameters:
                logs[p] = logs.get(p, 0.0) + float(theta[q.name])
        if not logs:
            return {}
        if callable(typical):
            typical = typical()
        # a parameter that is 0 in this trial's set stays 0 (a multiplier cannot move it, and
        # Trial.summary refuses to scale it)
        return {
            p: float(typical[p].value) * math.exp(s)
            for p, s in logs.items()
            if float(typical[p].value) != 0
        }

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> str:
        """The hierarchy as JSON text (free quantities, uncalibrated reasons, tau's)."""
        return json.dumps(
            {
                "model": self.model,
                "free": [asdict(q) for q in self.free],
                "uncalibrated": [list(u) for u in self.uncalibrated],
                "tau_names": list(self.tau_names),
                "tau_prior_scale": self.tau_prior_scale,
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Hierarchy:
        """A hierarchy from :meth:`to_json` text; a malformed text names the bad field."""
        try:
            d = json.loads(text)
            free = tuple(
                Quantity(**{**q, "arms": tuple(q["arms"]), "pooled": tuple(q["pooled"])})
                for q in d["free"]
            )
            return cls(
                free=free,
                uncalibrated=tuple((str(a), str(b)) for a, b in d["uncalibrated"]),
                tau_names=tuple(d["tau_names"]),
                tau_prior_scale=float(d["tau_prior_scale"]),
                model=str(d["model"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise OncotwinError(
                f"hierarchy JSON: {type(e).__name__}: {e}; give the text of Hierarchy.to_json()"
            ) from None


@lru_cache(maxsize=64)
def _plan(example: str) -> Any:
    """The plan of example ``example`` (one patient: only its cancer and set are used)."""
    from oncotwin.trials import Trial

    return Trial.from_example(example).plan(patients=1)
