"""``PatientTwin``: fit one patient's lesion series, forecast them, rank regimens."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from oncotwin._constants import DAYS_PER_MONTH, DAYS_PER_YEAR
from oncotwin.errors import OncotwinError
from oncotwin.twin._data import LesionData, validate_measurements
from oncotwin.twin._fit import TwinPopulation, fit_lesions, population_from_mapping
from oncotwin.twin._forecast import (
    QUANTILES,
    posterior_draws,
    progression_probability,
    random_walk,
)
from oncotwin.twin._model import PARAM_NAMES, PARAM_UNITS, predict, residual_sd
from oncotwin.twin._regimen import RegimenEffect, regimen_effect

__all__ = ["FORECAST_COLUMNS", "NotFittedError", "PatientTwin", "default_population"]

#: Columns of :meth:`PatientTwin.forecast` (and of ``forecast.csv``), in order.
FORECAST_COLUMNS: tuple[str, ...] = (
    "lesion_id",
    "day",
    "median_mm",
    "lo80_mm",
    "hi80_mm",
    "lo95_mm",
    "hi95_mm",
    "p_progression",
)
#: Scan interval assumed for "the next scan" and the PFS landmarks [day] (q6w imaging).
SCAN_INTERVAL_DAYS = 42.0
_POPULATION_FILE = Path(__file__).resolve().parent / "data" / "population.json"


class NotFittedError(OncotwinError):
    """A twin was used before :meth:`PatientTwin.fit`."""


def default_population() -> TwinPopulation:
    """The shipped population prior (fitted on FIR, POPLAR, BIRCH; see ``docs/twin.md``)."""
    return TwinPopulation.from_json(_POPULATION_FILE)


class PatientTwin:
    """A patient's digital twin on the closed-form Claret 2009 tumour-size model.

    Parameters
    ----------
    regimen : str
        The regimen given so far (oncotwin regimen grammar, day 0 = its start), e.g.
        ``"atezolizumab 1200 mg IV q3w"``; ``"none"`` for no drug.
    cancer : str
        Cancer type (any name :func:`oncotwin.population.resolve_cancer` accepts). The shipped
        population is NSCLC; another cancer is accepted and flagged in the summary.
    population : TwinPopulation, optional
        The prior (default: :func:`default_population`).
    covariates : mapping, optional
        Covariates (age, weight, PD-L1, TMB, ...): kept and reported; the size model does not
        use them (no covariate effects are estimated from size-only data).
    n_draws : int
        Laplace draws per forecast.
    seed : int
        Seed of the draws (forecasts are deterministic under it).

    Examples
    --------
    >>> twin = PatientTwin(regimen="atezolizumab 1200 mg IV q3w", seed=1)
    >>> data = {"lesion_id": ["L1"] * 4, "day": [-7, 42, 84, 126],
    ...         "diameter_mm": [40.0, 34.0, 30.0, 29.0]}
    >>> twin.fit(data).forecast(at=[168]).shape
    (2, 8)
    """

    def __init__(
        self,
        *,
        regimen: str,
        cancer: str = "nsclc",
        population: TwinPopulation | None = None,
        covariates: Mapping[str, Any] | None = None,
        n_draws: int = 2000,
        seed: int = 0,
    ) -> None:
        from oncotwin._random import check_seed
        from oncotwin.population import resolve_cancer

        self.regimen = regimen
        self.effect: RegimenEffect = regimen_effect(regimen)
        self.cancer = resolve_cancer(cancer)
        self.population = population if population is not None else default_population()
        self.covariates = dict(covariates or {})
        if not isinstance(n_draws, int) or n_draws < 100:
            raise OncotwinError(f"n_draws must be an integer >= 100, got {n_draws!r}")
        self.n_draws = n_draws
        self.seed = check_seed(seed)

    # ------------------------------------------------------------------ fit
    def fit(self, data: pd.DataFrame | Mapping[str, Any]) -> PatientTwin:
        """Fit the patient's lesions (MAP + Laplace under the population prior); returns self."""
        tic = time.perf_counter()
        self.data_: LesionData = validate_measurements(data)
        d = self.data_
        pop = self.population
        mu = np.tile(pop.prior_mean(self.effect.classes), (d.n_lesions, 1))
        fit = fit_lesions(
            d.diameter_mm,
            d.day,
            d.mask,
            mu=mu,
            prec=pop.precision,
            a=pop.additive_sd_mm,
            b=pop.proportional_sd,
            on=np.full(d.n_lesions, self.effect.on),
            t_stop=np.full(d.n_lesions, self.effect.t_stop),
        )
        self.theta_ = fit.theta
        self.cov_ = fit.cov
        self.converged_ = fit.converged
        self.fit_time_s_ = time.perf_counter() - tic
        return self

    def _check(self) -> None:
        if not hasattr(self, "theta_"):
            raise NotFittedError("this PatientTwin is not fitted yet; call .fit(data) first")

    @property
    def posterior_(self) -> pd.DataFrame:
        """Per lesion and parameter: mode, Laplace SD (log scale) and 95% interval (natural)."""
        self._check()
        rows = []
        for i, lesion in enumerate(self.data_.lesion_ids):
            for k, name in enumerate(PARAM_NAMES):
                m, sd = self.theta_[i, k], math.sqrt(self.cov_[i, k, k])
                rows.append(
                    {
                        "lesion_id": lesion,
                        "parameter": name.removeprefix("log_"),
                        "unit": PARAM_UNITS[k],
                        "mode": math.exp(m),
                        "log_sd": sd,
                        "lo95": math.exp(m - 1.96 * sd),
                        "hi95": math.exp(m + 1.96 * sd),
                        "prior_median": math.exp(
                            self.population.prior_mean(self.effect.classes)[k]
                        ),
                    }
                )
        return pd.DataFrame(rows)

    def summary_text(self) -> str:
        """The fit summary as text (what :meth:`print_summary` prints)."""
        self._check()
        d = self.data_
        lines = [
            "oncotwin patient twin (research simulation, not medical advice)",
            f"cancer {self.cancer}; regimen {self.regimen!r} -> drug classes "
            f"{', '.join(self.effect.classes) or 'none'}",
            f"{d.n_lesions} lesion(s), {int(d.mask.sum())} measurements, days "
            f"{d.day[d.mask].min():g} to {d.last_day:g}; fitted in {self.fit_time_s_:.3f} s; "
            f"converged {int(self.converged_.sum())}/{d.n_lesions}",
            "model: closed-form Claret 2009 TGI, y = y0 exp(K_L t - K_D (1 - exp(-lambda t))"
            "/lambda); MAP + Laplace under the population prior, forecast draws by importance "
            "resampling",
        ]
        if self.cancer != "nsclc":
            lines.append(f"NOTE: the population prior comes from NSCLC trials, not {self.cancer}")
        with pd.option_context("display.width", 120, "display.float_format", "{:.4g}".format):
            lines.append(self.posterior_.to_string(index=False))
        return "\n".join(lines)

    def print_summary(self) -> None:
        """Print the fitted parameters per lesion with their intervals."""
        print(self.summary_text())

    # ------------------------------------------------------------------ forecasting
    def _draws(self, regimen: str | None, days: np.ndarray):
        """Noise-free and noisy sizes (draws, lesions, days) under ``regimen`` (common numbers)."""
        self._check()
        d = self.data_
        pop = self.population
        rng = np.random.default_rng([self.seed, 1])
        draws, self.ess_ = posterior_draws(
            self.theta_,
            self.cov_,
            self.n_draws,
            rng,
            y=d.diameter_mm,
            t=d.day,
            mask=d.mask,
            mu=np.tile(pop.prior_mean(self.effect.classes), (d.n_lesions, 1)),
            prec=pop.precision,
            a=pop.additive_sd_mm,
            b=pop.proportional_sd,
            on=np.full(d.n_lesions, self.effect.on),
            t_stop=np.full(d.n_lesions, self.effect.t_stop),
        )
        z_new = rng.standard_normal(draws.shape[:2])
        eps = np.random.default_rng([self.seed, 2]).standard_normal(
            (self.n_draws, d.n_lesions, days.size)
        )
        cur = self.effect
        t_s = d.last_day
        on = np.full((self.n_draws, d.n_lesions), cur.on)
        stop = np.full_like(on, cur.t_stop)
        t = np.broadcast_to(days, (*draws.shape[:2], days.size))
        f = predict(draws, t, on, stop)
        alt = cur if regimen is None else regimen_effect(regimen, start_day=t_s)
        if regimen is not None and (alt.classes != cur.classes or alt.t_stop != cur.t_stop):
            kd = np.exp(draws[..., 2]) * cur.on
            lam = np.exp(draws[..., 3])
            kl = np.exp(draws[..., 1])
            total = sum(math.exp(pop.log_kd_by_class[c]) for c in cur.classes) or 1.0
            shared = sum(math.exp(pop.log_kd_by_class[c]) for c in alt.classes if c in cur.classes)
            kd_cont = kd * shared / total
            kd_new = (
                sum(
                    np.exp(pop.log_kd_by_class[c] + pop.log_sd[2] * z_new)
                    for c in alt.classes
                    if c not in cur.classes
                )
                if any(c not in cur.classes for c in alt.classes)
                else np.zeros_like(kd)
            )
            y_s = predict(draws, np.full((*draws.shape[:2], 1), t_s), on, stop)[..., 0]
            dt = np.maximum(days - t_s, 0.0)[None, None, :]
            s_old = np.minimum(t_s, cur.t_stop)
            s_new = np.minimum(np.maximum(days, t_s), alt.t_stop)[None, None, :]
            cont_stop = np.minimum(s_new, cur.t_stop)
            g_cont = (kd_cont / lam)[..., None] * (
                np.exp(-lam[..., None] * np.minimum(s_old, cont_stop))
                - np.exp(-lam[..., None] * np.maximum(cont_stop, s_old))
            )
            g_new = (kd_new / lam)[..., None] * (
                1.0 - np.exp(-lam[..., None] * np.maximum(s_new - t_s, 0.0))
            )
            f_alt = y_s[..., None] * np.exp(np.minimum(kl[..., None] * dt - g_cont - g_new, 8.0))
            f = np.where(days[None, None, :] > t_s, f_alt, f)
        walk = random_walk(
            np.tile(days, (d.n_lesions, 1)),
            np.full(d.n_lesions, t_s),
            pop.forecast_rw_sd,
            self.n_draws,
            np.random.default_rng([self.seed, 3]),
        )
        f = f * np.exp(walk)
        noisy = np.maximum(f + residual_sd(f, pop.additive_sd_mm, pop.proportional_sd) * eps, 0)
        return f, noisy

    def forecast(
        self,
        days: float | None = 180.0,
        *,
        at: Sequence[float] | None = None,
        regimen: str | None = None,
        every: float = 7.0,
    ) -> pd.DataFrame:
        """Forecast every lesion and the sum of diameters (``lesion_id = "SLD"``).

        Parameters
        ----------
        days : float
            Horizon after the last scan [day]; forecast days run from the last scan + ``every``
            to the last scan + ``days``. Ignored when ``at`` is given.
        at : sequence of float, optional
            Explicit days on the input's time axis (day 0 = start of treatment).
        regimen : str, optional
            An alternative regimen from the last scan on (default: the current one).

        Returns
        -------
        DataFrame with :data:`FORECAST_COLUMNS`; ``p_progression`` = P(size >= 1.2 x nadir
        and >= nadir + 5 mm) at that day, the nadir being the smaller of the measured nadir and
        the draw's noise-free trajectory on the forecast days up to that day.
        """
        self._check()
        grid = self._grid(days, at, every)
        smooth, noisy = self._draws(regimen, grid)
        return self._table(grid, smooth, noisy)

    def _grid(self, days: float | None, at: Sequence[float] | None, every: float) -> np.ndarray:
        if at is not None:
            grid = np.asarray(sorted(set(float(x) for x in at)), float)
            if grid.size == 0 or not np.all(np.isfinite(grid)):
                raise OncotwinError(f"at: give finite days such as [200, 250], got {at!r}")
            return grid
        if days is None or not (isinstance(days, int | float) and 0 < days <= 3650):
            raise OncotwinError(f"days must be a horizon in (0, 3650] days, got {days!r}")
        if not 0 < every <= days:
            raise OncotwinError(f"every must be in (0, days], got {every!r}")
        last = self.data_.last_day
        return last + np.arange(every, days + 1e-9, every)

    def _table(self, grid: np.ndarray, smooth: np.ndarray, noisy: np.ndarray) -> pd.DataFrame:
        d = self.data_
        sld_obs = d.sld()
        sld_nadir = float(sld_obs["sld_mm"].min()) if len(sld_obs) else float("inf")
        series = [
            (lid, smooth[:, i], noisy[:, i], d.observed_nadir()[i])
            for i, lid in enumerate(d.lesion_ids)
        ]
        series.append(("SLD", smooth.sum(axis=1), noisy.sum(axis=1), sld_nadir))
        frames = []
        for lid, sm, nz, nad in series:  # the grid is sorted (see _grid)
            q = np.quantile(nz, list(QUANTILES.values()), axis=0)
            prog = progression_probability(nz[:, None], sm[:, None], np.array([nad]))[0]
            frame = pd.DataFrame({"lesion_id": lid, "day": grid})
            for col, row in zip(QUANTILES, q, strict=True):
                frame[col] = row
            frame["p_progression"] = prog
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)[list(FORECAST_COLUMNS)]

    def endpoints(self, regimen: str | None = None) -> dict[str, float]:
        """P(progression at the next scan), P(response), P(progression-free at 6 and 12 months).

        Scans are assumed every :data:`SCAN_INTERVAL_DAYS` after the last one. Response =
        SLD <= 0.7 x baseline SLD at the next scan (RECIST partial response or better);
        progression = SLD >= 1.2 x nadir and >= nadir + 5 mm at a scan; progression-free at a
        landmark = no progression on any scan up to it (and none already measured).
        """
        self._check()
        d = self.data_
        last = d.last_day
        n_scans = max(1, int(np.ceil((DAYS_PER_YEAR - last) / SCAN_INTERVAL_DAYS))) + 1
        scans = last + SCAN_INTERVAL_DAYS * np.arange(1, n_scans + 1)
        smooth, noisy = self._draws(regimen, scans)
        sld = noisy.sum(axis=1)
        sld_obs = d.sld()
        base = (
            float(sld_obs.loc[sld_obs["day"] <= 0, "sld_mm"].iloc[-1])
            if (sld_obs["day"] <= 0).any()
            else float(sld_obs["sld_mm"].iloc[0])
        )
        vals = sld_obs["sld_mm"].to_numpy()
        run = np.minimum.accumulate(vals)
        already = bool(np.any((vals[1:] >= 1.2 * run[:-1]) & (vals[1:] >= run[:-1] + 5.0)))
        nadir = np.minimum(run[-1], np.minimum.accumulate(smooth.sum(axis=1), axis=1))
        prog = (sld >= 1.2 * nadir) & (sld >= nadir + 5.0)
        first = np.where(prog.any(axis=1), scans[np.argmax(prog, axis=1)], np.inf)
        out = {
            "next_scan_day": float(scans[0]),
            "p_progression_next_scan": float(prog[:, 0].mean()),
            "p_response_next_scan": float((sld[:, 0] <= 0.7 * base).mean()),
        }
        for label, landmark in (("p_pfs_6mo", 6 * DAYS_PER_MONTH), ("p_pfs_12mo", DAYS_PER_YEAR)):
            out[label] = 0.0 if already else float(np.mean(first > landmark))
        out["median_sld_180d_mm"] = float(
            np.median(self._draws(regimen, np.array([last + 180.0]))[1].sum(axis=1))
        )
        return out

    def rank(self, regimens: Sequence[str], *, horizon: float = 180.0) -> pd.DataFrame:
        """Forecasts per candidate regimen, the difference to the current one, and toxicity.

        The difference is the SLD at ``horizon`` days after the last scan under the candidate
        minus under the current regimen, per draw with common random numbers, so its interval
        is the uncertainty of the difference (not of each forecast). Rows are sorted by
        median SLD at the horizon.
        """
        self._check()
        if isinstance(regimens, str) or not regimens:
            raise OncotwinError(
                "regimens: give a list of regimen strings, e.g. "
                "['atezolizumab 1200 mg IV q3w', 'docetaxel 75 mg/m2 IV q3w']"
            )
        effects = [regimen_effect(r, start_day=self.data_.last_day) for r in regimens]
        day = np.array([self.data_.last_day + horizon])
        ref = self._draws(None, day)[1].sum(axis=1)[:, 0]
        rows = []
        for text, eff in zip(regimens, effects, strict=True):
            sld = self._draws(text, day)[1].sum(axis=1)[:, 0]
            diff = sld - ref
            ep = self.endpoints(text)
            rows.append(
                {
                    "regimen": text,
                    "classes": ", ".join(eff.classes) or "none",
                    f"sld_day+{horizon:g}_median_mm": float(np.median(sld)),
                    "sld_lo80_mm": float(np.quantile(sld, 0.1)),
                    "sld_hi80_mm": float(np.quantile(sld, 0.9)),
                    "diff_vs_current_median_mm": float(np.median(diff)),
                    "diff_lo95_mm": float(np.quantile(diff, 0.025)),
                    "diff_hi95_mm": float(np.quantile(diff, 0.975)),
                    "p_better_than_current": float(np.mean(diff < 0)),
                    "p_progression_next_scan": ep["p_progression_next_scan"],
                    "p_pfs_6mo": ep["p_pfs_6mo"],
                    "p_pfs_12mo": ep["p_pfs_12mo"],
                    "grade3_4_toxicity_risk": eff.grade3_risk,
                    "toxicity_source": eff.toxicity_source,
                }
            )
        df = pd.DataFrame(rows)
        return df.sort_values(df.columns[2], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> Path:
        """Write the fitted twin to ``directory/twin.json`` (read back by :meth:`load`)."""
        self._check()
        from oncotwin._version import __version__

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        rec = {
            "oncotwin_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "regimen": self.regimen,
            "cancer": self.cancer,
            "covariates": self.covariates,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "population": asdict(self.population),
            "data": json.loads(self.data_.table.to_json(orient="records")),
            "theta": self.theta_.tolist(),
            "cov": self.cov_.tolist(),
            "converged": self.converged_.tolist(),
            "fit_time_s": self.fit_time_s_,
            "note": "research simulation, not medical advice",
        }
        path = out / "twin.json"
        path.write_text(json.dumps(rec, indent=1))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> PatientTwin:
        """Read a twin written by :meth:`save`."""
        path = Path(directory) / "twin.json"
        if not path.is_file():
            raise OncotwinError(f"{str(path)!r} not found; run `oncotwin twin fit ... --out DIR`")
        rec = json.loads(path.read_text())
        twin = cls(
            regimen=rec["regimen"],
            cancer=rec["cancer"],
            population=population_from_mapping(rec["population"]),
            covariates=rec["covariates"],
            n_draws=rec["n_draws"],
            seed=rec["seed"],
        )
        twin.data_ = validate_measurements(pd.DataFrame(rec["data"]))
        twin.theta_ = np.asarray(rec["theta"], float)
        twin.cov_ = np.asarray(rec["cov"], float)
        twin.converged_ = np.asarray(rec["converged"], bool)
        twin.fit_time_s_ = float(rec["fit_time_s"])
        return twin
