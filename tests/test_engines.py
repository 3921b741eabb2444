"""The engine layer: registry, one diagnostics schema, nutpie agreeing with the grid.

Agreement tolerance (issue 11): posterior mean DLT probability per dose within
max(0.01, 3 Monte Carlo SE), the MC SE being posterior sd / sqrt(ESS of the mean) per dose.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.inference.engines import DIAGNOSTIC_KEYS, Engine
from bayes_dose.inference.mcmc import MCMCWarning

SETTINGS = {"draws": 1000, "tune": 700, "chains": 2}
DOSES = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 600.0, 900.0)


def test_registry_names_and_errors():
    assert {"grid", "pymc", "nutpie"} <= set(bd.engines)
    assert all(isinstance(e, Engine) for e in bd.engines.values())
    assert bd.engines["grid"].vectorised and not bd.engines["nutpie"].vectorised
    with pytest.raises(ValueError, match="unknown engine 'gird'; registered engines: 'grid'"):
        bd.engines["gird"]
    # every design refuses an unknown engine, rule-based ones included
    out = bd.Outcomes.parse("1NNN")
    for design in (bd.ThreePlusThree(3), bd.BOIN(0.25, 3, max_n=9),
                   bd.BLRM((10, 30, 100), reference_dose=30)):  # fmt: skip
        with pytest.raises(ValueError, match="registered engines"):
            design.fit(out, engine="stan")
    with pytest.raises(ValueError, match="registered engines"):
        bd.compare({"3+3": bd.ThreePlusThree(3)}, {"mono": out}, engine="stan")
    with pytest.raises(ValueError, match="does not satisfy the Engine protocol"):
        bd.engines.register(object())


def test_a_new_engine_is_one_class_and_its_registration():
    """The smallest engine: observed rates whatever the model (shows the protocol)."""

    class Empirical:
        name = "observed"
        vectorised = True

        def estimate(self, model, evidence, *, resolution=None, **options):
            n, y = evidence["arm"]
            return bd.inference.Estimate.empirical(np.asarray(n), np.asarray(y))

    bd.engines.register(Empirical())
    design = bd.BLRM((10, 30, 100), reference_dose=30)
    data = bd.DoseData.from_outcomes(bd.Outcomes.parse("1NNN 2NTN"), 3)
    try:
        est = design.estimate(data, engine="observed")
    finally:
        bd.engines.unregister("observed")
    np.testing.assert_allclose(est.prob_mean[0, :2], [0.0, 1 / 3])
    assert "observed" not in bd.engines


def test_crm_mle_needs_the_grid_engine():
    crm = bd.CRM(bd.crm_skeleton(0.25, 0.05, 3, 5), 0.25, method="mle")
    with pytest.raises(ValueError, match="only the grid engine"):
        crm.fit(bd.Outcomes.parse("1NNN 2NTN"), engine="nutpie", draws=10, tune=10)


def _mcse(fit, prob_of_draws):
    post = fit.posterior.posterior
    p = prob_of_draws(post)  # (chain, draw, D)
    ess = az.ess(xr.Dataset({"p": (("chain", "draw", "dose"), p)}), method="mean")["p"].values
    return p.reshape(-1, p.shape[-1]).std(axis=0) / np.sqrt(ess)


def _assert_agrees_with_grid(fit, grid, model):
    """Per dose within max(0.01, 3 MC SE) of the grid posterior mean."""

    def prob(post):
        return model.prob(post["log_alpha"].values, post["log_beta"].values)

    tol = np.maximum(0.01, 3 * _mcse(fit, prob))
    diff = np.abs(fit.prob_tox.to_numpy() - grid.prob_tox.to_numpy())
    assert np.all(diff <= tol), (diff.round(4), tol.round(4))


@pytest.fixture(scope="module")
def blrm_case():
    design = bd.BLRM(DOSES, reference_dose=300, target_interval=(0.16, 0.33), ewoc=0.25)
    out = bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 5NTN 6NTT")
    return design, out


@pytest.fixture(scope="module")
def blrm_fits(blrm_case):
    design, out = blrm_case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCMCWarning)
        return {e: design.fit(out, engine=e, random_seed=5, **SETTINGS) for e in ("pymc", "nutpie")}


@pytest.mark.mcmc
def test_nutpie_agrees_with_grid_on_blrm(blrm_case, blrm_fits):
    design, out = blrm_case
    grid = design.fit(out)
    nut = blrm_fits["nutpie"]
    _assert_agrees_with_grid(nut, grid, design.model)
    assert nut.next_dose == grid.next_dose and nut.mtd == grid.mtd
    assert nut.estimate.engine == "nutpie" and nut.diagnostics["max_rhat"] <= 1.01


@pytest.mark.mcmc
def test_one_diagnostics_schema_for_every_mcmc_engine(blrm_fits):
    for name, fit in blrm_fits.items():
        d = fit.diagnostics
        assert tuple(d) == DIAGNOSTIC_KEYS, name
        assert d["engine"] == name and d["chains"] == 2 and d["draws"] == SETTINGS["draws"]
        assert d["seconds"] > 0 and d["divergences"] == 0 and d["max_depth_hits"] == 0


@pytest.mark.mcmc
def test_nutpie_refit_reuses_the_compiled_model_and_is_reproducible(blrm_case, blrm_fits):
    from bayes_dose.inference import nutpie_engine

    design, out = blrm_case
    n_cached = len(nutpie_engine._CACHE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCMCWarning)
        again = design.fit(out, engine="nutpie", random_seed=5, **SETTINGS)
        other = design.fit(bd.Outcomes.parse("1N 2N 3N 4NNN"), engine="nutpie",
                           random_seed=5, **SETTINGS)  # fmt: skip
    assert len(nutpie_engine._CACHE) == n_cached  # new data, nothing compiled
    z0 = blrm_fits["nutpie"].posterior.posterior["z"].values
    np.testing.assert_array_equal(again.posterior.posterior["z"].values, z0)
    assert not np.array_equal(other.posterior.posterior["z"].values, z0)
    # the data the draws rest on are the new ones
    assert other.prob_tox.values[5] < blrm_fits["nutpie"].prob_tox.values[5]


@pytest.mark.mcmc
def test_nutpie_crm_and_combination_agree_with_grid():
    out = bd.Outcomes.parse("1NNN 2NNN 3NTN 3NNN 4TTN")
    crm = bd.CRM(bd.crm_skeleton(0.25, 0.05, 3, 5), 0.25)
    mono = bd.BLRM(DOSES, reference_dose=300)
    combo = bd.CombinationBLRM(mono, doses=(30.0, 100.0, 300.0, 600.0, 900.0))
    data = {"mono": bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NTN"),
            "combo": bd.Outcomes.parse("1NNN 2NTN", arm="combo")}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCMCWarning)
        c_nut = crm.fit(out, engine="nutpie", random_seed=2, **SETTINGS)
        k_nut = combo.fit(data, engine="nutpie", random_seed=2, **SETTINGS)
    c_diff = np.abs(c_nut.prob_tox.values - crm.fit(out).prob_tox.values)
    assert c_diff.max() < 0.01, c_diff.round(4)
    k_grid = combo.fit(data)
    k_diff = np.abs(k_nut.prob_tox.values - k_grid.prob_tox.values)
    assert k_diff.max() < 0.015, k_diff.round(4)
    assert k_nut.next_dose == k_grid.next_dose


@pytest.mark.mcmc
def test_compare_runs_mcmc_checks_with_any_registered_engine(blrm_case):
    design, out = blrm_case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCMCWarning)
        cmp = bd.compare({"BLRM": design}, {"mono": out}, mcmc={"BLRM": "nutpie"},
                         mcmc_kwargs={"random_seed": 1, **SETTINGS})  # fmt: skip
    check = cmp.mcmc_check()
    assert check.loc[0, "engine"] == "nutpie"
    assert check.loc[0, "max_abs_diff_prob_tox"] < 0.02
    with pytest.raises(ValueError, match="registered engines"):
        bd.compare({"BLRM": design}, {"mono": out}, mcmc={"BLRM": "stan"})


@pytest.mark.mcmc
def test_nutpie_shares_one_compiled_graph_across_blrm_specs(blrm_case, blrm_fits):
    """Another prior and reference dose reuse the compiled graph (constants are data),
    and the posterior is that model's own: it agrees with its grid posterior."""
    from bayes_dose.inference import nutpie_engine

    _, out = blrm_case
    n_cached = len(nutpie_engine._CACHE)
    other = bd.BLRM(DOSES, reference_dose=100, prior=bd.BLRMPrior((-1.5, 0.2), (2.0, 0.9), 0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCMCWarning)
        fit = other.fit(out, engine="nutpie", random_seed=4, **SETTINGS)
    assert len(nutpie_engine._CACHE) == n_cached
    _assert_agrees_with_grid(fit, other.fit(out), other.model)


def test_mcmc_settings_are_integers_checked_before_sampling():
    design = bd.BLRM((10, 30, 100), reference_dose=30)
    out = bd.Outcomes.parse("1NNN")
    for bad in (2.5, True, "100"):
        with pytest.raises(ValueError, match="draws, tune and chains must be integers"):
            design.fit(out, engine="nutpie", draws=bad)
    with pytest.raises(ValueError, match="need draws >= 1"):
        design.fit(out, engine="pymc", draws=np.int64(0))
