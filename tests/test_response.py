"""Tumour response: best overall response (RECIST 1.1 with confirmation), ORR / DCR with
Clopper-Pearson intervals, the bundled synthetic listing, the hierarchical model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import bayes_dose as bd
from bayes_dose import response
from bayes_dose.basket import HierarchicalPrior, hierarchical_orr

ROOT = Path(__file__).resolve().parents[1]


def visits(subject: str, days, resps, sods=None, arm="mono", dose=100.0, cohort="NSCLC"):
    days = [-3, *days]
    resps = [None, *resps]
    sods = [50.0, *(sods or [30.0] * (len(days) - 1))]
    return pd.DataFrame({"subject": subject, "arm": arm, "dose_mg": dose, "cohort": cohort,
                         "day": days, "response": resps, "sum_diameters": sods})  # fmt: skip


CASES = [
    # (name, days, responses, expected BOR, first_response_day, confirm_day)
    ("cr_confirmed", [43, 85], ["CR", "CR"], "CR", 43, 85),
    ("cr_too_soon", [43, 60], ["CR", "CR"], "SD", 43, None),  # 17 days: not confirmed
    ("cr_exactly_28", [43, 71], ["CR", "CR"], "CR", 43, 71),
    ("pr_confirmed_by_cr", [43, 85], ["PR", "CR"], "PR", 43, 85),
    ("cr_then_pr", [43, 85], ["CR", "PR"], "PR", 43, 85),
    ("pr_ne_pr", [43, 64, 85], ["PR", "NE", "PR"], "PR", 43, 85),
    ("pr_then_pd", [43, 85], ["PR", "PD"], "SD", 43, None),  # unconfirmed PR at day 43 >= 35
    ("early_pr_then_pd", [30, 50], ["PR", "PD"], "PD", 30, None),
    ("early_sd_then_pd", [29, 71], ["SD", "PD"], "PD", None, None),
    ("early_sd_only", [29], ["SD"], "NE", None, None),
    ("sd_at_min", [36], ["SD"], "SD", None, None),  # day 36 = 35 days after day 1
    ("non_cr_non_pd", [43], ["NON-CR/NON-PD"], "SD", None, None),
    ("ne_only", [43, 85], ["NE", "NE"], "NE", None, None),
    ("pd_first", [43], ["PD"], "PD", None, None),
    ("pr_after_pd_ignored", [43, 85, 127], ["PD", "PR", "PR"], "PD", None, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_best_overall_response_rules(case):
    name, days, resps, want, first, conf = case
    b = response.best_overall_response(visits(name, days, resps))
    row = b.table.iloc[0]
    assert row.bor == want, row.reason
    assert (None if pd.isna(row.first_response_day) else int(row.first_response_day)) == first
    assert (None if pd.isna(row.confirm_day) else int(row.confirm_day)) == conf
    assert row.confirmed == (want in ("CR", "PR"))


def test_excluded_records_are_listed_with_reason():
    b = response.best_overall_response(visits("S", [43, 85, 127], ["PD", "PR", "PR"]))
    assert b.excluded["day"].tolist() == [85, 127]
    assert b.excluded["source_row"].tolist() == ["row 2", "row 3"]
    assert all("after progression on day 43" in r for r in b.excluded["reason"])


def test_confirmation_parameters_and_best_change():
    v = visits("S", [43, 64], ["PR", "PR"], sods=[30.0, 25.0])
    assert response.best_overall_response(v).table.bor.iat[0] == "SD"  # 21 days < 28
    b = response.best_overall_response(v, confirm_days=21)
    assert b.table.bor.iat[0] == "PR"
    assert b.table.best_pct_change.iat[0] == pytest.approx(-50.0)
    assert "21 days" in b.rule
    assert response.best_overall_response(v, sd_min_days=70).table.bor.iat[0] == "NE"


@pytest.mark.parametrize(
    ("col", "value", "match"),
    [
        ("response", "VGPR", r"row 1 \(subject 'S'\) field 'response'.*unknown RECIST category 'VGPR'"),
        ("response", "", r"row 1 \(subject 'S'\) field 'response'.*blank overall response.*NE"),
        ("sum_diameters", -4, r"row 1 \(subject 'S'\) field 'sum_diameters'.*non-negative"),
        ("day", 43.5, r"row 1 \(subject 'S'\) field 'day'.*whole number"),
        ("dose_mg", "abc", r"row 1 \(subject 'S'\) field 'dose_mg'"),
    ],
)
def test_bad_rows_name_line_and_field(col, value, match):
    v = visits("S", [43, 85], ["PR", "PR"])
    v[col] = v[col].astype(object)
    v.loc[1, col] = value
    with pytest.raises(ValueError, match=match):
        response.best_overall_response(v)


def test_other_bad_inputs():
    v = visits("S", [43, 85], ["PR", "PR"])
    v.loc[0, "response"] = "SD"
    with pytest.raises(ValueError, match=r"row 0 \(subject 'S'\) field 'response'.*baseline rows"):
        response.validate_responses(v)
    v = visits("S", [43, 43], ["PR", "PR"])
    with pytest.raises(ValueError, match=r"row 2 \(subject 'S'\) field 'day'.*two assessments"):
        response.validate_responses(v)
    v = visits("S", [43, 85], ["PR", "PR"])
    v.loc[2, "dose_mg"] = 300.0
    with pytest.raises(ValueError, match=r"more than one dose_mg"):
        response.validate_responses(v)
    with pytest.raises(ValueError, match=r"missing column"):
        response.validate_responses(v.drop(columns="cohort"))


def test_reader_csv_names_file_line_field(tmp_path):
    raw = pd.read_csv(ROOT / "src/bayes_dose/data/bat6021_response.csv", dtype=str,
                      keep_default_na=False)  # fmt: skip
    i = int(np.nonzero(raw["ADY"].astype(int).to_numpy() > 1)[0][0])
    bad = raw.copy()
    bad.loc[i, "OVRLRESP"] = "iCPD"
    p = tmp_path / "resp.csv"
    bad.to_csv(p, index=False)
    sid = raw.USUBJID[i]
    with pytest.raises(ValueError, match=rf"line {i + 2} \(USUBJID='{sid}'\) field 'OVRLRESP': 'iCPD' is not one of CR"):
        response.read_response_listing(p)
    # record checks name the listing's line and field too
    bad = raw.copy()
    bad.loc[i, "OVRLRESP"] = ""
    bad.to_csv(p, index=False)
    with pytest.raises(ValueError, match=rf"line {i + 2} \(subject '{sid}'\) field 'OVRLRESP': blank overall"):
        response.read_response_listing(p)
    bad = raw.copy()
    bad.loc[i, "SUMDIAM"] = "-3"
    bad.to_csv(p, index=False)
    with pytest.raises(ValueError, match=rf"line {i + 2} .* field 'SUMDIAM'"):
        response.read_response_listing(p)
    # SAS transport gives the same frame
    pyreadstat = pytest.importorskip("pyreadstat")
    xpt = tmp_path / "resp.xpt"
    num = pd.read_csv(ROOT / "src/bayes_dose/data/bat6021_response.csv")
    # pandas' XPORT reader decodes an exact 0 as 5.4e-79: keep day 0 out of this check
    num["ADY"] = num["ADY"].where(num["ADY"] != 0, -1)
    pyreadstat.write_xport(num, str(xpt), file_format_version=5)
    num.to_csv(p, index=False)
    got = response.read_response_listing(xpt)
    assert got["source_row"].iat[0] == "observation 1"
    pd.testing.assert_frame_equal(got.drop(columns="source_row"),
                                  response.read_response_listing(p).drop(columns="source_row"))  # fmt: skip


def test_clopper_pearson_matches_scipy():
    for x, n in [(0, 5), (3, 10), (7, 7), (18, 88)]:
        ci = stats.binomtest(x, n).proportion_ci(0.95, method="exact")
        assert response.clopper_pearson(x, n) == pytest.approx((ci.low, ci.high), abs=1e-10)
    with pytest.raises(ValueError):
        response.clopper_pearson(4, 3)


def test_orr_counts_and_groups():
    b = response.best_overall_response(response.bundled_response_listing())
    t = response.orr(b, by=["arm", "dose_mg"])
    assert t["n"].sum() == len(b.table)
    cols = ["n_cr", "n_pr", "n_sd", "n_pd", "n_ne"]
    assert (t[cols].sum(axis=1) == t["n"]).all()
    assert np.allclose(t["orr"], (t.n_cr + t.n_pr) / t.n)
    assert np.allclose(t["dcr"], (t.n_cr + t.n_pr + t.n_sd) / t.n)
    assert ((t.orr_lower <= t.orr) & (t.orr <= t.orr_upper)).all()
    # a per-visit frame and the BOR give the same table
    v = response.bundled_response_listing()
    pd.testing.assert_frame_equal(response.orr(v, by=["cohort"]), response.orr(b, by=["cohort"]))
    with pytest.raises(ValueError, match="no column"):
        response.orr(b, by=["tumour"])


def test_bundled_listing_matches_example_cohort_data():
    v = response.bundled_response_listing()
    ex = bd.examples.bat6021_frame()
    esc = v[v.cohort == "escalation"].drop_duplicates("subject").set_index("subject")
    assert sorted(esc.index) == sorted(ex.patient_id)
    e = ex.set_index("patient_id").loc[esc.index]
    assert (esc["arm"] == e["arm"]).all() and (esc["dose_mg"] == e["dose_mg"]).all()
    exp = v[v.cohort != "escalation"].drop_duplicates("subject")
    sizes = exp.groupby("cohort").size()
    assert len(sizes) == 4 and (sizes >= 20).all()
    assert set(exp.arm) == {"combo"}
    raw = pd.read_csv(ROOT / "src/bayes_dose/data/bat6021_response.csv")
    assert set(raw.STUDYID) == {"SYNTHETIC-BAT6021"}


def test_bundled_listing_is_regenerated_by_its_seeded_script(tmp_path):
    out = tmp_path / "r.csv"
    subprocess.run([sys.executable, str(ROOT / "tools/make_bat6021_response.py"), str(out)],
                   check=True, capture_output=True)  # fmt: skip
    assert out.read_bytes() == (ROOT / "src/bayes_dose/data/bat6021_response.csv").read_bytes()


def test_bundled_edge_cases():
    b = response.best_overall_response(response.bundled_response_listing()).table.set_index("subject")
    assert b.loc["E081", "bor"] == "NE" and "no SD >= 35 days" in b.loc["E081", "reason"]
    assert b.loc["E082", "bor"] == "NE" and b.loc["E082", "reason"] == "no post-baseline assessment"


def test_plots_draw():
    import matplotlib

    matplotlib.use("Agg")
    from bayes_dose.plots import plot_shrinkage, plot_swimmer, plot_waterfall

    b = response.best_overall_response(response.bundled_response_listing())
    ax = plot_waterfall(b)
    assert len(ax.patches) == int(np.isfinite(b.table.best_pct_change).sum())
    ax = plot_swimmer(b.table[b.table.arm == "mono"])
    assert len(ax.get_yticklabels()) == int((b.table.arm == "mono").sum())
    fit = hierarchical_orr(response.orr(b.table[b.table.cohort != "escalation"], by=["cohort"]))
    plot_shrinkage(fit)


# -- hierarchical model ------------------------------------------------------------------
DATA = [("NSCLC", 20, 8), ("HNSCC", 20, 2), ("HCC", 21, 4), ("gastric", 21, 2)]


def _quad_posterior_mean(y, n, m, s):
    """Independent 1-D quadrature: E[expit(theta) | y of n], theta ~ N(m, s^2)."""

    def f(t, k):
        return special.expit(t) ** k * stats.binom.pmf(y, n, special.expit(t)) * stats.norm.pdf(t, m, s)

    lo, hi = m - 12 * s, m + 12 * s
    num = integrate.quad(f, lo, hi, args=(1,), points=[0.0], limit=200)[0]
    den = integrate.quad(f, lo, hi, args=(0,), points=[0.0], limit=200)[0]
    return num / den


def test_tau_tiny_gives_the_pooled_analysis():
    pr = HierarchicalPrior(tau_scale=1e-4, mu_sd=1.5)
    fit = hierarchical_orr(DATA, model="exchangeable", prior=pr)
    y, n = sum(d[2] for d in DATA), sum(d[1] for d in DATA)
    pooled = _quad_posterior_mean(y, n, pr.mu_mean, pr.mu_sd)
    assert np.allclose(fit.post_mean, pooled, atol=2e-3)
    assert fit.pooled_mean == pytest.approx(pooled, abs=2e-3)
    assert np.all(fit.table().shrinkage > 0.99)


def test_exnex_all_nonexchangeable_gives_separate_analyses():
    pr = HierarchicalPrior(p_ex=0.0, nex_mean=-1.0, nex_sd=1.5)
    fit = hierarchical_orr(DATA, model="exnex", prior=pr)
    sep = [_quad_posterior_mean(y, n, pr.nex_mean, pr.nex_sd) for _, n, y in DATA]
    np.testing.assert_allclose(fit.post_mean, sep, atol=1e-3)
    assert np.all(fit.prob_ex == 0)
    # the equal-tailed interval of a separate analysis: quantiles by quadrature
    _, n0, y0 = DATA[0]
    cdf = integrate.quad(
        lambda t: stats.binom.pmf(y0, n0, special.expit(t)) * stats.norm.pdf(t, -1.0, 1.5),
        -20, special.logit(fit.lower[0]),
    )[0] / integrate.quad(
        lambda t: stats.binom.pmf(y0, n0, special.expit(t)) * stats.norm.pdf(t, -1.0, 1.5), -20, 20
    )[0]
    assert cdf == pytest.approx(0.025, abs=2e-3)


def test_exchangeable_shrinks_towards_the_pooled_mean():
    fit = hierarchical_orr(DATA, model="exchangeable")
    t = fit.table()
    dist_raw = np.abs(t.raw_orr - fit.pooled_mean)
    dist_post = np.abs(t.post_mean - fit.pooled_mean)
    assert np.all(dist_post <= dist_raw + 2e-3)
    far = dist_raw > 0.05  # cohorts away from the centre move towards it
    assert far.sum() == 3 and np.all((t.shrinkage[far] > 0.2) & (t.shrinkage[far] < 1))
    assert fit.table().prob_ex.eq(1.0).all()
    ex = hierarchical_orr(DATA, model="exnex")
    # the outlying cohort (NSCLC 8/20) is the least likely to be exchangeable
    assert ex.table().set_index("cohort").prob_ex.idxmin() == "NSCLC"


def test_hierarchical_bad_input():
    with pytest.raises(ValueError, match="at least 2 cohorts"):
        hierarchical_orr([("A", 10, 2)])
    with pytest.raises(ValueError, match="responders <= n"):
        hierarchical_orr([("A", 10, 12), ("B", 10, 2)])
    with pytest.raises(ValueError, match="model"):
        hierarchical_orr(DATA, model="pooled")
    with pytest.raises(ValueError, match="p_ex"):
        HierarchicalPrior(p_ex=1.5)


@pytest.mark.mcmc
@pytest.mark.parametrize(
    "model", ["exchangeable", pytest.param("exnex", marks=pytest.mark.slow)]
)  # EXNEX NUTS takes 10-80 s on the shared machine: run with --run-slow
def test_pymc_matches_grid(model):
    import warnings

    grid = hierarchical_orr(DATA, model=model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mc = hierarchical_orr(DATA, model=model, engine="pymc", draws=600, tune=600, chains=2,
                              random_seed=3)  # fmt: skip
    se = np.asarray(mc.diagnostics["mcse_post_mean"])
    # posterior means within 4 Monte Carlo SEs (+ 0.003 for the grid)
    assert np.all(np.abs(mc.post_mean - grid.post_mean) < 4 * se + 3e-3), (mc.post_mean, grid.post_mean, se)
    if model == "exnex":
        assert np.all(np.abs(mc.prob_ex - grid.prob_ex) < 0.06)
    assert mc.diagnostics["divergences"] <= 5


# -- PR against the sum of diameters (RECIST 1.1: >= 30 % decrease from baseline) ---------
@pytest.mark.parametrize(
    ("sods", "match"),
    [
        ([55.0, 30.0], r"row 1 \(subject 'S'\) field 'sum_diameters': PR on day 43 but the sum of "
                       r"diameters 55 mm is \+10% from the baseline 50 mm"),
        ([30.0, 40.0], r"row 2 \(subject 'S'\) field 'sum_diameters': PR on day 85 but the sum of "
                       r"diameters 40 mm is -20% from the baseline 50 mm"),
    ],
    ids=["increase", "decrease_below_30"],
)
def test_pr_contradicting_the_sum_of_diameters_is_an_error(sods, match):
    with pytest.raises(ValueError, match=match):
        response.validate_responses(visits("S", [43, 85], ["PR", "PR"], sods=sods))


def test_pr_contradiction_in_an_edited_validated_frame_is_still_an_error():
    v = response.validate_responses(visits("S", [43, 85], ["PR", "PR"]))
    v.loc[2, "sum_diameters"] = 49.0
    with pytest.raises(ValueError, match=r"row 2 \(subject 'S'\) field 'sum_diameters': PR on day 85"):
        response.best_overall_response(v)


def test_pr_at_exactly_30_percent_and_zero_baseline():
    b = response.best_overall_response(visits("S", [43, 85], ["PR", "PR"], sods=[35.0, 30.0]))
    assert b.table.bor.iat[0] == "PR" and b.table.best_pct_change.iat[0] == pytest.approx(-40.0)
    assert b.flags.empty
    # baseline sum 0: nothing to shrink, a PR contradicts it
    v = visits("S", [43, 85], ["PR", "PR"], sods=[0.0, 0.0])
    v.loc[0, "sum_diameters"] = 0.0
    with pytest.raises(ValueError, match=r"row 1 .*field 'sum_diameters': PR on day 43 but the "
                                         r"baseline sum of diameters is 0 mm"):
        response.validate_responses(v)


def test_pr_without_baseline_or_visit_sum_is_flagged():
    # no baseline row at all
    v = visits("A", [43, 85], ["PR", "PR"], sods=[30.0, 30.0]).iloc[1:]
    # a blank baseline sum
    w = visits("B", [43, 85], ["PR", "SD"], sods=[30.0, 30.0])
    w.loc[0, "sum_diameters"] = np.nan
    # the PR visit's own sum blank (baseline present)
    x = visits("C", [43, 85], ["SD", "PR"], sods=[30.0, np.nan])
    b = response.best_overall_response(pd.concat([v, w, x], ignore_index=True))
    assert b.flags[["source_row", "subject", "day", "response"]].values.tolist() == [
        ["row 0", "A", 43, "PR"], ["row 1", "A", 85, "PR"], ["row 3", "B", 43, "PR"],
        ["row 7", "C", 85, "PR"],
    ]  # fmt: skip
    assert b.flags.reason.tolist() == [
        "PR not checked against the sum of diameters: no baseline row",
        "PR not checked against the sum of diameters: no baseline row",
        "PR not checked against the sum of diameters: baseline sum of diameters blank",
        "PR not checked against the sum of diameters: sum of diameters blank at this visit",
    ]
    # the BORs themselves are unchanged (the investigator's responses are used, flagged)
    assert b.table.set_index("subject").bor.to_dict() == {"A": "PR", "B": "SD", "C": "SD"}


def test_listing_pr_contradiction_names_line_subject_field(tmp_path):
    raw = pd.read_csv(ROOT / "src/bayes_dose/data/bat6021_response.csv", dtype=str,
                      keep_default_na=False)  # fmt: skip
    i = int(np.nonzero((raw["OVRLRESP"] == "PR").to_numpy())[0][0])
    sid = raw.USUBJID[i]
    base = float(raw.SUMDIAM[(raw.USUBJID == sid) & (raw.ADY.astype(int) <= 1)].iloc[-1])
    bad = raw.copy()
    bad.loc[i, "SUMDIAM"] = f"{base + 5:g}"
    p = tmp_path / "resp.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(ValueError, match=rf"line {i + 2} \(subject '{sid}'\) field 'SUMDIAM': PR "
                                         rf"on day {raw.ADY[i]} but the sum of diameters"):
        response.read_response_listing(p)


def test_bundled_listing_has_no_flagged_pr():
    b = response.best_overall_response(response.bundled_response_listing())
    assert list(b.flags.columns) == ["source_row", "subject", "day", "response", "reason"]
    assert b.flags.empty
    from bayes_dose.workflows import response_tables

    tables, _, _ = response_tables()
    assert tables["flagged records"].empty


def test_pr_just_short_of_30_percent_is_not_shown_as_30():
    """A PR 29.996 % below baseline is refused, and the message shows a figure that differs
    from the 30 % it needs (rounded to -30 % it contradicted itself)."""
    v = visits("S", [43, 85], ["PR", "PR"], [175.01, 175.01])
    v.loc[0, "sum_diameters"] = 250.0
    with pytest.raises(ValueError, match=r"-29\.996% from the baseline 250 mm"):
        response.validate_responses(v)
    ok = visits("S", [43, 85], ["PR", "PR"], [175.0, 175.0])
    ok.loc[0, "sum_diameters"] = 250.0
    assert len(response.validate_responses(ok)) == 3  # exactly 30 %: a PR


def test_negative_or_text_sum_in_an_edited_validated_frame_is_an_error():
    """best_overall_response re-checks the sums of a validated, then edited frame: a baseline
    of -50 and a PR of -20 are not a -60 % decrease."""
    v = response.validate_responses(visits("S", [43, 85], ["PR", "PR"]))
    v.loc[0, "sum_diameters"] = -50.0
    v.loc[1, "sum_diameters"] = -20.0
    with pytest.raises(ValueError, match=r"^row 0 \(subject 'S'\) field 'sum_diameters': must be "
                                         r"a non-negative number, got -50"):
        response.best_overall_response(v)
    w = response.validate_responses(visits("S", [43, 85], ["PR", "PR"]))
    w["sum_diameters"] = w["sum_diameters"].astype(object)
    w.loc[2, "sum_diameters"] = "thirty"
    with pytest.raises(ValueError, match=r"^row 2 \(subject 'S'\) field 'sum_diameters': must be "
                                         r"a non-negative number, got 'thirty'"):
        response.best_overall_response(w)
    # the same refusal, with the same wording, when the frame is validated
    with pytest.raises(ValueError, match=r"^data: row 0 \(subject 'S'\) field 'sum_diameters': "
                                         r"must be a non-negative number, got -50"):
        response.validate_responses(v.drop(columns="source_row"))


def test_uncheckable_pr_that_is_excluded_is_not_flagged():
    """A PR after progression is not used for the best response (listed in excluded): it is
    not flagged as 'used as recorded' when its sum is blank; a used one still is."""
    v = visits("S", [43, 85, 127], ["PD", "PR", "PR"], sods=[60.0, np.nan, 20.0])
    w = visits("T", [43, 85], ["PR", "PD"], sods=[np.nan, 60.0])
    b = response.best_overall_response(pd.concat([v, w], ignore_index=True))
    assert b.excluded.source_row.tolist() == ["row 2", "row 3"]
    assert b.flags[["source_row", "subject", "day"]].values.tolist() == [["row 5", "T", 43]]
    assert not set(b.flags.source_row) & set(b.excluded.source_row)
