"""The regulator's exposure view of a regimen: steady-state Cavg, Cmin, Cmax per patient.

Every patient's antibody PK comes from the catalog's population-PK model
(:func:`oncotwin.pharmacology.poppk.individual_pk`: typical values x covariate effects x
``exp(omega eta)``, with the time-varying clearance ``CL(t) = CL exp(E t^h / (T50^h + t^h))``
of nivolumab and pembrolizumab), driven by the covariates and standard-normal draws of the same
virtual patients a trial simulates (``pk_weight``, ``pk_albumin``, ``pk_tumour``,
``pk_female``, ``pk_ecog``, ``pk_eta_CL``, ``pk_eta_V1``, ``pk_eta_Emax``).

Steady state is the regimen's last dosing interval (interval ``tau`` and dose ``D`` of the
last two doses within ``horizon_days``, default two years) repeated for ever at the clearance
the patient's time-varying clearance tends to, ``CL exp(E_i)`` (as in Lala et al. 2020 and
Zhao et al. 2020), in closed form for the linear two-compartment model with bolus doses
(Gibaldi & Perrier): ``C_ss(t) = D sum_k A_k exp(-l_k t) / (1 - exp(-l_k tau))``, so

* ``Cavg_ss = D / (CL_ss tau)``, ``Cmin_ss = C_ss(tau)`` (just before the next dose),
  ``Cmax_ss = C_ss(0)`` (just after the dose; a 30-minute infusion's peak is within ~1% of
  the bolus peak, as the distribution half-life is about a day).

The first weeks are integrated numerically with the time-varying clearance (RK4 on a grid of
``dt`` days, doses as boluses at their grid points):

* ``Cavg_early``, ``Cmin_early``, ``Cmax_1``: the average over the first ``early_days``
  (default 28), the concentration just before any dose on day ``early_days`` and the peak
  after the first dose;

and ``RO_min_ss`` is blood target engagement ``C / (C + EC50)`` at the steady-state trough,
for the antibodies with an EC50 in ``optimize/data/occupancy.toml``.

Between-patient spread: geometric mean, median and 5th-95th percentiles. Ratios to a
reference regimen are ratios of geometric means over the same patients (= the geometric mean
of the patients' own ratios). Research simulation, not medical advice.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from oncotwin.errors import OncotwinError, RegimenError

__all__ = [
    "EXPOSURE_METRICS",
    "PKInputs",
    "exposure_ratios",
    "exposure_summary",
    "occupancy_ec50",
    "pk_inputs",
    "simulate_exposure",
]

#: The per-patient exposure metrics, in the order of the tables.
EXPOSURE_METRICS: tuple[str, ...] = (
    "Cavg_ss",
    "Cmin_ss",
    "Cmax_ss",
    "Cavg_early",
    "Cmin_early",
    "Cmax_1",
    "RO_min_ss",
)
#: Default horizon [day] whose last dosing interval is repeated to steady state.
DEFAULT_HORIZON_DAYS = 730.0
#: Default integration step [day].
DEFAULT_DT = 0.25
_OCCUPANCY = Path(__file__).resolve().parent / "data" / "occupancy.toml"
#: The per-patient model parameters the population PK reads (see module docstring).
PK_COLUMNS = (
    "pk_weight",
    "pk_albumin",
    "pk_tumour",
    "pk_female",
    "pk_ecog",
    "pk_eta_CL",
    "pk_eta_V1",
    "pk_eta_Emax",
)


@dataclass(frozen=True)
class PKInputs:
    """What the population PK of a patient needs: covariates and standard-normal draws."""

    weight_kg: np.ndarray
    albumin_g_dl: np.ndarray
    tumour_mm: np.ndarray
    female: np.ndarray
    ecog: np.ndarray
    eta_cl: np.ndarray
    eta_v1: np.ndarray
    eta_emax: np.ndarray
    bsa_m2: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(np.asarray(self.weight_kg).size)

    @classmethod
    def from_population(cls, population: object, covariates: pd.DataFrame) -> PKInputs:
        """From a :class:`~oncotwin.population.Population` (its ``pk_*`` parameters) and the
        covariate table (its ``bsa_m2`` column, for doses per m2)."""
        col = {k: np.asarray(population.parameter(k), dtype=float) for k in PK_COLUMNS}  # type: ignore[attr-defined]
        bsa = (
            covariates["bsa_m2"].to_numpy(dtype=float)
            if "bsa_m2" in covariates
            else np.full(col["pk_weight"].size, np.nan)
        )
        return cls(
            col["pk_weight"],
            col["pk_albumin"],
            col["pk_tumour"],
            col["pk_female"],
            col["pk_ecog"],
            col["pk_eta_CL"],
            col["pk_eta_V1"],
            col["pk_eta_Emax"],
            bsa,
        )


def pk_inputs(spec: object, patients: int, seed: int | None = None) -> PKInputs:
    """The PK inputs of the first ``patients`` virtual patients of trial ``spec`` (a
    :class:`~oncotwin.trials.spec.TrialSpec`): the same patients, with the same draws, as
    a run of the trial with that seed (common random numbers)."""
    from oncotwin.population.virtual import VirtualPopulation
    from oncotwin.trials import Trial

    plan = Trial(spec).plan(patients=patients, seed=seed, chunk_size=max(1, patients))  # type: ignore[arg-type]
    vp = VirtualPopulation.for_trial(
        plan.model(),
        plan.cancer,
        np.arange(patients),
        seed=plan.seed,
        eligibility=plan.eligibility,
        baseline=plan.baseline,
    )
    return PKInputs.from_population(vp.population, vp.covariates)


def occupancy_ec50(drug: str) -> float:
    """The EC50 [mg/L] of blood target engagement of ``drug`` (NaN when none is on file).

    Examples
    --------
    >>> occupancy_ec50("pembrolizumab")
    1.7
    """
    from oncotwin.pharmacology import get_drug

    name = get_drug(drug).name
    with _OCCUPANCY.open("rb") as fh:
        table = tomllib.load(fh)
    rec = table.get(name, {}).get("EC50")
    if rec is None:
        return math.nan
    if rec.get("unit") != "mg/L":
        raise OncotwinError(f"occupancy.toml: {name}.EC50 must be in mg/L")
    return float(rec["value"])


def _doses(
    regimen: object, drug: str, horizon: float, inputs: PKInputs
) -> tuple[np.ndarray, np.ndarray]:
    """Dose days and the amount [mg] each patient gets at each (patients x doses)."""
    sched = regimen.schedule(horizon)  # type: ignore[attr-defined]
    keep = np.asarray(sched.drug) == drug
    if not keep.any():
        raise RegimenError(f"regimen {str(regimen)!r} gives no {drug}; name a drug it doses")
    times = np.asarray(sched.time, dtype=float)[keep]
    amount = np.asarray(sched.amount, dtype=float)[keep]
    basis = np.asarray(sched.basis)[keep]
    kind = np.asarray(sched.kind)[keep]
    if not np.all(kind == "mass"):
        raise RegimenError(f"{drug}: the exposure view needs doses in mg (mg, mg/kg, mg/m2)")
    per = np.ones((inputs.n, times.size))
    for j, b in enumerate(basis):
        if b == "per_kg":
            per[:, j] = inputs.weight_kg
        elif b == "per_m2":
            if not np.all(np.isfinite(inputs.bsa_m2)):
                raise RegimenError(f"{drug}: a dose per m2 needs the patients' bsa_m2")
            per[:, j] = inputs.bsa_m2
        elif b not in ("flat", "absolute", ""):
            raise RegimenError(f"{drug}: dose basis {b!r} is not a mass dose (mg, mg/kg, mg/m2)")
    return times, per * amount[None, :]


def simulate_exposure(
    drug: str,
    regimen: object,
    inputs: PKInputs,
    *,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
    early_days: float = 28.0,
    dt: float = DEFAULT_DT,
) -> pd.DataFrame:
    """Per-patient exposure metrics (:data:`EXPOSURE_METRICS`, mg/L; RO as a fraction) of
    ``drug`` under ``regimen`` (a regimen string or :class:`~oncotwin.regimens.Regimen`).

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(1)
    >>> inp = PKInputs(80 * one, 4 * one, 60 * one, one, 0 * one, 0 * one, 0 * one, 0 * one,
    ...                1.9 * one)
    >>> ex = simulate_exposure("nivolumab", "nivolumab 240 mg IV q2w", inp)
    >>> round(float(ex["Cavg_ss"][0]), 1)  # 240 mg / (0.2256 exp(-0.295) L/day x 14 days)
    102.1
    """
    from oncotwin.pharmacology import get_drug
    from oncotwin.pharmacology.poppk import PatientCovariates, antibody_pk, individual_pk
    from oncotwin.regimens import parse_regimen

    if dt <= 0 or not math.isfinite(dt):
        raise OncotwinError(f"dt={dt}; give a positive integration step in days, e.g. 0.25")
    reg = parse_regimen(regimen) if isinstance(regimen, str) else regimen
    name = get_drug(drug).name
    pk = antibody_pk(name)
    cov = PatientCovariates(
        inputs.weight_kg, inputs.albumin_g_dl, inputs.tumour_mm, inputs.female, inputs.ecog
    )
    ind = individual_pk(pk, cov, inputs.eta_cl, inputs.eta_v1, inputs.eta_emax)
    if "CL" not in ind:
        raise OncotwinError(f"{name}: the exposure view needs a linear clearance CL")
    times, amounts = _doses(reg, name, horizon_days, inputs)
    if np.unique(times).size < 2:
        raise RegimenError(
            f"{name}: regimen {str(reg)!r} gives fewer than 2 doses within "
            f"{horizon_days:g} days; a steady state needs repeated doses"
        )
    cl0, v1, q, v2 = ind["CL"], ind["V1"], ind["Q"], ind["V2"]
    emax = ind["CL_Emax"]
    t0 = float(times.min())
    # -- steady state: the last interval repeated, at the clearance CL(t -> inf) -------------
    last = times == times.max()
    prev_t = float(np.max(times[times < times.max()]))
    tau = float(times.max()) - prev_t
    dose_ss = amounts[:, last].sum(axis=1)
    cl_ss = cl0 * np.exp(emax) if (pk.emax != 0.0 or pk.emax_sd != 0.0) else cl0
    k10, k12, k21 = cl_ss / v1, q / v1, q / v2
    tot = k10 + k12 + k21
    root = np.sqrt(tot**2 - 4 * k10 * k21)
    lam_a, lam_b = (tot + root) / 2, (tot - root) / 2
    coef_a = (lam_a - k21) / (v1 * (lam_a - lam_b))
    coef_b = (k21 - lam_b) / (v1 * (lam_a - lam_b))
    acc_a = 1.0 / -np.expm1(-lam_a * tau)
    acc_b = 1.0 / -np.expm1(-lam_b * tau)
    cmax_ss = dose_ss * (coef_a * acc_a + coef_b * acc_b)
    cmin_ss = dose_ss * (
        coef_a * np.exp(-lam_a * tau) * acc_a + coef_b * np.exp(-lam_b * tau) * acc_b
    )
    cavg_ss = dose_ss / (cl_ss * tau)
    # -- the first weeks: numerical, with the time-varying clearance ------------------------
    uniq = np.unique(times)
    early_end = t0 + max(early_days, float(uniq[1] - t0))
    n_steps = int(np.ceil((early_end - t0) / dt))
    grid_idx = np.round((times - t0) / dt).astype(int)
    inside = grid_idx <= n_steps
    dose_at = np.zeros((inputs.n, n_steps + 1))
    np.add.at(dose_at.T, grid_idx[inside], amounts[:, inside].T)
    t50, hill = pk.t50, pk.hill

    def cl_at(t: float) -> np.ndarray:
        if (pk.emax == 0.0 and pk.emax_sd == 0.0) or t <= 0.0:
            return cl0
        s = t**hill
        return cl0 * np.exp(emax * s / (t50**hill + s))

    def rhs(a1: np.ndarray, a2: np.ndarray, cl: np.ndarray) -> tuple[np.ndarray, ...]:
        c = a1 / v1
        flow = q * c - q * a2 / v2
        return -cl * c - flow, flow, c

    a1 = np.zeros(inputs.n)
    a2 = np.zeros(inputs.n)
    auc = np.zeros(inputs.n)
    c_pre = np.empty((inputs.n, n_steps + 1))
    c_post = np.empty((inputs.n, n_steps + 1))
    auc_at = np.empty((inputs.n, n_steps + 1))
    for i in range(n_steps + 1):
        c_pre[:, i] = a1 / v1
        a1 = a1 + dose_at[:, i]
        c_post[:, i] = a1 / v1
        auc_at[:, i] = auc
        if i == n_steps:
            break
        t = i * dt
        cl_a, cl_m, cl_b = cl_at(t), cl_at(t + dt / 2), cl_at(t + dt)
        k1 = rhs(a1, a2, cl_a)
        k2 = rhs(a1 + dt / 2 * k1[0], a2 + dt / 2 * k1[1], cl_m)
        k3 = rhs(a1 + dt / 2 * k2[0], a2 + dt / 2 * k2[1], cl_m)
        k4 = rhs(a1 + dt * k3[0], a2 + dt * k3[1], cl_b)
        a1 = a1 + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        a2 = a2 + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        auc = auc + dt / 6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
    w = min(n_steps, round(early_days / dt))
    nxt = int(np.round((uniq[1] - t0) / dt))
    ec50 = occupancy_ec50(name)
    out = pd.DataFrame(
        {
            "Cavg_ss": cavg_ss,
            "Cmin_ss": cmin_ss,
            "Cmax_ss": cmax_ss,
            "Cavg_early": auc_at[:, w] / (w * dt),
            "Cmin_early": c_pre[:, w],
            "Cmax_1": c_post[:, : max(nxt, 1)].max(axis=1),
            "RO_min_ss": cmin_ss / (cmin_ss + ec50) if math.isfinite(ec50) else np.nan,
        }
    )
    out.attrs.update(drug=name, regimen=str(reg), tau_days=tau)
    return out


def exposure_summary(per_patient: pd.DataFrame) -> pd.DataFrame:
    """Geometric mean, median, 5th and 95th percentile of each metric (one row per metric)."""
    rows = []
    for m in EXPOSURE_METRICS:
        x = per_patient[m].to_numpy(dtype=float)
        if not np.isfinite(x).any():
            continue
        x = x[np.isfinite(x)]
        gm = float(np.exp(np.mean(np.log(np.maximum(x, 1e-300)))))
        p5, med, p95 = np.percentile(x, [5, 50, 95])
        rows.append(
            {
                "metric": m,
                "unit": "1" if m.startswith("RO") else "mg/L",
                "geo_mean": gm,
                "median": float(med),
                "p5": float(p5),
                "p95": float(p95),
            }
        )
    return pd.DataFrame(rows)


def exposure_ratios(
    candidate: pd.DataFrame, reference: pd.DataFrame, metrics: Sequence[str] | None = None
) -> Mapping[str, float]:
    """Ratios of geometric means (candidate / reference) over the same patients.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"Cavg_ss": [2.0, 8.0]}); b = pd.DataFrame({"Cavg_ss": [1.0, 4.0]})
    >>> round(exposure_ratios(a, b, ["Cavg_ss"])["Cavg_ss"], 6)
    2.0
    """
    if len(candidate) != len(reference):
        raise OncotwinError(
            f"exposure ratios need the same patients: {len(candidate)} vs {len(reference)}"
        )
    out = {}
    for m in metrics or EXPOSURE_METRICS:
        a = candidate[m].to_numpy(dtype=float)
        b = reference[m].to_numpy(dtype=float)
        ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
        out[m] = float(np.exp(np.mean(np.log(a[ok]) - np.log(b[ok])))) if ok.any() else math.nan
    return out
