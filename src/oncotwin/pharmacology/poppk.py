"""Population PK of the catalog's antibodies: each patient's own clearance and volumes.

A drug's ``pk`` table in ``pharmacology/data/drugs.toml`` holds, besides the typical values
``CL``, ``V1``, ``Q``, ``V2`` of its population-PK paper (at the paper's reference covariates):

* the between-patient SD of ``log CL`` and ``log V1`` (the pharmacometric omega) as the
  ``log_sd`` of the ``CL`` and ``V1`` records;
* covariate effects ``<P>_<covariate>`` on ``P`` in ``CL``, ``V1``, ``Q``, ``V2``:

  - power effects ``(x / x_ref)^theta`` of ``weight`` [kg], ``albumin`` [g/dL] and ``tumour``
    (baseline sum of target-lesion diameters [mm]), whose references are the records
    ``weight_ref``, ``albumin_ref``, ``tumour_ref``;
  - factors (multipliers) for ``female``, ``male`` and ``ecog_ge1`` (ECOG >= 1): a paper's
    proportional change ``(1 + theta)`` or exponential ``exp(theta)`` is written as the factor
    it gives, the arithmetic in a comment above the value;

* time-varying clearance ``CL(t) = CL exp(E t^h / (T50^h + t^h))`` with ``t`` the time since
  the first dose (``CL_Emax`` = E, the maximal change of log CL; ``CL_T50`` [day];
  ``CL_hill``) and ``CL_Emax_sd``, the between-patient SD of E (additive, as Bajaj 2017).

A patient's clearance is ``CL_typ x prod(covariate effects) x exp(omega_CL eta_CL)`` with
``eta ~ N(0, 1)`` drawn per patient (:func:`individual_pk`). Covariates the virtual patients do
not carry (eGFR, race, LDH, anti-drug antibodies, prior ipilimumab, IgG) stay at the paper's
reference: their share of the variability is in omega only as far as the paper left it there.

Examples
--------
>>> pk = antibody_pk("nivolumab")
>>> round(pk.omega_cl, 3), pk.emax
(0.351, -0.295)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from oncotwin.errors import ParameterError

__all__ = [
    "COVARIATES",
    "AntibodyPK",
    "PatientCovariates",
    "antibody_pk",
    "check_pk_table",
    "individual_pk",
]

#: Covariates of the antibody models: kind ("power" with its reference record, or "factor").
COVARIATES: dict[str, tuple[str, str | None]] = {
    "weight": ("power", "weight_ref"),
    "albumin": ("power", "albumin_ref"),
    "tumour": ("power", "tumour_ref"),
    "female": ("factor", None),
    "male": ("factor", None),
    "ecog_ge1": ("factor", None),
}
#: Units of the reference records.
REFERENCE_UNITS = {"weight_ref": "kg", "albumin_ref": "g/dL", "tumour_ref": "mm"}
#: PK parameters a covariate may act on.
TARGETS = ("CL", "V1", "Q", "V2")
#: Other keys a drug's pk table may hold.
_STRUCTURAL = frozenset({"CL", "V1", "Q", "V2", "Vmax", "Km", "ka", "F", "t_half"})
_TIME = ("CL_Emax", "CL_T50", "CL_hill", "CL_Emax_sd")
_EFFECT = re.compile(r"^(CL|V1|Q|V2)_([a-z_0-9]+)$")
#: Bounds a published exponent / factor / omega falls in (a value outside is a typo).
_POWER_BOUND = 3.0
_FACTOR_BOUNDS = (0.2, 5.0)
_OMEGA_MAX = 1.5
#: Floors of the covariates in power effects (no zero or negative base): albumin 1.5 g/dL
#: (below any living patient's), tumour 10 mm (the smallest measurable lesion, RECIST 1.1).
_FLOORS = {"weight": 20.0, "albumin": 1.5, "tumour": 10.0}


def check_pk_table(name: str, pk: Mapping[str, object]) -> None:
    """Raise :class:`ParameterError` naming the field if a drug's pk table is malformed.

    ``pk`` maps keys to :class:`~oncotwin.parameters.Parameter` records. Checked: every key is
    known, a power effect has its reference, exponents, factors and omegas are in plausible
    bounds, and time-varying clearance has all of ``CL_Emax``, ``CL_T50``, ``CL_hill``.
    """
    for key, rec in pk.items():
        value = float(rec.value)  # type: ignore[attr-defined]
        unit = str(rec.unit)  # type: ignore[attr-defined]
        where = f"{name}.pk.{key}"
        if key in _STRUCTURAL or key in _TIME:
            if key in ("CL", "V1") and float(rec.log_sd) > _OMEGA_MAX:  # type: ignore[attr-defined]
                raise ParameterError(
                    f"{where}.log_sd = {rec.log_sd}: the between-patient SD of log {key} "  # type: ignore[attr-defined]
                    f"must be <= {_OMEGA_MAX}; write omega (not omega^2 or CV%)"
                )
            continue
        if key in REFERENCE_UNITS:
            if unit != REFERENCE_UNITS[key] or value <= 0:
                raise ParameterError(
                    f"{where}: a covariate reference needs a positive value in "
                    f"{REFERENCE_UNITS[key]!r}, got {value} {unit!r}"
                )
            continue
        m = _EFFECT.match(key)
        if m is None or m.group(2) not in COVARIATES:
            raise ParameterError(
                f"{where}: unknown PK key; use CL, V1, Q, V2 (Vmax, Km, ka, F), "
                f"{', '.join(_TIME)}, {', '.join(REFERENCE_UNITS)} or <P>_<covariate> with P in "
                f"{TARGETS} and covariate in {tuple(COVARIATES)}"
            )
        if unit != "1":
            raise ParameterError(f"{where}: a covariate effect is dimensionless; write unit = '1'")
        kind, ref = COVARIATES[m.group(2)]
        if kind == "power":
            if ref not in pk:
                raise ParameterError(f"{where}: a power effect needs the reference {name}.pk.{ref}")
            if abs(value) > _POWER_BOUND:
                raise ParameterError(
                    f"{where} = {value}: a covariate exponent beyond +/-{_POWER_BOUND} is not "
                    "plausible; check the paper's table"
                )
        elif not _FACTOR_BOUNDS[0] <= value <= _FACTOR_BOUNDS[1]:
            raise ParameterError(
                f"{where} = {value}: a categorical effect is the factor it multiplies by "
                f"({_FACTOR_BOUNDS[0]}-{_FACTOR_BOUNDS[1]}); write (1 + theta) or exp(theta)"
            )
    present = [k for k in _TIME[:3] if k in pk]
    if present and len(present) < 3:
        missing = [k for k in _TIME[:3] if k not in pk]
        raise ParameterError(
            f"{name}.pk: time-varying clearance needs {', '.join(_TIME[:3])}; add {missing}"
        )
    if "CL_Emax_sd" in pk and not present:
        raise ParameterError(f"{name}.pk.CL_Emax_sd: needs CL_Emax, CL_T50 and CL_hill")


@dataclass(frozen=True)
class AntibodyPK:
    """One antibody's population PK: typical values, omegas, covariate effects, CL(t)."""

    drug: str
    typical: Mapping[str, float]
    omega_cl: float
    omega_v1: float
    #: (target, covariate, kind, theta, reference) of each covariate effect.
    effects: tuple[tuple[str, str, str, float, float], ...]
    emax: float = 0.0
    t50: float = 1.0
    hill: float = 1.0
    emax_sd: float = 0.0


def antibody_pk(drug_name: str) -> AntibodyPK:
    """The population PK of a catalog antibody (name or alias).

    Raises
    ------
    ParameterError
        If the drug has no two-compartment PK (``CL`` or ``Vmax``, ``V1``, ``Q``, ``V2``).
    """
    from oncotwin.pharmacology.catalog import get_drug

    drug = get_drug(drug_name)
    pk = drug.pk
    need = [k for k in ("V1", "Q", "V2") if k not in pk]
    if need or ("CL" not in pk and "Vmax" not in pk):
        raise ParameterError(
            f"{drug.name}: a two-compartment antibody PK needs CL (or Vmax, Km), V1, Q, V2 in "
            f"the catalog; missing {need or ['CL']}"
        )
    check_pk_table(drug.name, pk)
    typical = {k: float(pk[k].value) for k in ("CL", "V1", "Q", "V2", "Vmax", "Km") if k in pk}
    effects = []
    for key, rec in pk.items():
        m = _EFFECT.match(key)
        if m is None or m.group(2) not in COVARIATES:
            continue
        kind, ref = COVARIATES[m.group(2)]
        ref_value = float(pk[ref].value) if ref is not None else 1.0
        effects.append((m.group(1), m.group(2), kind, float(rec.value), ref_value))
    tv = {k: float(pk[k].value) for k in _TIME if k in pk}
    return AntibodyPK(
        drug.name,
        typical,
        float(pk["CL"].log_sd) if "CL" in pk else 0.0,
        float(pk["V1"].log_sd),
        tuple(effects),
        emax=tv.get("CL_Emax", 0.0),
        t50=tv.get("CL_T50", 1.0),
        hill=tv.get("CL_hill", 1.0),
        emax_sd=tv.get("CL_Emax_sd", 0.0),
    )


@dataclass(frozen=True)
class PatientCovariates:
    """The covariates of the antibody models, one value per patient."""

    weight_kg: np.ndarray
    albumin_g_dl: np.ndarray
    tumour_mm: np.ndarray
    female: np.ndarray
    ecog: np.ndarray

    def column(self, covariate: str) -> np.ndarray:
        """The patient values of one covariate (indicators are 0/1)."""
        values = {
            "weight": self.weight_kg,
            "albumin": self.albumin_g_dl,
            "tumour": self.tumour_mm,
            "female": self.female,
            "male": 1.0 - self.female,
            "ecog_ge1": (self.ecog >= 1).astype(float),
        }
        return np.asarray(values[covariate], dtype=float)


def individual_pk(
    pk: AntibodyPK,
    cov: PatientCovariates,
    eta_cl: np.ndarray,
    eta_v1: np.ndarray,
    eta_emax: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each patient's ``CL``, ``V1``, ``Q``, ``V2`` (and ``Vmax``, ``Km``, ``CL_Emax``).

    ``P_i = P_typ x prod_k effect_k(x_i) x exp(omega_P eta_P,i)`` (omega only on CL and V1);
    ``CL_Emax_i = CL_Emax + CL_Emax_sd x eta_Emax,i``.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> cov = PatientCovariates(80 * one, 4 * one, 60 * one, one, 0 * one)
    >>> out = individual_pk(antibody_pk("nivolumab"), cov, 0 * one, 0 * one)
    >>> round(float(out["CL"][0]), 4)  # the paper's reference patient: 80 kg female, ECOG 0
    0.2256
    """
    n = len(eta_cl)
    out = {k: np.full(n, v) for k, v in pk.typical.items()}
    for target, covariate, kind, theta, ref in pk.effects:
        if target not in out:
            continue
        x = cov.column(covariate)
        if kind == "power":
            x = np.maximum(x, _FLOORS[covariate])
            out[target] = out[target] * (x / ref) ** theta
        else:
            out[target] = out[target] * np.where(x > 0.5, theta, 1.0)
    if "CL" in out:
        out["CL"] = out["CL"] * np.exp(pk.omega_cl * np.asarray(eta_cl, dtype=float))
    if "Vmax" in out and pk.typical.get("CL", 0.0) == 0.0:
        # elimination only target-mediated (cetuximab): omega of the clearance acts on Vmax
        out["Vmax"] = out["Vmax"] * np.exp(pk.omega_cl * np.asarray(eta_cl, dtype=float))
    out["V1"] = out["V1"] * np.exp(pk.omega_v1 * np.asarray(eta_v1, dtype=float))
    e = np.zeros(n) if eta_emax is None else np.asarray(eta_emax, dtype=float)
    out["CL_Emax"] = pk.emax + pk.emax_sd * e
    if not all(np.all(np.isfinite(v)) for v in out.values()):
        raise ParameterError(f"{pk.drug}: non-finite individual PK; check the covariates")
    return out


def steady_state_factor(pk: AntibodyPK) -> float:
    """``CL(t -> inf) / CL(0) = exp(CL_Emax)`` of the typical patient."""
    return math.exp(pk.emax)
