"""Calibration targets: every published number of the linked calibration arms, with its law.

A :class:`Target` is one reported endpoint of one published arm that a shipped example trial
links (``[[arm]] published = { arm_id = ... }``), in the unit of the trial summary
(:meth:`oncotwin.trials.Trial.summary`): rates in %, medians in months, hazard ratios as ratios.
Its sampling law (``CALIBRATION.md`` section 3) is

``binomial``
    ORR, CR, landmark OS/PFS rates and grade >= 3 toxicity rates, at the arm's own ``n`` (a
    landmark rate whose 95% CI the CSV states uses the effective n of that CI, which counts
    censoring). :func:`target_loglik` compares empirical logits, (k + 1/2) / (n - k + 1/2), so
    the published and the simulated (Monte Carlo) binomial noise add on the logit scale.
``lognormal``
    Median PFS and OS: log(observed) ~ N(log(simulated), se^2 + ...) with ``se`` from the
    published 95% CI where the CSV states one, else 1/sqrt(events) with the events estimated
    under an exponential model from n, the median and the trial's follow-up F
    (events = n (1 - 2^(-F / median))); ``note`` says which. A median "not reached" is a
    censored target: the observed value is the lower bound (the follow-up stated with NR),
    and the likelihood is P(median > bound).
``normal_log``
    Hazard ratios (vs the spec's reference arm): log(HR) normal with the SE of the published
    CI (or of a stated P value), else sqrt(1/d1 + 1/d2) with the events of both arms
    estimated as above.

The CSV's caveats are kept, not silently used: a median PFS that is time to progression or
event-free survival (``pfs_note``), and OS, OS landmarks and OS hazard ratios of arms whose
control OS is confounded by crossover or later effective therapy (``os_note``/``notes``, and
README caveat 5), give targets with ``confounded = True`` and a model discrepancy (an extra SD
on the likelihood's scale: :data:`DISCREPANCY`). Numbers not confirmed in a source
(``memory_fields``) give ``confirmed = False``. Arms and endpoints set aside are listed in
``calibration/data/exclusions.csv`` with their reasons (:func:`excluded_arms`,
:func:`excluded_targets`).

Examples
--------
>>> ts = {t.target_id: t for t in load_targets()}
>>> t = ts["KN024_PEMBRO:ORR"]
>>> t.law, t.n, t.observed, t.block
('binomial', 154, 44.8, 'efficacy')
>>> ts["IMB150_ATEZO_BEV:median_PFS_mo"].note.startswith("SE from the published 95% CI")
True
>>> ts["KN024_CHEMO:median_OS_mo"].confounded
True
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from statistics import NormalDist
from typing import TYPE_CHECKING

from oncotwin._datafiles import fail, read_package_text
from oncotwin.errors import OncotwinError, UnknownNameError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from oncotwin.trials.targets import PublishedArm

__all__ = [
    "DISCREPANCY",
    "LAWS",
    "Target",
    "calibration_arm_ids",
    "excluded_arms",
    "excluded_targets",
    "load_targets",
    "skipped_statements",
    "target",
    "target_loglik",
    "targets_table",
]

_log = logging.getLogger(__name__)

#: The sampling laws of targets.
LAWS: tuple[str, ...] = ("binomial", "lognormal", "normal_log")

#: Model discrepancy (an SD on the likelihood's scale: logit for rates, log for medians and
#: hazard ratios) of targets whose published number is not what the model simulates.
#: Order-of-magnitude assumptions, stated so that a report can show them: crossover or later
#: effective therapy lengthened control OS by roughly 10-40% in the trials that quantify it
#: (KEYNOTE-024's crossover-adjusted OS HR 0.49 vs 0.63 unadjusted); a simulated crossover
#: (the spec's ``crossover``) removes part of that; TTP censors deaths without progression and
#: EFS counts events PFS does not, each a 5-20% shift of a median.
DISCREPANCY: dict[str, float] = {
    "crossover": 0.25,
    "crossover_simulated": 0.15,
    "ttp_or_efs": 0.15,
}

#: Summary endpoint -> (PublishedArm field, block, law) for the CSV's numeric columns.
_COLUMN_ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "ORR": ("orr_pct", "efficacy", "binomial"),
    "CR": ("cr_pct", "efficacy", "binomial"),
    "median_PFS_mo": ("median_pfs_mo", "efficacy", "lognormal"),
    "median_OS_mo": ("median_os_mo", "efficacy", "lognormal"),
    "g3plus_AE": ("g3plus_ae_pct", "toxicity", "binomial"),
    "g3plus_CRS": ("g3plus_crs_pct", "toxicity", "binomial"),
    "g3plus_ICANS": ("g3plus_neuro_pct", "toxicity", "binomial"),
}
#: Landmarks (months) that the trial summary reports (``PFS_{m}mo``, ``OS_{m}mo``).
SUMMARY_LANDMARKS_MO: tuple[int, ...] = (6, 12, 24)
_Z95 = NormalDist().inv_cdf(0.975)
_LN2 = math.log(2.0)

#: Arms whose control OS is confounded although their notes do not say so (README caveat 5
#: of trials/data: "Crossover confounds OS in comparator arms (KEYNOTE-024, KEYNOTE-189,
#: IMPACT, Slamon)"); arms whose notes mention crossover or later effective therapy are
#: found from their text.
_CONFOUNDED_BY_README: dict[str, str] = {
    "IMPACT_PLACEBO": "README caveat 5: placebo patients could receive salvage frozen "
    "autologous cellular product at progression",
}
_CONFOUNDING_TEXT = re.compile(r"crossover|crossed over|later received", re.IGNORECASE)
_TTP_TEXT = re.compile(
    r"time to (?:objective )?progression|\bTTP\b|event-free|\bEFS\b", re.IGNORECASE
)
_SUBGROUP_TEXT = re.compile(r"CPS|PD-L1|TPS|\bIC\d|risk|responders|subgroup|squamous")
_NUM = r"(\d+(?:\.\d+)?|\.\d+)"
_HR = re.compile(
    r"(?:(OS|PFS)\s+)?HR\s*(~)?\s*"
    + _NUM
    + r"(?:\s*\((?:"
    + _NUM
    + r"%\s*CI\s*)?"
    + _NUM
    + r"\s*[-–]\s*"
    + _NUM
    + r"\))?(?:\s*\(P\s*=\s*"
    + _NUM
    + r"\))?"
)
_CI = re.compile(r"(?:" + _NUM + r"%\s*CI\s*|" + _NUM + r"\s*\()" + _NUM + r"\s*[-–]\s*" + _NUM)
_LANDMARK = re.compile(
    r"(\d+(?:\.\d+)?)-(y|mo)\s+(?:(OS|PFS)\s+)?(rate\s+|mortality\s+)?"
    + _NUM
    + r"%"
    + r"(?:\s*\("
    + _NUM
    + r"\s*[-–]\s*"
    + _NUM
    + r"\))?"
)
_NOT_REACHED = re.compile(r"(?:\bNR\b|not reached)(?:\s+at\s+" + _NUM + r"\s*mo)?")


@dataclass(frozen=True)
class Target:
    """One published number that calibration fits, with its sampling law.

    ``observed`` is in the summary endpoint's unit (% for rates, months for medians, a ratio
    for hazard ratios). ``n`` is the trial's own n for the law (binomial: the arm's patients or
    the effective n of a stated CI; hazard ratios: both arms). ``se`` is the SD of
    log(observed) for ``lognormal``/``normal_log`` (NaN for binomial). ``events`` is the
    published (estimated) number of events behind a median or hazard ratio (NaN for rates):
    the simulated value's Monte Carlo noise scales with events / n. ``censored``: the
    observed value is a lower bound (median not reached). ``confounded``: the published
    number is not what the model simulates (crossover, TTP/EFS for PFS); ``discrepancy`` is
    the extra SD that allows for it. ``followup_mo`` is the spec's follow-up.
    """

    target_id: str
    arm_id: str
    example: str
    arm: str
    cancer: str
    endpoint: str
    observed: float
    law: str
    n: int
    se: float
    block: str
    note: str = ""
    censored: bool = False
    confounded: bool = False
    discrepancy: float = 0.0
    confirmed: bool = True
    events: float = math.nan
    followup_mo: float = math.nan
    definition: str = ""
    reference_arm_id: str = ""
    unit: str = field(default="")

    def __post_init__(self) -> None:
        if self.law not in LAWS:
            raise OncotwinError(f"Target {self.target_id}: law {self.law!r}; use one of {LAWS}")
        if self.block not in ("efficacy", "toxicity"):
            raise OncotwinError(
                f"Target {self.target_id}: block {self.block!r}; use 'efficacy' or 'toxicity'"
            )
        if not (math.isfinite(self.observed) and self.observed >= 0):
            raise OncotwinError(
                f"Target {self.target_id}: observed={self.observed!r}; give a finite value >= 0"
            )
        if self.n < 1:
            raise OncotwinError(f"Target {self.target_id}: n={self.n}; give n >= 1")
        if self.law != "binomial" and not (self.se > 0 and math.isfinite(self.se)):
            raise OncotwinError(
                f"Target {self.target_id}: se={self.se!r}; a {self.law} target needs a "
                "finite log-scale SE > 0"
            )


# ------------------------------------------------------------------------------------------
# exclusions
# ------------------------------------------------------------------------------------------

EXCLUSIONS_FILE = "exclusions.csv"


@lru_cache(maxsize=1)
def _exclusions() -> tuple[tuple[str, str, str], ...]:
    """(arm_id, endpoint or '', reason) rows of ``calibration/data/exclusions.csv``."""
    from oncotwin.trials.targets import PUBLISHED

    text, label = read_package_text("oncotwin.calibration", f"data/{EXCLUSIONS_FILE}")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != ("arm_id", "endpoint", "reason"):
        raise fail(label, "header", f"columns {reader.fieldnames}", "write arm_id,endpoint,reason")
    rows = []
    for line, row in enumerate(reader, start=2):
        arm_id, endpoint, reason = row["arm_id"], row["endpoint"], row["reason"]
        if arm_id not in PUBLISHED:
            raise fail(
                label,
                f"line {line}.arm_id",
                did_you_mean(arm_id, PUBLISHED, what="published arm_id"),
                "name an arm of trials/data/published_arms.csv",
            )
        if endpoint and endpoint not in _ENDPOINT_NAMES:
            raise fail(
                label,
                f"line {line}.endpoint",
                did_you_mean(endpoint, _ENDPOINT_NAMES, what="endpoint"),
                "leave it empty to exclude the whole arm",
            )
        if not reason.strip():
            raise fail(label, f"line {line}.reason", "empty", "say why the arm is set aside")
        rows.append((arm_id, endpoint, reason.strip()))
    return tuple(rows)


_ENDPOINT_NAMES: tuple[str, ...] = (
    *_COLUMN_ENDPOINTS,
    "HR_PFS",
    "HR_OS",
    *(f"{k}_{m}mo" for k in ("PFS", "OS") for m in SUMMARY_LANDMARKS_MO),
)


def excluded_arms() -> list[tuple[str, str]]:
    """Arms set aside as a whole: ``(arm_id, reason)`` from ``exclusions.csv``.

    >>> ("CM649_CHEMO_CPS5" in dict(excluded_arms()))
    True
    """
    return [(a, r) for a, e, r in _exclusions() if not e]


def excluded_targets() -> list[tuple[str, str]]:
    """Single endpoints set aside: ``(target_id, reason)`` from ``exclusions.csv``."""
    return [(f"{a}:{e}", r) for a, e, r in _exclusions() if e]


def calibration_arm_ids() -> list[str]:
    """Every published arm that is a calibration target (all rows of the package's
    ``published_arms.csv``: the shared calibration arms and the arms issue 12 added)."""
    from oncotwin.trials.targets import PUBLISHED

    return list(PUBLISHED)


# ------------------------------------------------------------------------------------------
# reading the CSV's free text
# ------------------------------------------------------------------------------------------


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in text.split(";") if c.strip()]


def _z(level_pct: float) -> float:
    return NormalDist().inv_cdf(0.5 + level_pct / 200.0)


def _median_ci(note: str, median: float) -> tuple[float, float, float] | None:
    """(lo, hi, level %) of a median's CI stated in ``note``: '95% CI a-b' or
    '<median> (a-b)', not a hazard ratio's, and containing the median."""
    for m in _CI.finditer(note):
        level, before, lo, hi = m.group(1), m.group(2), float(m.group(3)), float(m.group(4))
        head = note[: m.start()].rstrip(" (")
        if re.search(r"HR\s*~?\s*" + _NUM + r"$", head):
            continue
        if before is not None and not math.isclose(float(before), median):
            continue
        if lo <= median <= hi and lo > 0:
            return lo, hi, float(level) if level else 95.0
    return None


@dataclass(frozen=True)
class _HRStatement:
    kind: str  # "PFS" or "OS"
    hr: float
    lo: float = math.nan
    hi: float = math.nan
    level: float = 95.0
    p: float = math.nan
    approximate: bool = False
    clause: str = ""


def _hazard_ratios(note: str, default_kind: str, median: float | None) -> list[_HRStatement]:
    """Whole-population HRs in ``note`` (subgroup clauses skipped); the one in the clause
    that states the arm's median comes first (same data cut)."""
    out: list[_HRStatement] = []
    for clause in _clauses(note):
        if _SUBGROUP_TEXT.search(clause):
            continue
        for m in _HR.finditer(clause):
            kind = m.group(1) or default_kind
            lo = float(m.group(5)) if m.group(5) else math.nan
            hi = float(m.group(6)) if m.group(6) else math.nan
            st = _HRStatement(
                kind=kind,
                hr=float(m.group(3)),
                lo=lo,
                hi=hi,
                level=float(m.group(4)) if m.group(4) else 95.0,
                p=float(m.group(7)) if m.group(7) else math.nan,
                approximate=bool(m.group(2)),
                clause=clause,
            )
            same_cut = median is not None and re.search(rf"\b{median:g}\b", clause)
            out.insert(0, st) if same_cut else out.append(st)
    return out


@dataclass(frozen=True)
class _Landmark:
    kind: str
    months: float
    pct: float
    lo: float = math.nan
    hi: float = math.nan
    clause: str = ""


def _landmarks(note: str, default_kind: str) -> list[_Landmark]:
    """Whole-population landmark rates in ``note`` ('2-y OS 23%', '12-mo PFS 12.6%',
    '1-y mortality 22%' = OS 78%), first statement of each landmark only."""
    out: dict[tuple[str, float], _Landmark] = {}
    for clause in _clauses(note):
        if _SUBGROUP_TEXT.search(clause):
            continue
        for m in _LANDMARK.finditer(clause):
            months = float(m.group(1)) * (12.0 if m.group(2) == "y" else 1.0)
            kind = m.group(3) or default_kind
            pct = float(m.group(5))
            lo = float(m.group(6)) if m.group(6) else math.nan
            hi = float(m.group(7)) if m.group(7) else math.nan
            if m.group(4) and m.group(4).startswith("mortality"):
                kind, pct, lo, hi = "OS", 100.0 - pct, 100.0 - hi, 100.0 - lo
            out.setdefault((kind, months), _Landmark(kind, months, pct, lo, hi, clause))
    return list(out.values())


def _not_reached(note: str) -> tuple[bool, float]:
    """(median not reached?, the follow-up stated with it in months or NaN)."""
    m = _NOT_REACHED.search(note)
    if m is None:
        return False, math.nan
    return True, float(m.group(1)) if m.group(1) else math.nan


def _events(n: float, median_mo: float, followup_mo: float) -> float:
    """Events expected by ``followup_mo`` under an exponential model with ``median_mo``."""
    return n * (1.0 - 2.0 ** (-followup_mo / median_mo))


# ------------------------------------------------------------------------------------------
# building the targets of one arm
# ------------------------------------------------------------------------------------------


@dataclass
class _ArmContext:
    example: str
    arm: str
    cancer: str
    followup: float
    pub: PublishedArm
    reference: PublishedArm | None  # the spec's reference arm's published row (other arms)
    crossover_simulated: bool
    n_arms: int
    #: the trial's PFS is TTP/EFS (stated in the pfs_note of any of its arms: README
    #: "time to progression (BOND, Slamon, IMPACT, McLaughlin)"), the matched text or ''
    pfs_is: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def arm_id(self) -> str:
        return self.pub.arm_id


def _os_confounding(pub: PublishedArm) -> str:
    """Why this arm's OS is confounded ('' if it is not)."""
    for text in (pub.os_note, pub.notes):
        m = _CONFOUNDING_TEXT.search(text)
        if m:
            return f"OS confounded by crossover or later therapy ({text.strip()[:120]})"
    return _CONFOUNDED_BY_README.get(pub.arm_id, "")


def _target(ctx: _ArmContext, endpoint: str, **kw: object) -> Target:
    unit = "ratio" if endpoint.startswith("HR_") else "months" if "median" in endpoint else "%"
    return Target(
        target_id=f"{ctx.arm_id}:{endpoint}",
        arm_id=ctx.arm_id,
        example=ctx.example,
        arm=ctx.arm,
        cancer=ctx.cancer,
        endpoint=endpoint,
        followup_mo=ctx.followup,
        unit=unit,
        **kw,  # type: ignore[arg-type]
    )


def _confounding(ctx: _ArmContext, kind: str) -> tuple[bool, float, str]:
    """(confounded, discrepancy, why) of an OS or PFS target of this arm."""
    pub = ctx.pub
    if kind == "PFS" and ctx.pfs_is:
        why = f"PFS stands for {ctx.pfs_is} in this trial (pfs_note)"
        return True, DISCREPANCY["ttp_or_efs"], why
    if kind == "OS":
        why = _os_confounding(pub)
        if why:
            key = "crossover_simulated" if ctx.crossover_simulated else "crossover"
            extra = "; the spec simulates the crossover" if ctx.crossover_simulated else ""
            return True, DISCREPANCY[key], why + extra
    return False, 0.0, ""


def _rate_targets(ctx: _ArmContext) -> list[Target]:
    out = []
    pub = ctx.pub
    for endpoint, (col, block, _) in _COLUMN_ENDPOINTS.items():
        v = getattr(pub, col)
        if v is None or "median" in endpoint:
            continue
        definition = ""
        if block == "toxicity":
            definition = pub.g3plus_ae_type
        elif endpoint in ("ORR", "CR"):
            definition = pub.response_assessment
        note = f"binomial at the arm's n = {pub.n}"
        if endpoint == "g3plus_ICANS":
            note += "; the CSV's grade >= 3 neurological events stand for ICANS"
        out.append(
            _target(
                ctx,
                endpoint,
                observed=float(v),
                law="binomial",
                n=int(pub.n),
                se=math.nan,
                block=block,
                note=note,
                confirmed=pub.is_confirmed(col),
                definition=definition,
            )
        )
    return out


def _median_targets(ctx: _ArmContext) -> list[Target]:
    out = []
    pub = ctx.pub
    for kind, col, note_text in (
        ("PFS", "median_pfs_mo", pub.pfs_note),
        ("OS", "median_os_mo", pub.os_note),
    ):
        endpoint = f"median_{kind}_mo"
        value = getattr(pub, col)
        confounded, disc, why = _confounding(ctx, kind)
        censored = False
        if value is None:
            reached, bound = _not_reached(note_text)
            if not reached:
                continue
            censored = True
            value = bound if math.isfinite(bound) else ctx.followup
            basis = "follow-up stated with NR" if math.isfinite(bound) else "spec follow-up"
        median = float(value)
        events = _events(pub.n, median, ctx.followup)
        ci = None if censored else _median_ci(note_text, median)
        if ci is not None:
            lo, hi, level = ci
            se = (math.log(hi) - math.log(lo)) / (2 * _z(level))
            note = f"SE from the published {level:g}% CI {lo:g}-{hi:g}"
        else:
            se = 1.0 / math.sqrt(max(events, 1.0))
            note = (
                f"SE = 1/sqrt(events), events ~ {events:.0f} estimated from n = {pub.n}, the "
                f"median and the follow-up F = {ctx.followup:g} mo under an exponential model "
                "(no CI in the CSV)"
            )
        if censored:
            note = f"median not reached: censored at {median:g} mo ({basis}); " + note
        if why:
            note += f"; {why}"
        out.append(
            _target(
                ctx,
                endpoint,
                observed=median,
                law="lognormal",
                n=int(pub.n),
                se=se,
                block="efficacy",
                note=note,
                censored=censored,
                confounded=confounded,
                discrepancy=disc,
                confirmed=pub.is_confirmed(col),
                events=events,
                definition=ctx.pfs_is if kind == "PFS" else "",
            )
        )
    return out


def _landmark_targets(ctx: _ArmContext) -> list[Target]:
    out = []
    pub = ctx.pub
    for note_text, default in ((pub.pfs_note, "PFS"), (pub.os_note, "OS")):
        for lm in _landmarks(note_text, default):
            if lm.months not in SUMMARY_LANDMARKS_MO:
                ctx.skipped.append(
                    (
                        f"{ctx.arm_id}:{lm.kind}_{lm.months:g}mo",
                        f"{lm.months:g}-month landmark is not a summary endpoint "
                        f"(the summary reports {', '.join(map(str, SUMMARY_LANDMARKS_MO))})",
                    )
                )
                continue
            endpoint = f"{lm.kind}_{lm.months:g}mo"
            p = lm.pct / 100.0
            n = int(pub.n)
            note = f"landmark rate read from the CSV's notes ({lm.clause!r}); binomial at n = {n}"
            if math.isfinite(lm.lo) and math.isfinite(lm.hi) and 0 < p < 1:
                se = (lm.hi - lm.lo) / 100.0 / (2 * _Z95)
                n = max(1, min(int(pub.n), round(p * (1 - p) / se**2)))
                note = (
                    f"landmark rate read from the CSV's notes ({lm.clause!r}); binomial at the "
                    f"effective n = {n} of its 95% CI {lm.lo:g}-{lm.hi:g}"
                )
            confounded, disc, why = _confounding(ctx, lm.kind)
            if why:
                note += f"; {why}"
            out.append(
                _target(
                    ctx,
                    endpoint,
                    observed=lm.pct,
                    law="binomial",
                    n=n,
                    se=math.nan,
                    block="efficacy",
                    note=note,
                    confounded=confounded,
                    discrepancy=disc,
                    confirmed="memory" not in lm.clause,
                )
            )
    return out


def _hr_target(
    ctx: _ArmContext, st: _HRStatement, other: PublishedArm, where: str
) -> Target | None:
    """The HR target of ctx's arm vs ``other`` (the reference arm) from statement ``st``."""
    pub = ctx.pub
    endpoint = f"HR_{st.kind}"
    med_col = "median_pfs_mo" if st.kind == "PFS" else "median_os_mo"
    ev = []
    for arm in (pub, other):
        med = getattr(arm, med_col)
        if med is None:  # not reached / not reported: the follow-up as a median (more events)
            med = ctx.followup
        ev.append(_events(arm.n, float(med), ctx.followup))
    events = sum(ev)
    if math.isfinite(st.lo) and math.isfinite(st.hi) and st.lo > 0:
        se = (math.log(st.hi) - math.log(st.lo)) / (2 * _z(st.level))
        note = f"SE from the published {st.level:g}% CI {st.lo:g}-{st.hi:g}"
    elif math.isfinite(st.p) and 0 < st.p < 1 and st.hr != 1:
        se = abs(math.log(st.hr)) / NormalDist().inv_cdf(1 - st.p / 2)
        note = f"SE from the published two-sided P = {st.p:g}"
    else:
        se = math.sqrt(1.0 / max(ev[0], 1.0) + 1.0 / max(ev[1], 1.0))
        note = (
            f"SE = sqrt(1/d1 + 1/d2) with events ~ {ev[0]:.0f} and {ev[1]:.0f} estimated "
            f"under an exponential model (F = {ctx.followup:g} mo; no CI in the CSV)"
        )
    note = f"HR vs {other.arm_id} read from {where} ({st.clause!r}); " + note
    if st.approximate:
        note += "; the CSV gives it as approximate (~)"
    confounded, disc = False, 0.0
    if st.kind == "OS":
        why = _os_confounding(other) or _os_confounding(pub)
        if why:
            confounded = True
            disc = DISCREPANCY["crossover_simulated" if ctx.crossover_simulated else "crossover"]
            note += f"; {why}"
    elif ctx.pfs_is:
        confounded, disc = True, DISCREPANCY["ttp_or_efs"]
        note += f"; PFS stands for {ctx.pfs_is} in this trial"
    return _target(
        ctx,
        endpoint,
        observed=st.hr,
        law="normal_log",
        n=int(pub.n + other.n),
        se=se,
        block="efficacy",
        note=note,
        confounded=confounded,
        discrepancy=disc,
        confirmed="memory" not in st.clause,
        events=events,
        reference_arm_id=other.arm_id,
    )


def _arm_targets(ctx: _ArmContext) -> list[Target]:
    return [*_rate_targets(ctx), *_median_targets(ctx), *_landmark_targets(ctx)]


def _example_targets(name: str, skipped: list[tuple[str, str]]) -> list[Target]:
    """Every target of example ``name``'s linked arms (exclusions not applied)."""
    from oncotwin.population.covariates import resolve_cancer
    from oncotwin.trials.spec import example_path, load_spec
    from oncotwin.trials.targets import published

    spec = load_spec(example_path(name))
    cancer = resolve_cancer(spec.trial.cancer)
    linked = [a for a in spec.arms if a.published is not None]
    ref_name = spec.trial.reference_arm
    ref_arm = next((a for a in spec.arms if a.name == ref_name), None)
    ref_pub = published(ref_arm.published.arm_id) if ref_arm and ref_arm.published else None
    crossover = any(a.crossover is not None and a.crossover.fraction > 0 for a in spec.arms)
    ttp = [_TTP_TEXT.search(published(a.published.arm_id).pfs_note) for a in linked]
    pfs_is = next((m.group(0) for m in ttp if m), "")
    out: list[Target] = []
    contexts = []
    for a in linked:
        pub = published(a.published.arm_id)  # type: ignore[union-attr]
        ctx = _ArmContext(
            example=name,
            arm=a.name,
            cancer=cancer,
            followup=float(spec.trial.follow_up_months),
            pub=pub,
            reference=ref_pub if a.name != ref_name else None,
            crossover_simulated=crossover,
            n_arms=len(spec.arms),
            skipped=skipped,
            pfs_is=pfs_is,
        )
        contexts.append(ctx)
        out.extend(_arm_targets(ctx))
    # hazard ratios: each non-reference arm vs the reference arm
    by_name = {c.arm: c for c in contexts}
    hrs: dict[str, Target] = {}
    for ctx in contexts:
        for kind, col, text in (
            ("PFS", "median_pfs_mo", ctx.pub.pfs_note),
            ("OS", "median_os_mo", ctx.pub.os_note),
        ):
            med = getattr(ctx.pub, col)
            for st in _hazard_ratios(text, kind, med):
                if ctx.reference is not None:
                    owner, other, where = ctx, ctx.reference, f"{ctx.arm_id}'s notes"
                else:  # a HR in the reference arm's own notes: the other arm's vs it
                    others = [c for c in contexts if c.arm != ctx.arm]
                    if len(spec.arms) != 2 or len(others) != 1:
                        skipped.append(
                            (
                                f"{ctx.arm_id}:HR_{st.kind}",
                                "HR in the reference arm's notes of "
                                "a trial with more than two arms: which arm it compares is unclear",
                            )
                        )
                        continue
                    owner, other, where = others[0], ctx.pub, f"{ctx.arm_id}'s notes"
                tid = f"{owner.arm_id}:HR_{st.kind}"
                if tid in hrs:
                    continue
                t = _hr_target(by_name[owner.arm], st, other, where)
                if t is not None:
                    hrs[tid] = t
    out.extend(hrs.values())
    return out


@lru_cache(maxsize=2)
def _all_targets() -> tuple[tuple[Target, ...], tuple[tuple[str, str], ...]]:
    from oncotwin.trials.spec import list_examples

    skipped: list[tuple[str, str]] = []
    out: list[Target] = []
    for name, _ in list_examples():
        out.extend(_example_targets(name, skipped))
    ids = [t.target_id for t in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise OncotwinError(
            f"published arms linked by more than one example spec: {sorted(dup)}; link each "
            "calibration arm from one spec only"
        )
    return tuple(out), tuple(skipped)


def load_targets(exclusions: bool = True) -> list[Target]:
    """Every calibration target of the shipped example specs' linked arms.

    With ``exclusions`` (default), arms and endpoints listed in
    ``calibration/data/exclusions.csv`` are skipped and logged (:func:`excluded_arms`,
    :func:`excluded_targets` give them with their reasons).
    """
    targets, _ = _all_targets()
    if not exclusions:
        return list(targets)
    arms = dict(excluded_arms())
    ends = dict(excluded_targets())
    out = []
    for t in targets:
        why = arms.get(t.arm_id) or ends.get(t.target_id)
        if why:
            _log.info("calibration target %s skipped: %s", t.target_id, why)
            continue
        out.append(t)
    return out


def skipped_statements() -> list[tuple[str, str]]:
    """Numbers in the CSV's notes that give no target, with why (e.g. a 60-month landmark,
    which the trial summary does not report)."""
    return list(_all_targets()[1])


def linked_arm_ids() -> dict[str, str]:
    """Published arm id -> example spec that links it."""
    from oncotwin.trials.spec import example_path, list_examples, load_spec

    out: dict[str, str] = {}
    for name, _ in list_examples():
        for a in load_spec(example_path(name)).arms:
            if a.published is not None:
                out[a.published.arm_id] = name
    return out


def _logit(k: float, n: float) -> tuple[float, float]:
    """Empirical logit of k events in n and its variance (1/(k+1/2) + 1/(n-k+1/2))."""
    return math.log((k + 0.5) / (n - k + 0.5)), 1.0 / (k + 0.5) + 1.0 / (n - k + 0.5)


def target_loglik(target: Target, simulated: float, n_sim: int, tau: float = 0.0) -> float:
    """Log-likelihood of ``target``'s published value given a ``simulated`` one.

    ``simulated`` is the summary value of a run with ``n_sim`` patients per arm (same unit as
    ``target.observed``; an infinite median = not reached). ``tau`` is the trial random
    effect's SD on the law's scale (logit for rates, log for medians and hazard ratios); the
    target's ``discrepancy`` adds in quadrature. Laws:

    - binomial: empirical logits of the published (k of n) and simulated (k_sim of n_sim)
      rates, normal with variance var_pub + var_sim + tau^2 + discrepancy^2;
    - lognormal: log(observed) ~ N(log(simulated), se^2 + mc^2 + tau^2 + discrepancy^2),
      mc^2 = 1 / (events / n x n_sim) (the simulated median's noise); a simulated median not
      reached counts as the follow-up; a censored target gives log P(median > bound);
    - normal_log: the same on log HR, mc^2 = 4 / (events / n x 2 n_sim).

    >>> t = Target("X:ORR", "X", "ex", "arm", "c", "ORR", 40.0, "binomial", 100, math.nan,
    ...            "efficacy")
    >>> target_loglik(t, 40.0, 500) > target_loglik(t, 20.0, 500)
    True
    """
    if n_sim < 1:
        raise OncotwinError(f"n_sim={n_sim}; give the simulated patients per arm (>= 1)")
    if not tau >= 0:
        raise OncotwinError(f"tau={tau!r}; give a trial random-effect SD >= 0")
    if math.isnan(simulated):
        raise OncotwinError(
            f"{target.target_id}: the simulated value is NaN (the run gives no value for this "
            "endpoint, e.g. a landmark beyond every patient's follow-up or an arm without "
            "patients); simulate more patients or leave this target out of the set's likelihood"
        )
    extra = tau**2 + target.discrepancy**2
    if target.law == "binomial":
        if not (math.isfinite(simulated) and 0 <= simulated <= 100):
            raise OncotwinError(
                f"{target.target_id}: simulated rate {simulated!r}; give a rate in %, 0-100"
            )
        y, v_obs = _logit(target.observed / 100 * target.n, target.n)
        mu, v_sim = _logit(simulated / 100 * n_sim, n_sim)
        var = v_obs + v_sim + extra
        return -0.5 * (math.log(2 * math.pi * var) + (y - mu) ** 2 / var)
    if math.isnan(simulated) or simulated <= 0:
        raise OncotwinError(
            f"{target.target_id}: simulated value {simulated!r}; give a positive "
            f"{'median' if target.law == 'lognormal' else 'hazard ratio'}"
        )
    frac = target.events / target.n if math.isfinite(target.events) else 0.5
    frac = min(max(frac, 1e-3), 1.0)
    if target.law == "lognormal":
        mc2 = 1.0 / max(frac * n_sim, 1.0)
        if math.isinf(simulated):
            if target.censored:
                return 0.0
            simulated = target.followup_mo
    else:
        mc2 = 4.0 / max(frac * 2 * n_sim, 1.0)
        if math.isinf(simulated):
            raise OncotwinError(f"{target.target_id}: simulated hazard ratio is infinite")
    var = target.se**2 + mc2 + extra
    y, mu = math.log(target.observed), math.log(simulated)
    if target.censored:
        return math.log(max(NormalDist().cdf((mu - y) / math.sqrt(var)), 1e-300))
    return -0.5 * (math.log(2 * math.pi * var) + (y - mu) ** 2 / var)


def targets_table(targets: Iterable[Target] | None = None) -> pd.DataFrame:
    """The targets as a table (one row per target, the :class:`Target` fields as columns)."""
    import pandas as pd

    rows = [asdict(t) for t in (load_targets() if targets is None else targets)]
    cols = [f for f in Target.__dataclass_fields__]
    return pd.DataFrame(rows, columns=cols)


def target(target_id: str) -> Target:
    """The calibration target ``"<arm_id>:<endpoint>"``; did-you-mean if unknown."""
    ts = {t.target_id: t for t in load_targets()}
    try:
        return ts[target_id]
    except KeyError:
        raise UnknownNameError(did_you_mean(target_id, ts, what="target")) from None
