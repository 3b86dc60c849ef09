"""From a regimen string to the twin's mechanism: drug classes, on/off, stop day, toxicity.

The size model knows one drug effect, ``K_D`` (shrinkage rate, decaying with resistance).
A regimen switches it on while it runs; its potency is the sum over the regimen's drug
classes of the class's population potency (additive effects: an ASSUMPTION for
combinations). Only classes the development data hold have a potency:

* ``anti-PD-(L)1``: atezolizumab arms of FIR, POPLAR, BIRCH. Anti-PD-1 drugs
  (pembrolizumab, nivolumab, ...) share the class (same pathway): an ASSUMPTION, the data
  hold atezolizumab only.
* ``taxane``: the docetaxel arm of POPLAR; other taxanes share it (ASSUMPTION).

Other drug classes are refused with a message naming them: no tumour-size data in the
population inform their effect, so a forecast for them would be invented.

Toxicity (:data:`GRADE3_RATES`): the share of patients with a treatment-related grade 3-4
adverse event per class, from the OAK phase 3 trial (Rittmeyer et al., Lancet
389:255-265, 2017: 15% atezolizumab, 43% docetaxel; read from two secondary summaries of
the paper, not from its table). For a combination the classes' risks are combined as if
independent, ``1 - prod(1 - p)`` (ASSUMPTION; real combinations can be worse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oncotwin.errors import OncotwinError, RegimenError

__all__ = ["GRADE3_RATES", "RegimenEffect", "regimen_effect"]

#: Grade 3-4 treatment-related adverse-event rate per class, with its source.
GRADE3_RATES: dict[str, tuple[float, str]] = {
    "anti-PD-(L)1": (0.15, "OAK (Rittmeyer 2017): atezolizumab 15% treatment-related grade 3-4"),
    "taxane": (0.43, "OAK (Rittmeyer 2017): docetaxel 43% treatment-related grade 3-4"),
}
_NO_DRUG = ("none", "no treatment", "untreated", "bsc", "best supportive care", "placebo")
_HORIZON = 3650.0


@dataclass(frozen=True)
class RegimenEffect:
    """What a regimen means for the size model.

    ``text`` the regimen as given, ``drugs`` its drugs, ``classes`` their classes (sorted,
    unique; empty = no drug), ``t_stop`` the day the drug effect stops (``inf`` while
    ongoing), ``grade3_risk`` the grade 3-4 toxicity risk (0 for no drug), ``toxicity_source``.
    """

    text: str
    drugs: tuple[str, ...]
    classes: tuple[str, ...]
    t_stop: float
    grade3_risk: float
    toxicity_source: str

    @property
    def on(self) -> float:
        """1 when the regimen gives a drug, else 0."""
        return 1.0 if self.classes else 0.0


def _drug_class(name: str) -> str | None:
    from oncotwin.pharmacology import get_drug

    d = get_drug(name)
    if d.mechanism in ("anti-PD-1", "anti-PD-L1"):
        return "anti-PD-(L)1"
    if "taxane" in d.mechanisms:
        return "taxane"
    return None


def regimen_effect(text: str, *, start_day: float = 0.0) -> RegimenEffect:
    """Parse ``text`` with oncotwin's regimen grammar and map it to the size model.

    ``start_day`` is the day the regimen starts (its stop day is counted from there).
    ``"none"`` (or ``"best supportive care"``, ``"placebo"``) means no drug.

    Examples
    --------
    >>> e = regimen_effect("atezolizumab 1200 mg IV q3w")
    >>> e.classes, e.t_stop, e.grade3_risk
    (('anti-PD-(L)1',), inf, 0.15)
    >>> regimen_effect("docetaxel 75 mg/m2 IV q3w x4").t_stop
    84.0
    """
    if not isinstance(text, str) or not text.strip():
        raise RegimenError("regimen is empty; give e.g. 'atezolizumab 1200 mg IV q3w' or 'none'")
    if text.strip().lower() in _NO_DRUG:
        return RegimenEffect(text, (), (), start_day, 0.0, "no drug")
    from oncotwin.regimens import parse_regimen

    reg = parse_regimen(text)  # raises RegimenError / UnknownDrugError with examples
    classes: set[str] = set()
    unknown: list[str] = []
    for drug in reg.drugs:
        c = _drug_class(drug)
        if c is None:
            unknown.append(drug)
        else:
            classes.add(c)
    if unknown:
        raise OncotwinError(
            f"regimen {text!r}: the twin has no tumour-size data for {', '.join(unknown)}; its "
            f"population knows the classes {', '.join(GRADE3_RATES)} (anti-PD-1/PD-L1 "
            "antibodies and taxanes), e.g. 'pembrolizumab 200 mg IV q3w' or "
            "'docetaxel 75 mg/m2 IV q3w'"
        )
    long = reg.schedule(_HORIZON).time
    longer = reg.schedule(2 * _HORIZON).time
    if long.size == longer.size and long.size > 0:  # a finite number of cycles
        gaps = np.diff(long)
        t_stop = start_day + float(long[-1] + (np.median(gaps) if gaps.size else 21.0))
    else:
        t_stop = float("inf")
    cls = tuple(sorted(classes))
    risk = round(1.0 - float(np.prod([1.0 - GRADE3_RATES[c][0] for c in cls])), 6)
    source = "; ".join(GRADE3_RATES[c][1] for c in cls)
    if len(cls) > 1:
        source += "; combined as independent risks (assumption)"
    return RegimenEffect(text, tuple(reg.drugs), cls, t_stop, risk, source)
