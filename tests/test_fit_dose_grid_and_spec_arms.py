"""A design whose doses are not the data's dose grid, and a spec design on no arm, are
errors (audit findings 9 and 12: both used to run without a word)."""

from __future__ import annotations

import pytest

import bayes_dose as bd

MONO = (1, 3, 10, 30, 100, 300, 600, 900)


def test_fit_refuses_a_design_on_another_dose_grid() -> None:
    out = bd.examples.bat6021_outcomes().arm("mono")
    wrong = bd.BLRM((1, 3, 10, 30, 100, 300, 500, 900), reference_dose=300)
    with pytest.raises(ValueError, match=r"doses \[1, 3, 10, 30, 100, 300, 500, 900\] mg are not"):
        wrong.fit(out)
    # the protocol's grid: fits as before
    fit = bd.BLRM(MONO, reference_dose=300).fit(out)
    assert fit.next_dose is not None or fit.stop
    # data without a dose grid (no protocol): nothing to compare
    bd.ThreePlusThree(4, doses_mg=(5, 10, 20, 40)).fit(bd.Outcomes.parse("1NNN 2NNN"))


def test_spec_design_with_no_arm_is_an_error(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('protocol = "bat6021"\n[designs.b]\ntype = "BOIN"\ntarget = 0.25\narms = []\n')
    with pytest.raises(ValueError, match="field 'arms': is empty"):
        bd.io.load_spec(path)


def test_a_design_without_doses_mg_must_have_the_arms_number_of_levels():
    """A design without dose labels (BOIN(0.25, 8)) fitted to an arm whose data know a
    dose grid of another length (the 5 combination levels) is refused with the counts;
    before, xarray's 'conflicting sizes for dimension' leaked out of the fit."""
    out = bd.examples.bat6021_outcomes()
    with pytest.raises(ValueError, match=r"BOIN\.fit: the design has 8 dose levels, arm "
                       r"'combo' has 5 in the data"):  # fmt: skip
        bd.BOIN(0.25, 8).fit(out.arm("combo"))
    with pytest.raises(ValueError, match=r"arm 'combo', design 'BOIN'.*8 dose levels.*"
                       r"give designs per arm"):  # fmt: skip
        bd.compare({"BOIN": bd.BOIN(0.25, n_doses=8)}, out)
    assert len(bd.BOIN(0.25, 5).fit(out.arm("combo")).prob_tox) == 5  # the arm's levels fit


def test_an_mcmc_check_of_a_rule_based_design_is_refused(tmp_path):
    """compare(mcmc=["BOIN"]) used to report an 'MCMC check' of BOIN against itself
    (max_abs_diff_prob_tox 0.0, same_decision True): BOIN has no model, its estimates are
    observed rates whatever the engine.  Refused, in compare and in a spec's [analysis]."""
    out = bd.examples.bat6021_outcomes().arm("mono")
    designs = {"mono": {"BOIN": bd.BOIN(0.25, 8), "CRM": bd.CRM(bd.crm_skeleton(0.25, 0.05, 4, 8), 0.25)}}
    with pytest.raises(ValueError, match=r"mcmc names design\(s\) \['BOIN'\] without a model"):
        bd.compare(designs, {"mono": out}, mcmc=["BOIN"])
    assert not bd.Design.model_based and bd.CRM.model_based and bd.BLRM.model_based
    from bayes_dose.io import load_spec
    from bayes_dose.workflows import bundled_spec

    text = bundled_spec().read_text()
    assert 'mcmc = ["BLRM", "combo BLRM"]' in text
    spec = tmp_path / "spec.toml"
    spec.write_text(text.replace('mcmc = ["BLRM", "combo BLRM"]', 'mcmc = ["BLRM", "BOIN"]'))
    with pytest.raises(ValueError, match=r"\[analysis\] mcmc: design\(s\) \['BOIN'\] without a model"):
        load_spec(spec)
