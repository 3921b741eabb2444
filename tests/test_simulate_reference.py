"""Simulated OCs of BOIN against BOIN::get.oc (R BOIN 2.7.2), within Monte Carlo error.

The R random stream cannot be replayed, so the comparison is statistical: each selection
percentage and mean number of patients per dose must lie within 3 combined Monte Carlo
SEs, ``sqrt(se_ours**2 + se_R**2)``, where ``se_R`` is the SE of the 10,000-trial
reference (binomial for percentages; for means our per-trial sd over sqrt(10,000)).
"""

from __future__ import annotations

import numpy as np

import bayes_dose as bd


def _check_boin_get_oc(ref: dict, n_trials: int, seed: int) -> None:
    design = bd.BOIN(
        target=ref["target"], n_doses=len(ref["p_true"]), cohort_size=ref["cohortsize"],
        max_n=ref["ncohort"] * ref["cohortsize"],
    )  # fmt: skip
    sims = bd.simulate({"BOIN": design}, ref["p_true"], n_trials=n_trials, seed=seed,
                       progress=False)  # fmt: skip
    oc = bd.operating_characteristics(sims).sel(design="BOIN", scenario="true_tox")
    T_ref = ref["ntrial"]
    p_ref = np.asarray(ref["selection_pct"]) / 100
    p = oc.p_select.to_numpy()
    se = np.sqrt(oc.p_select_se.to_numpy() ** 2 + p_ref * (1 - p_ref) / T_ref)
    # R reports percentages to 0.01 (5e-5 as a proportion)
    assert np.all(np.abs(p - p_ref) <= 3 * se + 5e-5), (100 * p, ref["selection_pct"])
    n_ref = np.asarray(ref["mean_patients"])
    sd = oc.mean_n_se.to_numpy() * np.sqrt(n_trials)
    se_n = np.sqrt(oc.mean_n_se.to_numpy() ** 2 + sd**2 / T_ref)
    # R reports means rounded to 0.01
    assert np.all(np.abs(oc.mean_n.to_numpy() - n_ref) <= 3 * se_n + 0.005), (
        oc.mean_n.to_numpy(), n_ref)  # fmt: skip
    # N is max_n except in early-stopped trials, so the reference's sd of N is about
    # max_n * sqrt(p_stop (1 - p_stop)) (our sample may have no early stop at all).
    p_stop = ref["pct_early_stop"] / 100
    max_n = ref["ncohort"] * ref["cohortsize"]
    sd_tot = max(float(oc.mean_total_n_se) * np.sqrt(n_trials),
                 max_n * np.sqrt(p_stop * (1 - p_stop)))  # fmt: skip
    se_tot = np.sqrt(float(oc.mean_total_n_se) ** 2 + sd_tot**2 / T_ref)
    assert abs(float(oc.mean_total_n) - ref["mean_total_n"]) <= 3 * se_tot + 0.005
    se_stop = np.sqrt(max(float(oc.p_none_se) ** 2 + p_stop * (1 - p_stop) / T_ref, 1e-8))
    assert abs(float(oc.p_none) - p_stop) <= 3 * se_stop + 1 / n_trials


def test_boin_get_oc_full(refs: dict) -> None:
    """The reference workload: 10,000 trials (fast enough for every CI run)."""
    _check_boin_get_oc(refs["boin_get_oc"], n_trials=10_000, seed=6)
