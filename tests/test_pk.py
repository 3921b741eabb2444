"""PK: NCA on a hand-computed profile, dose proportionality, PowerTOST power / sample size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayes_dose as bd
from bayes_dose.listings import ListingError, read_pc
from bayes_dose.pk import (
    auc_interval,
    dose_proportionality,
    lambda_z,
    nca,
    power_dp,
    sample_size_dp,
    slope_limits,
)


def _listing(rows) -> pd.DataFrame:
    cols = ["USUBJID", "ARM", "DOSE", "CYCLE", "NRRLT", "ARRLT", "AVAL", "BLQFL", "LLOQ", "TAU"]
    return read_pc(pd.DataFrame(rows, columns=cols))


# S1, cycle 1: pre-dose BLQ, BLQ at 0.5 h, rise to 10 at 2 h, then exact exponential
# decline with half-life 4 h (8, 4, 2, 1 at 4, 8, 12, 16 h), BLQ at tau = 24 h.
# Cycle 2: pre-dose 0.6, peak 12 at 2 h.
HAND = [
    ("S1", "mono", 10, 1, 0, -0.5, None, "Y", 0.1, 24),
    ("S1", "mono", 10, 1, 0.5, 0.5, None, "Y", 0.1, 24),
    ("S1", "mono", 10, 1, 1, 1, 5, "N", 0.1, 24),
    ("S1", "mono", 10, 1, 2, 2, 10, "N", 0.1, 24),
    ("S1", "mono", 10, 1, 4, 4, 8, "N", 0.1, 24),
    ("S1", "mono", 10, 1, 8, 8, 4, "N", 0.1, 24),
    ("S1", "mono", 10, 1, 12, 12, 2, "N", 0.1, 24),
    ("S1", "mono", 10, 1, 16, 16, 1, "N", 0.1, 24),
    ("S1", "mono", 10, 1, 24, 24, None, "Y", 0.1, 24),
    ("S1", "mono", 10, 2, 0, -0.2, 0.6, "N", 0.1, 24),
    ("S1", "mono", 10, 2, 2, 2, 12, "N", 0.1, 24),
]


def _value(res, cycle, parameter, subject="S1"):
    v = res.query("subject == @subject and cycle == @cycle and parameter == @parameter")
    assert len(v) == 1
    return float(v["value"].iat[0]), str(v["note"].iat[0])


def test_accumulation_ratio_not_across_a_dose_change():
    # S1 cycle 2 at 20 mg instead of 10: Cmax 12 over 10 would be a ratio of two doses
    rows = [r if r[3] == 1 else (*r[:2], 20, *r[3:]) for r in HAND]
    res = nca(_listing(rows))
    for k in ("rac_cmax", "rac_auctau"):
        v, note = _value(res, 2, k)
        assert math.isnan(v)
        assert note == "dose 20 mg differs from cycle 1 (10 mg): not an accumulation ratio"
    assert _value(nca(_listing(HAND)), 2, "rac_cmax")[0] == pytest.approx(12 / 10)


def test_nca_hand_computed_profile():
    res = nca(_listing(HAND))
    lam = math.log(2) / 4
    # closed form, interval by interval (linear up, log down)
    auc = (
        0.5 * (0 + 0) * 0.5        # 0 -> 0.5 h: BLQ before the first measurable = 0
        + 0.5 * (0 + 5) * 0.5      # 0.5 -> 1 h, rising: linear
        + 0.5 * (5 + 10) * 1       # 1 -> 2 h, rising: linear
        + (10 - 8) / math.log(10 / 8) * 2
        + (8 - 4) / math.log(2) * 4
        + (4 - 2) / math.log(2) * 4
        + (2 - 1) / math.log(2) * 4
    )  # fmt: skip
    assert _value(res, 1, "cmax")[0] == 10 and _value(res, 1, "tmax")[0] == 2
    assert _value(res, 1, "auclast")[0] == pytest.approx(auc, rel=1e-12)
    # tau = 24 h is after the last measurable sample (16 h): extrapolated with lambda_z
    tail = 1 / lam * (1 - math.exp(-lam * 8))
    assert _value(res, 1, "auctau")[0] == pytest.approx(auc + tail, rel=1e-12)
    assert _value(res, 1, "lambda_z")[0] == pytest.approx(lam, rel=1e-12)
    assert _value(res, 1, "half_life")[0] == pytest.approx(4.0, rel=1e-12)
    # every fit of the exact exponential has adjusted R^2 = 1: the most points (4) win
    assert _value(res, 1, "lambda_z_n_points")[0] == 4
    assert _value(res, 1, "lambda_z_adj_r2")[0] == pytest.approx(1.0)
    assert _value(res, 1, "lambda_z_first_time")[0] == 4
    v, note = _value(res, 1, "ctrough")  # the tau sample is BLQ
    assert np.isnan(v) and note.startswith("BLQ")
    # cycle 2: residual pre-dose 0.6 at time 0, rac_cmax = 12 / 10
    assert _value(res, 2, "auclast")[0] == pytest.approx(0.5 * (0.6 + 12) * 2)
    assert _value(res, 2, "rac_cmax")[0] == pytest.approx(1.2)
    v, note = _value(res, 2, "lambda_z")
    assert np.isnan(v) and "not estimable" in note
    ex = res.attrs["excluded"]
    assert ex.to_dict("records") == [{
        "source_row": "row 8", "subject": "S1", "cycle": 1, "nominal_time": 24.0,
        "reason": "BLQ after the first measurable concentration: excluded",
    }]  # fmt: skip
    assert "BLQ" in res.attrs["rules"]
    assert list(res.columns) == list(bd.pk.NCA_COLUMNS)


def test_auctau_interpolated_inside_the_samples():
    rows = [*[r for r in HAND if r[3] == 1][:-1], ("S1", "mono", 10, 1, 24, 24, 0.25, "N", 0.1, 24)]
    res = nca(_listing(rows), tau=14)  # tau between 12 h (2) and 16 h (1): log interpolation
    c14 = math.exp(math.log(2) + (math.log(1) - math.log(2)) * 0.5)
    auc12 = (0.5 * 5 * 0.5 + 0.5 * 15 + 2 / math.log(1.25) * 2 + 4 / math.log(2) * 4
             + 2 / math.log(2) * 4)  # fmt: skip
    want = auc12 + (2 - c14) / math.log(2 / c14) * 2
    assert _value(res, 1, "auctau")[0] == pytest.approx(want, rel=1e-12)
    assert _value(res, 1, "ctrough")[1] == "no end-of-interval sample (nominal tau or next pre-dose)"


def test_lambda_z_rules():
    # PKNCA's documented example: 1, 0.5, 0.25 at 0, 1, 2 h -> half-life 1 h
    fit = lambda_z([0, 1, 2], [1, 0.5, 0.25])
    assert math.log(2) / fit.value == pytest.approx(1.0)
    assert lambda_z([1, 2], [2, 1]) is None  # fewer than 3 points
    assert lambda_z([1, 2, 3], [1, 2, 3]) is None  # rising: no positive lambda_z
    # a last point off the line: the 3-point fit beats the 4-point one by adjusted R^2
    fit = lambda_z([1, 2, 3, 4], [1.0, 0.9, 0.45, 0.225])
    assert fit.n_points == 3 and fit.value == pytest.approx(math.log(2))
    assert auc_interval(0, 4, 1, 4) == 4.0  # flat: linear


def test_quantifiable_predose_and_not_measured_are_listed():
    rows = list(HAND)
    rows[0] = ("S1", "mono", 10, 1, 0, -0.5, 0.3, "N", 0.1, 24)
    rows[4] = ("S1", "mono", 10, 1, 4, 4, None, "N", 0.1, 24)
    res = nca(_listing(rows))
    reasons = res.attrs["excluded"].set_index("source_row")["reason"].to_dict()
    assert reasons["row 0"].startswith("quantifiable pre-dose sample (0.3) before the first dose")
    assert reasons["row 4"] == "not measured (AVAL blank and BLQFL = N)"
    assert _value(res, 1, "cmax")[0] == 10  # C(0) still 0, profile otherwise used


def test_cycle_without_predose_has_no_auc_and_says_why():
    rows = [r for r in HAND if not (r[3] == 2 and r[4] == 0)]
    res = nca(_listing(rows))
    v, note = _value(res, 2, "auclast")
    assert np.isnan(v) and note == "no pre-dose sample: AUC from time 0 not computed"


def test_bad_concentration_input_names_row_and_field():
    rows = list(HAND)
    rows[3] = ("S1", "mono", 10, 1, 2, 2, -10, "N", 0.1, 24)
    with pytest.raises(ListingError, match=r"row 3 \(USUBJID='S1'\) field 'AVAL': -10 must be >= 0"):
        _listing(rows)
    rows = list(HAND)
    rows[4] = ("S1", "mono", 10, 1, 4, 1.5, 8, "N", 0.1, 24)
    with pytest.raises(ListingError, match=r"row 4 \(USUBJID='S1'\) field 'ARRLT': 1.5 h is not after 2 h"):
        _listing(rows)
    with pytest.raises(ValueError, match="tau must be"):
        nca(_listing(HAND), tau=-1)


def test_bundled_nca_shapes_and_units():
    res = nca()
    assert set(res["parameter"]) == set(bd.pk.PARAMETERS)
    assert (res.loc[res.parameter == "cmax", "unit"] == "ug/mL").all()
    # every excluded record is a real row of the listing
    pc = read_pc()
    assert set(res.attrs["excluded"]["source_row"]) <= set(pc["source_row"])
    hl = res.loc[res.parameter == "half_life", "value"].dropna()
    assert 80 < hl.median() < 300  # generator: 150 h x exp(N(0, 0.2^2)), flat early phase


# -- dose proportionality -------------------------------------------------------------------
def _dp_table(doses, values, arm="mono", cycle=1):
    return pd.DataFrame({"subject": [f"S{i}" for i in range(len(doses))], "arm": arm,
                         "dose": doses, "cycle": cycle, "parameter": "cmax", "value": values,
                         "unit": "", "note": ""})  # fmt: skip


def test_dose_proportionality_matches_closed_form_ols():
    doses = [1, 1, 3, 3, 10, 10, 30, 30]
    vals = [2.1, 1.8, 5.5, 6.9, 20.0, 17.5, 52.0, 66.0]
    dp = dose_proportionality(_dp_table(doses, vals))
    lr = stats.linregress(np.log(doses), np.log(vals))
    q = stats.t.ppf(0.95, len(doses) - 2)
    assert dp.slope == pytest.approx(lr.slope, rel=1e-12)
    assert dp.se == pytest.approx(lr.stderr, rel=1e-12)
    assert dp.ci == pytest.approx((lr.slope - q * lr.stderr, lr.slope + q * lr.stderr), rel=1e-12)
    assert dp.criterion == pytest.approx((1 + math.log(0.8) / math.log(30),
                                          1 + math.log(1.25) / math.log(30)))  # fmt: skip
    lo, hi = dp.ci
    want = ("proportional" if dp.criterion[0] < lo and hi < dp.criterion[1]
            else "not proportional" if hi < dp.criterion[0] or lo > dp.criterion[1]
            else "inconclusive")  # fmt: skip
    assert dp.verdict == want
    assert dp.max_ratio == pytest.approx(1.25 ** (1 / max(1 - lo, hi - 1)))


def test_dose_proportionality_verdicts_and_errors():
    doses = np.repeat([1.0, 10.0, 100.0], 4)
    exact = dose_proportionality(_dp_table(doses, 3 * doses * np.exp(np.tile([0.01, -0.01, 0.02, -0.02], 3))))
    assert exact.verdict == "proportional" and exact.slope == pytest.approx(1.0, abs=1e-9)
    flat = dose_proportionality(_dp_table(doses, 50 * np.exp(np.tile([0.01, -0.01, 0.02, -0.02], 3))))
    assert flat.verdict == "not proportional"
    both = pd.concat([_dp_table(doses, doses), _dp_table(doses, doses, arm="combo")])
    with pytest.raises(ValueError, match="pass arm="):
        dose_proportionality(both)
    with pytest.raises(ValueError, match="no arm 'x'"):
        dose_proportionality(both, arm="x")
    with pytest.raises(ValueError, match="need >= 3 positive values"):
        dose_proportionality(_dp_table([1, 1, 1], [1, 2, 3]))
    dp = dose_proportionality(_dp_table([1, 3, 10, 30], [1, np.nan, 9, 31]))
    assert dp.n == 3 and dp.dropped[0].startswith("S1: nan")


def test_bundled_exposure_saturates():
    res = nca()
    for arm in ("mono", "combo"):
        dp = dose_proportionality(res, "cmax", arm=arm)
        assert dp.verdict == "not proportional" and dp.ci[1] < 1  # less than proportional


# -- PowerTOST power.dp / sampleN.dp ------------------------------------------------------
# Numbers from the PowerTOST "Dose-Proportionality" vignette (PowerTOST 1.5-x, DP.html).
FIB3 = [10, 20, 33.3]
FIB4 = [10, 20, 33.3, 50]
FIB5 = [10, 20, 33.3, 50, 66.7]
# crossdes::balmin.RMD(5, 10, 3) as used by the vignette (rows = sequences)
BALMIN_5_10_3 = [(1, 5, 3), (2, 1, 4), (3, 2, 5), (4, 3, 1), (5, 4, 2),
                 (3, 5, 1), (4, 1, 2), (5, 2, 3), (1, 3, 4), (2, 4, 5)]  # fmt: skip


def test_powertost_vignette_crossover():
    r = sample_size_dp(0.20, FIB3, beta0=1.02)
    assert (r.n, round(r.power, 6)) == (15, 0.808127)
    assert (round(r.slope_range[0], 5), round(r.slope_range[1], 4)) == (0.81451, 1.1855)
    r = sample_size_dp(0.20, FIB4, beta0=1.02)
    assert (r.n, round(r.power, 6)) == (16, 0.867441)
    # dropouts: power.dp at n = 16, 15, 14, 13 (unbalanced sequences)
    got = [round(power_dp(0.20, FIB4, n, beta0=1.02), 5) for n in (16, 15, 14, 13)]
    assert got == [0.86744, 0.82914, 0.81935, 0.81516]
    doses = [1, 4, 16, 64, 256]
    r = sample_size_dp(0.30, doses, beta0=1.02)
    assert (r.n, round(r.power, 6)) == (70, 0.809991)
    assert (round(r.slope_range[0], 5), round(r.slope_range[1], 4)) == (0.95976, 1.0402)
    r = sample_size_dp(0.30, doses, beta0=1.02, theta1=0.75)
    assert (r.n, round(r.power, 6)) == (30, 0.828246)


def test_powertost_vignette_incomplete_block_design():
    r = sample_size_dp(0.20, FIB5, beta0=1.02, design="IBD", dm=BALMIN_5_10_3)
    assert (r.n, round(r.power, 6)) == (30, 0.898758)
    assert (round(r.slope_range[0], 5), round(r.slope_range[1], 4)) == (0.88241, 1.1176)
    got = [round(power_dp(0.20, FIB5, n, beta0=1.02, design="IBD", dm=BALMIN_5_10_3), 5)
           for n in range(30, 22, -1)]  # fmt: skip
    assert got == [0.89876, 0.89196, 0.87939, 0.87201, 0.85793, 0.83587, 0.82470, 0.80405]


def test_power_dp_parallel_and_two_doses_equal_tost():
    # two doses, parallel: the slope test is the parallel-group TOST on the log ratio
    # with df = n - 2; closed form with the noncentral t
    cv, n, r = 0.25, 24, 2.0
    s2 = math.log(cv**2 + 1)
    se = math.sqrt(s2 / (2 * (n / 2) * (math.log(r) / 2) ** 2))
    lo, hi = slope_limits([1, r])
    t = stats.t.ppf(0.95, n - 2)
    want = stats.nct.cdf(-t, n - 2, (1 - hi) / se) - stats.nct.cdf(t, n - 2, (1 - lo) / se)
    assert power_dp(cv, [1, r], n, beta0=1.0, design="parallel") == pytest.approx(want, rel=1e-12)


def test_power_dp_input_errors():
    with pytest.raises(ValueError, match="at least two positive doses"):
        power_dp(0.2, [10], 12)
    with pytest.raises(ValueError, match="CV must be > 0"):
        power_dp(0, [1, 2], 12)
    with pytest.raises(ValueError, match="needs the design matrix"):
        power_dp(0.2, [1, 2, 3], 12, design="IBD")
    with pytest.raises(ValueError, match="must lie inside the slope range"):
        sample_size_dp(0.2, [1, 2, 3], beta0=2.0)
    with pytest.raises(ValueError, match="degrees of freedom"):
        power_dp(0.2, [1, 2], 2, design="parallel")


# -- Bayesian dose-exposure ---------------------------------------------------------------
@pytest.mark.mcmc
def test_exposure_plateau_small_mcmc():
    res = nca()
    mono = res[(res.arm == "mono") & res.cycle.isin([1])]
    ep = bd.pk.exposure_plateau(mono, arm="mono", draws=300, tune=300, chains=2, seed=1)
    assert ep.preferred == "emax"
    assert set(ep.comparison.index) == {"power", "emax"}
    # generator: ED50 = 30 mg, so D90 = 270 mg; the lowest studied dose above it is 300 mg
    assert ep.dose == 300.0
    assert 100 < ep.d_fraction[0] < 300  # posterior median of D90 (truth 270 mg)
    assert ep.fits["emax"].attrs["between_subject"] == 0  # one cycle: no separate BSV
    assert ep.prob_reached[600.0] > ep.prob_reached[300.0] > ep.prob_reached[100.0]
    assert "LOO prefers the emax model" in ep.reason
    assert list(ep.to_frame()["dose"]) == [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 600.0]


@pytest.mark.slow
def test_exposure_plateau_all_cycles_both_arms():
    res = nca()
    ep = bd.pk.exposure_plateau(res, arm="mono", draws=1000, tune=1000, seed=3)
    assert ep.preferred == "emax" and ep.dose == 300.0 and ep.divergences == {"power": 0, "emax": 0}
    fit = ep.fits["power"]
    assert float(fit.posterior["b"].mean()) < 0.7  # less than proportional
    combo = bd.pk.exposure_plateau(res, arm="combo", draws=1000, tune=1000, seed=3)
    assert combo.dose in (100.0, 300.0, None)


def test_exposure_input_errors():
    res = nca()
    with pytest.raises(ValueError, match="pass arm="):
        bd.pk.fit_dose_exposure(res)
    with pytest.raises(ValueError, match="fraction must be"):
        bd.pk.exposure_plateau(res, arm="mono", fraction=1.0)
    with pytest.raises(ValueError, match=">= 3 doses"):
        bd.pk.fit_dose_exposure(res[res.dose.isin([1.0, 3.0])], arm="mono")


# -- command line -------------------------------------------------------------------------
def test_cli_pk_writes_tables(tmp_path, capsys):
    from bayes_dose.cli import main

    assert main(["pk", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "not proportional" in out
    res = pd.read_csv(tmp_path / "nca.csv")
    assert list(res.columns) == list(bd.pk.NCA_COLUMNS)
    ex = pd.read_csv(tmp_path / "nca_excluded.csv")
    assert len(ex) == len(nca().attrs["excluded"])
    dp = pd.read_csv(tmp_path / "dose_proportionality.csv")
    assert sorted(dp["arm"]) == ["combo", "mono"]


def test_cli_pk_bad_listing_exits_2(tmp_path, capsys):
    from bayes_dose.cli import main

    bad = tmp_path / "pc.csv"
    text = bd.listings.bundled("pc").read_text().splitlines()
    cells = text[2].split(",")
    cells[6] = "-1"
    text[2] = ",".join(cells)
    bad.write_text("\n".join(text) + "\n")
    assert main(["pk", "--pc", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 3 (USUBJID='M01') field 'AVAL': '-1' must be >= 0" in err


def test_log_down_interpolation_pknca_example():
    # PKNCA's interpolate.conc test: conc 0, 1, 0.5, 1, 0 at 0..4 h, lin up / log down at
    # 1.5 h gives exp(mean(log(c(1, 0.5)))) = sqrt(0.5); AUCtau to 1.5 h uses that point
    rows = [
        ("S1", "mono", 10, 1, 0, 0, None, "Y", 0.1, None),
        ("S1", "mono", 10, 1, 1, 1, 1.0, "N", 0.1, None),
        ("S1", "mono", 10, 1, 2, 2, 0.5, "N", 0.1, None),
        ("S1", "mono", 10, 1, 3, 3, 1.0, "N", 0.1, None),
        ("S1", "mono", 10, 1, 4, 4, None, "Y", 0.1, None),
    ]
    res = nca(_listing(rows), tau=1.5)
    c15 = math.exp(np.mean(np.log([1, 0.5])))
    assert c15 == pytest.approx(math.sqrt(0.5))
    want = 0.5 * 1 * 1 + (1 - c15) / math.log(1 / c15) * 0.5
    assert _value(res, 1, "auctau")[0] == pytest.approx(want, rel=1e-12)
    # AUClast to 3 h: linear up 0-1, log down 1-2, linear up 2-3
    assert _value(res, 1, "auclast")[0] == pytest.approx(0.5 + 0.5 / math.log(2) + 0.75)
