"""Bayesian dose-exposure models (PyMC): power vs saturable Emax, LOO, exposure plateau.

Data: one PK parameter (default Cmax) of every subject and cycle of one arm, from the NCA
table.  Both models share a log-normal likelihood with a between-subject random effect
and a fixed effect per cycle (accumulation), so repeated cycles of a subject separate
between-subject from residual variability (with one value per subject, e.g. one cycle,
the random effect is left out: it is not separable from the residual):

* power: ``ln y_ij = a + b ln(d_i / d_ref) + g_c(j) + eta_i + e_ij``;
* Emax: ``ln y_ij = ln Emax + ln(d_i^h / (ED50^h + d_i^h)) + g_c(j) + eta_i + e_ij``
  (Hill coefficient ``h`` fixed, default 1);

``eta_i ~ N(0, omega^2)``, ``e_ij ~ N(0, sigma^2)``, ``g`` = 0 for the first cycle.
Priors (weakly informative, on the log scale of the data): ``a ~ N(mean ln y, 5^2)``,
``b ~ N(1, 1)``, ``ln Emax ~ N(max ln y + 0.5, 2^2)``, ``ln ED50 ~ N(ln median dose,
2.5^2)``, ``g ~ N(0, 1)``, ``omega, sigma ~ HalfNormal(1)``.

The models are compared by PSIS-LOO (``arviz.compare``).  The exposure-plateau dose
for a fraction ``f`` of the maximal exposure is ``D_f = ED50 (f / (1 - f))^(1/h)`` under
the Emax model; its posterior gives, for each dose studied, the probability that the dose
reaches the plateau, and the plateau dose is the lowest dose whose probability is at
least ``prob`` (default 0.5, i.e. the posterior median of ``D_f`` is at or below it).
When LOO prefers the power model, or no studied dose reaches the plateau, there is no
plateau dose and the result says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["ExposurePlateau", "compare_dose_exposure", "exposure_plateau", "fit_dose_exposure"]

Model = Literal["power", "emax"]


def _data(nca: pd.DataFrame, parameter: str, arm: str | None, cycles) -> pd.DataFrame:
    need = {"subject", "arm", "dose", "cycle", "parameter", "value"}
    if not isinstance(nca, pd.DataFrame) or not need <= set(nca.columns):
        raise ValueError(f"expected the NCA table with columns {sorted(need)}")
    arms = sorted(nca["arm"].unique())
    if arm is None:
        if len(arms) != 1:
            raise ValueError(f"the NCA table holds arms {arms}; pass arm=")
        arm = arms[0]
    if arm not in arms:
        raise ValueError(f"no arm {arm!r} (arms: {arms})")
    d = nca[(nca["parameter"] == parameter) & (nca["arm"] == arm)]
    if cycles is not None:
        d = d[d["cycle"].isin(list(cycles))]
    d = d[d["value"] > 0].copy()
    if d["dose"].nunique() < 3:
        raise ValueError(
            f"need {parameter!r} at >= 3 doses of arm {arm!r} to fit a dose-exposure model; "
            f"got {d['dose'].nunique()}"
        )
    d.attrs["arm"] = arm
    return d


def fit_dose_exposure(
    nca: pd.DataFrame,
    parameter: str = "cmax",
    model: Model = "emax",
    *,
    arm: str | None = None,
    cycles: Any = None,
    hill: float = 1.0,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2026,
    target_accept: float = 0.95,
):
    """Fit the power or Emax dose-exposure model; returns ``arviz.InferenceData``.

    The InferenceData holds the pointwise log-likelihood (for LOO) and, in
    ``attrs``, the arm, parameter and doses.  Divergences are counted in
    ``attrs["divergences"]``.
    """
    import pymc as pm

    if model not in ("power", "emax"):
        raise ValueError(f"model must be 'power' or 'emax', got {model!r}")
    if not hill > 0:
        raise ValueError(f"hill must be > 0, got {hill!r}")
    d = _data(nca, parameter, arm, cycles)
    y = np.log(d["value"].to_numpy(float))
    dose = d["dose"].to_numpy(float)
    subj_codes, subjects = pd.factorize(d["subject"])
    cyc_codes, cyc_levels = pd.factorize(d["cycle"], sort=True)
    d_ref = float(np.exp(np.mean(np.log(np.unique(dose)))))
    coords = {"subject": list(subjects), "cycle_effect": [int(c) for c in cyc_levels[1:]],
              "obs": np.arange(len(y))}  # fmt: skip
    bsv = bool(np.bincount(subj_codes).max() > 1)
    with pm.Model(coords=coords):
        sigma = pm.HalfNormal("sigma", 1.0)
        if bsv:
            omega = pm.HalfNormal("omega", 1.0)
            z = pm.Normal("z", 0.0, 1.0, dims="subject")
            eta = (omega * z)[subj_codes]
        else:  # one value per subject: between-subject and residual are not separable
            eta = 0.0
        if len(cyc_levels) > 1:
            g = pm.Normal("g", 0.0, 1.0, dims="cycle_effect")
            g_full = pm.math.concatenate([np.zeros(1), g])[cyc_codes]
        else:
            g_full = 0.0
        if model == "power":
            a = pm.Normal("a", float(y.mean()), 5.0)
            b = pm.Normal("b", 1.0, 1.0)
            mu = a + b * np.log(dose / d_ref)
        else:
            log_emax = pm.Normal("log_emax", float(y.max()) + 0.5, 2.0)
            log_ed50 = pm.Normal("log_ed50", float(np.log(np.median(dose))), 2.5)
            pm.Deterministic("ed50", pm.math.exp(log_ed50))
            ld = hill * np.log(dose)
            # ln(d^h / (ED50^h + d^h)) = -log1p(exp(h ln ED50 - h ln d))
            mu = log_emax - pm.math.log1pexp(hill * log_ed50 - ld)
        pm.Normal("y", mu + g_full + eta, sigma, observed=y, dims="obs")
        idata = pm.sample(
            draws=draws, tune=tune, chains=chains, cores=1, random_seed=seed,
            target_accept=target_accept, progressbar=False,
            idata_kwargs={"log_likelihood": True},
        )  # fmt: skip
    idata.attrs["model"] = model
    idata.attrs["arm"] = d.attrs["arm"]
    idata.attrs["parameter"] = parameter
    idata.attrs["hill"] = hill
    idata.attrs["doses"] = sorted(set(dose.tolist()))
    idata.attrs["divergences"] = int(idata.sample_stats["diverging"].sum())
    idata.attrs["between_subject"] = int(bsv)
    return idata


def compare_dose_exposure(fits: dict[str, Any]) -> pd.DataFrame:
    """PSIS-LOO comparison (``arviz.compare``) of fitted dose-exposure models."""
    import arviz as az

    return az.compare(fits, ic="loo")


@dataclass
class ExposurePlateau:
    """Posterior exposure-plateau dose of one arm (see the module notes)."""

    arm: str
    parameter: str
    fraction: float
    prob: float
    dose: float | None
    reason: str
    preferred: str
    d_fraction: tuple[float, float, float]  # posterior median, 5 % and 95 % quantiles
    prob_reached: dict[float, float]
    comparison: pd.DataFrame
    divergences: dict[str, int]
    fits: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per dose studied: probability of reaching the plateau."""
        return pd.DataFrame({
            "arm": self.arm, "parameter": self.parameter, "dose": list(self.prob_reached),
            "prob_reached": list(self.prob_reached.values()),
            "plateau_dose": self.dose, "fraction": self.fraction,
        })  # fmt: skip


def exposure_plateau(
    nca: pd.DataFrame,
    parameter: str = "cmax",
    *,
    arm: str | None = None,
    fraction: float = 0.9,
    prob: float = 0.5,
    cycles: Any = None,
    hill: float = 1.0,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    seed: int = 2026,
) -> ExposurePlateau:
    """Posterior of the lowest dose reaching ``fraction`` of the maximal exposure.

    Fits both models (:func:`fit_dose_exposure`), compares them by LOO and, under the
    Emax model, returns the plateau dose with its reason.

    Examples
    --------
    >>> import bayes_dose as bd  # doctest: +SKIP
    >>> ep = bd.pk.exposure_plateau(bd.pk.nca(), arm="mono")  # doctest: +SKIP
    >>> ep.dose, ep.preferred  # doctest: +SKIP
    (300.0, 'emax')
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    kw = dict(arm=arm, cycles=cycles, hill=hill, draws=draws, tune=tune, chains=chains, seed=seed)
    fits = {m: fit_dose_exposure(nca, parameter, m, **kw) for m in ("power", "emax")}
    cmp = compare_dose_exposure(fits)
    preferred = str(cmp.index[0])
    emax = fits["emax"]
    ed50 = emax.posterior["ed50"].to_numpy().ravel()
    d_f = ed50 * (fraction / (1 - fraction)) ** (1 / hill)
    doses = emax.attrs["doses"]
    reached = {float(x): float(np.mean(d_f <= x)) for x in doses}
    med, lo, hi = (float(np.quantile(d_f, q)) for q in (0.5, 0.05, 0.95))
    arm_name = emax.attrs["arm"]
    other = cmp.index[1]
    diff, dse = float(cmp.loc[other, "elpd_diff"]), float(cmp.loc[other, "dse"])
    loo_txt = f"LOO prefers the {preferred} model (elpd difference {diff:.1f}, SE {dse:.1f})"
    if preferred == "power":
        dose = None
        reason = (f"{loo_txt}: exposure keeps rising with dose, no plateau within "
                  f"{min(doses):g}-{max(doses):g} mg")  # fmt: skip
    else:
        ok = [x for x in doses if reached[float(x)] >= prob]
        if not ok:
            dose = None
            reason = (f"{loo_txt}; no dose studied reaches {fraction:.0%} of the maximal "
                      f"{parameter} with probability >= {prob:g} (P at {max(doses):g} mg "
                      f"= {reached[float(max(doses))]:.2f})")  # fmt: skip
        else:
            dose = float(ok[0])
            reason = (f"{loo_txt}; {dose:g} mg is the lowest dose reaching {fraction:.0%} "
                      f"of the maximal {parameter} with probability {reached[dose]:.2f} "
                      f"(>= {prob:g}); D{round(fraction * 100)} posterior median {med:.0f} mg "
                      f"(90% CrI {lo:.0f}-{hi:.0f})")  # fmt: skip
    div = {m: int(f.attrs["divergences"]) for m, f in fits.items()}
    if any(div.values()):
        reason += f"; divergent transitions: {div}"
    if "warning" in cmp.columns and cmp["warning"].astype(bool).any():
        shaky = ", ".join(str(m) for m in cmp.index[cmp["warning"].astype(bool)])
        reason += (f"; PSIS-LOO warning (Pareto k > 0.7 for some observations) for the "
                   f"{shaky} model: the comparison is approximate")  # fmt: skip
    if not math.isfinite(med):
        raise ValueError("exposure_plateau: the ED50 posterior is not finite")
    return ExposurePlateau(arm_name, parameter, fraction, prob, dose, reason, preferred,
                           (med, lo, hi), reached, cmp, div, fits)  # fmt: skip
