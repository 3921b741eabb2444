"""The design memo a statistician signs: structure, one meaning per number, provisional
MTDs, the protocol's MTD rule, get.oc-layout OC tables, extra sections, empty arms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import bayes_dose as bd
from bayes_dose import cli
from bayes_dose.compare import Comparison, overdose_definition, p_dlt_above
from bayes_dose.oc_tables import get_oc_table, oc_summary_table
from bayes_dose.protocol import MTDRule
from bayes_dose.report import mtd_rule_check, recommendation_table

COMBO = "1NNN 2NNN 3TNN 3NTN 2NNN"  # 2/6 at level 3, then 0/6 at level 2 (3+3 stops)


@pytest.fixture(scope="module")
def crafted():
    proto = bd.protocols.bat6021()
    designs = {
        "3+3": bd.ThreePlusThree(5),
        "BOIN": bd.BOIN(target=0.25, n_doses=5, max_n=30),
        "CRM": bd.CRM(bd.crm_skeleton(target=0.25, halfwidth=0.05, mtd_guess=3, n_doses=5),
                      target=0.25, max_n=30),
        "BLRM": bd.BLRM((30, 100, 300, 600, 900), reference_dose=300, max_n=30),
    }  # fmt: skip
    cmp = bd.compare(designs, {"combo": bd.Outcomes.parse(COMBO, arm="combo")})
    rep = bd.report(cmp, protocol=proto, target=0.25, data_cutoff="2026-11-30")
    return cmp, rep, proto


def _md_table(md: str, first_header: str) -> pd.DataFrame:
    """The first Markdown table whose header starts with ``first_header``."""
    lines = md.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"| {first_header} |"))
    rows = []
    for ln in lines[start:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split(" | ")])
    return pd.DataFrame(rows[2:], columns=rows[0])


def test_manifest_is_an_appendix_not_the_body(crafted):
    _, rep, _ = crafted
    md = rep.markdown
    assert '"dependencies"' not in md and "```json" not in md
    assert md.index("## Appendix: manifest") > md.index("## MCMC diagnostics")
    assert "manifest.json" in md
    json_lines = [ln for ln in md.splitlines() if re.match(r'^\s*"[\w\[\]]+": ', ln)]
    assert json_lines == []
    # HTML: the full manifest only inside the appendix, folded
    html = rep.html
    assert html.index('id="manifest-json"') > html.index("<h2>Appendix: manifest</h2>")
    assert html.count("&#34;dependencies&#34;") == 1 and '"dependencies"' not in html


def test_body_has_title_date_cutoff_and_no_python_hints(crafted):
    _, rep, _ = crafted
    head = rep.markdown.splitlines()[:3]
    assert head[0] == "# Dose-finding design memo"
    assert re.match(r"Date: \d{4}-\d{2}-\d{2}\. Data cut-off: 2026-11-30\.", head[2])
    for hint in ("mono_data=", "CombinationBLRM(", "outcomes.arm(", "next_dose", "mtd_label",
                 "p_overdose_rp2d", "max_abs_diff"):  # fmt: skip
        assert hint not in rep.markdown, hint
    # agreement in words as well as colour
    assert "**Disagrees**: [combo] BOIN recommends level 3" in rep.markdown
    assert '<li class="disagree"><b>Disagrees:</b>' in rep.html


def test_overdose_headers_carry_thresholds_and_one_cut(crafted):
    cmp, rep, proto = crafted
    t = _md_table(rep.markdown.split("## Recommendations per arm")[1], "Design")
    common = "P(DLT rate > 0.33) at RP2D"
    own = "P(DLT rate > 0.25) at RP2D (design's own overdose cut)"
    assert common in t.columns and own in t.columns
    assert "p_overdose_rp2d" not in t.columns
    row = t.set_index("Design")
    # the 3+3 has no posterior: no overdose probability at all
    assert row.loc["3+3", common] == "–" and row.loc["3+3", own] == "–"
    # BLRM's own cut is the common one: its own metric sits in the common column only
    tab = cmp.table().set_index("design")
    assert row.loc["BLRM", own] == "–"
    assert float(row.loc["BLRM", common]) == pytest.approx(tab.loc["BLRM", "p_overdose_rp2d"],
                                                           abs=5e-4)  # fmt: skip
    # BOIN and CRM: their own P(p > 0.25) in its column, P(p > 0.33) in the common one
    for name in ("BOIN", "CRM"):
        assert float(row.loc[name, own]) == pytest.approx(tab.loc[name, "p_overdose_rp2d"],
                                                          abs=5e-4)  # fmt: skip
        assert float(row.loc[name, common]) < float(row.loc[name, own])
    # configurable cut
    rep2 = bd.report(cmp, protocol=proto, overdose_cut=0.3)
    assert "P(DLT rate > 0.3) at RP2D" in rep2.markdown
    with pytest.raises(ValueError, match="overdose_cut"):
        bd.report(cmp, overdose_cut=1.5)


def test_common_cut_equals_independent_posteriors():
    out = bd.Outcomes.parse("1NNN 2NNT")
    skel = (0.05, 0.12, 0.25, 0.4)
    designs = {"BOIN": bd.BOIN(target=0.25, n_doses=4), "CRM": bd.CRM(skel, target=0.25)}
    cmp = bd.compare(designs, {"mono": out})
    # BOIN: Beta(y + 0.05, n - y + 0.05) per dose (monotone here: no isotonic pooling)
    assert p_dlt_above(cmp, "mono", "BOIN", 2, 0.4) == pytest.approx(
        stats.beta.sf(0.4, 1.05, 2.05), abs=1e-12
    )
    assert overdose_definition(cmp.fits[("mono", "BOIN")]) == (">", 0.25)
    # CRM (empiric, beta ~ N(0, sd^2)): P(s_2^exp(b) > c) = P(b < log(log c / log s_2))
    crm = designs["CRM"]
    sd = crm.prior_sd
    n, y = np.array([3, 3, 0, 0]), np.array([0, 1, 0, 0])

    def post(b):
        p = np.asarray(skel) ** np.exp(b)
        return stats.norm.pdf(b, 0, sd) * np.prod(p**y * (1 - p) ** (n - y))

    z = integrate.quad(post, -12, 12, epsabs=1e-13)[0]
    for cut in (0.25, 0.4):
        b_cut = np.log(np.log(cut) / np.log(skel[1]))
        want = integrate.quad(post, -12, b_cut, epsabs=1e-13)[0] / z
        # the CRM grid engine (step 0.02 in beta) is within 1e-4 of adaptive quadrature
        assert p_dlt_above(cmp, "mono", "CRM", 2, cut) == pytest.approx(want, abs=1e-4)


def test_blrm_common_cut_is_its_own_metric_at_that_cut():
    doses = (10, 30, 100, 300)
    out = bd.Outcomes.parse("1NNN 2NNN 3NTN")
    cmp = bd.compare({"BLRM": bd.BLRM(doses, reference_dose=100)}, {"mono": out})
    other = bd.BLRM(doses, reference_dose=100, target_interval=(0.16, 0.4)).fit(out)
    want = float(other.interval_probs.sel(category="over").to_numpy()[2])
    assert p_dlt_above(cmp, "mono", "BLRM", 3, 0.4) == pytest.approx(want, abs=1e-12)
    assert overdose_definition(cmp.fits[("mono", "BLRM")]) == (">=", 0.33)


def test_provisional_and_final_labels(crafted):
    cmp, _rep, proto = crafted
    t, notes = recommendation_table(cmp, "combo", 0.33, proto)
    row = t.set_index("Design")
    assert cmp.fits[("combo", "3+3")].stop
    assert row.loc["3+3", "MTD / MAD"] == "MTD level 2, final"
    for name in ("BOIN", "CRM", "BLRM"):
        assert not cmp.fits[("combo", name)].stop
        assert row.loc[name, "MTD / MAD"].endswith(", provisional")
        assert row.loc[name, "RP2D"].endswith(", provisional")
    assert "Provisional: BOIN, CRM, BLRM have not stopped" in " ".join(notes)


def test_protocol_mtd_rule_note_on_crafted_case(crafted):
    cmp, rep, proto = crafted
    assert proto.mtd_rule == MTDRule()  # <= 1/6 DLTs in >= 6 patients
    assert cmp.table().set_index("design").loc["BOIN", "rp2d"] == 3  # 2/6 DLTs there
    t, notes = recommendation_table(cmp, "combo", 0.33, proto)
    col = "Protocol MTD rule at RP2D (<= 1/6 DLTs in >= 6 patients)"
    row = t.set_index("Design")
    assert row.loc["BOIN", col].startswith("BREAKS the protocol's MTD rule: 2/6 DLTs > 1/6")
    assert row.loc["3+3", col] == "meets the protocol's MTD rule (0/6)"
    note = "BOIN recommends level 3: this BREAKS the protocol's MTD rule: 2/6 DLTs > 1/6"
    assert any(n.startswith(note) for n in notes)
    summary = rep.markdown.split("## Summary")[1].split("## Protocol")[0]
    assert f"Arm combo: {note}" in summary
    # without a protocol there is no rule to check
    t2, _ = recommendation_table(cmp, "combo", 0.33, None)
    assert not any(c.startswith("Protocol MTD rule") for c in t2.columns)


def test_mtd_rule_check_cases():
    rule = MTDRule()
    assert mtd_rule_check(rule, 6, 1, True) == "meets the protocol's MTD rule (1/6)"
    assert mtd_rule_check(rule, 6, 2, False).startswith("BREAKS the protocol's MTD rule: 2/6")
    assert mtd_rule_check(rule, 3, 0, True).startswith("BREAKS the protocol's MTD rule: only 3")
    assert mtd_rule_check(rule, 3, 0, False).startswith("not yet assessable: 0/3")
    assert mtd_rule_check(rule, 12, 2, True) == "meets the protocol's MTD rule (2/12)"


@pytest.fixture(scope="module")
def sims():
    designs = {"3+3": bd.ThreePlusThree(5), "BOIN": bd.BOIN(target=0.3, n_doses=5, max_n=24)}
    scen = {"mid": [0.05, 0.15, 0.3, 0.45, 0.6], "toxic": [0.5, 0.6, 0.7, 0.8, 0.9]}
    return bd.simulate(designs, scenarios=scen, n_trials=300, seed=5, progress=False)


def test_get_oc_layout_equals_operating_characteristics(sims):
    oc = bd.operating_characteristics(sims, target=0.3)
    for sc in ("mid", "toxic"):
        t = get_oc_table(oc, sc)
        levels = [c for c in t.columns if c.startswith("L")]
        assert len(levels) == 5 and list(t.columns[-2:]) == ["none", "total"]
        true = t[t["quantity"] == "True DLT rate"].iloc[0]
        np.testing.assert_array_equal(true[levels].to_numpy(float),
                                      oc["true_tox"].sel(scenario=sc).to_numpy())  # fmt: skip
        for d in ("3+3", "BOIN"):
            o = oc.sel(scenario=sc, design=d)
            rows = t[t["design"] == d].set_index("quantity")
            sel = rows.loc["Selection (%)"]
            np.testing.assert_allclose(sel[levels].to_numpy(float),
                                       100 * o["p_select"].to_numpy(), rtol=0, atol=1e-12)  # fmt: skip
            assert sel["none"] == pytest.approx(100 * float(o["p_none"]), abs=1e-12)
            assert sel[[*levels, "none"]].sum() == pytest.approx(100, abs=1e-9)
            pat = rows.loc["Mean patients"]
            np.testing.assert_allclose(pat[levels].to_numpy(float), o["mean_n"].to_numpy())
            assert pat["total"] == pytest.approx(float(o["mean_total_n"]))
            dl = rows.loc["Mean DLTs"]
            np.testing.assert_allclose(dl[levels].to_numpy(float), o["mean_dlt"].to_numpy())
            assert dl["total"] == pytest.approx(float(o["mean_total_dlt"]))
    s = oc_summary_table(oc, "toxic", bd.overdose_risk_planned(sims, target=0.3)).set_index(
        "design"
    )
    assert s.loc["BOIN", "true MTD"] == 0  # every level exceeds 0.3 + 0.1: correct = none
    assert s.loc["BOIN", "early stop"] == pytest.approx(
        100 * float(oc["p_none"].sel(scenario="toxic", design="BOIN"))
    )
    assert s.loc["BOIN", "correct"] == s.loc["BOIN", "early stop"]


def test_r_boin_overdose_risk_independent(sims):
    r = bd.overdose_risk_planned(sims, target=0.3)
    n = sims["n"].to_numpy()
    tox = sims["true_tox"].to_numpy()
    designs = [str(d) for d in sims["design"].to_numpy()]
    g = designs.index("BOIN")
    assert float(r["planned_n"].sel(design="BOIN")) == 24
    assert np.isnan(float(r["planned_n"].sel(design="3+3")))  # no planned maximum
    assert np.isnan(r["p_overdose_planned_60"].sel(design="3+3").to_numpy()).all()
    for s in range(2):
        above = tox[s] > 0.3
        n_above = n[g, s][:, above].sum(axis=1)
        for share in (60, 80):
            want = np.mean(n_above > share / 100 * 24)
            got = float(r[f"p_overdose_planned_{share}"].isel(design=g, scenario=s))
            assert got == want


def test_memo_oc_section_get_oc_layout_and_missing_design(sims):
    designs = {"3+3": bd.ThreePlusThree(5), "BOIN": bd.BOIN(target=0.3, n_doses=5, max_n=24),
               "CRM": bd.CRM((0.05, 0.12, 0.3, 0.45, 0.6), target=0.3, max_n=24)}  # fmt: skip
    cmp = bd.compare(designs, {"mono": bd.Outcomes.parse("1NNN 2NNT")})
    rep = bd.report(cmp, simulation={"mono": sims}, target=0.3,
                    not_simulated={"CRM": "left out for this test"})  # fmt: skip
    md = rep.markdown
    assert "Not simulated: CRM (left out for this test)." in md
    oc = bd.operating_characteristics(sims, target=0.3)
    t = _md_table(md.split("#### Scenario mid")[1], "Design")
    assert list(t.columns[2:]) == ["L1", "L2", "L3", "L4", "L5", "none", "total"]
    boin = t.index[t["Design"] == "BOIN"][0]
    want = 100 * oc["p_select"].sel(scenario="mid", design="BOIN").to_numpy()
    assert [float(x) for x in t.iloc[boin, 2:7]] == [round(v, 1) for v in want]
    assert "R BOIN get.oc's definition" in md and "planned maximum sample size" in md
    assert "at least 60% (80%) of their own patients at doses above the true MTD" in md


class _Section:
    title = "RP2D synthesis"

    def to_markdown(self) -> str:
        return "Efficacy and PK point to level 2."

    def to_html(self) -> str:
        return "<p>Efficacy and <b>PK</b> point to level 2.</p>"


def test_extra_sections(crafted):
    cmp, _, proto = crafted
    rep = bd.report(cmp, protocol=proto, sections=[_Section()])
    md = rep.markdown
    assert "## RP2D synthesis\n\nEfficacy and PK point to level 2." in md
    assert md.index("## RP2D synthesis") > md.index("## Operating characteristics")
    assert md.index("## RP2D synthesis") < md.index("## Appendix: manifest")
    assert '<section id="extra-1">' in rep.html and "<b>PK</b>" in rep.html
    assert '<a href="#extra-1">RP2D synthesis</a>' in rep.html
    with pytest.raises(ValueError, match=r"sections\[0\].*to_html"):
        bd.report(cmp, sections=[object()])


def test_hold_pending_unknown_columns_when_present(crafted, monkeypatch):
    cmp, _, proto = crafted
    base = Comparison.table

    def with_hold(self):
        df = base(self)
        df["hold"] = df["design"] == "BOIN"
        df["pending"] = np.where(df["design"] == "BOIN", "P07, P08", "")
        df["unknown"] = np.where(df["design"] == "BOIN", "P09", "")
        return df

    monkeypatch.setattr(Comparison, "table", with_hold)
    t, _notes = recommendation_table(cmp, "combo", 0.33, proto)
    row = t.set_index("Design")
    assert row.loc["BOIN", "Decision"] == "hold"
    assert row.loc["BOIN", "Pending patients"] == "P07, P08"
    assert row.loc["BOIN", "Unknown DLT status"] == "P09"
    assert row.loc["BOIN", "MTD / MAD"].endswith("provisional")
    assert row.loc["3+3", "Pending patients"] == ""


def test_followup_sentence():
    cmp = bd.compare({"3+3": bd.ThreePlusThree(4)}, {"mono": bd.Outcomes.parse("1NNN 2NTT")})
    sentence = "The data have no follow-up column: every patient's follow-up was taken as complete"
    assert sentence in bd.report(cmp).markdown
    out = bd.examples.bat6021_outcomes().arm("mono")
    cmp2 = bd.compare({"3+3": bd.ThreePlusThree(8, titration_levels=3)}, {"mono": out})
    assert sentence not in bd.report(cmp2).markdown


def test_zero_patient_arm_compare_shadow_report():
    empty = bd.Outcomes.from_frame(bd.examples.bat6021_frame().iloc[:0])
    cmp = bd.compare({"3+3": bd.ThreePlusThree(5), "BOIN": bd.BOIN(target=0.25, n_doses=5)},
                     {"combo": empty})  # fmt: skip
    sh = cmp.shadow()
    assert len(sh) == 0 and {"next_dose", "stop", "design"} <= set(sh.columns)
    t = cmp.table().set_index("design")
    assert t.loc["3+3", "next_dose"] == 1 and not t.loc["BOIN", "stop"]
    rep = bd.report(cmp)
    assert "No patients yet." in rep.markdown and "No cohorts yet." in rep.markdown


SPEC = """
protocol = "bat6021"
seed = 3

[designs."3+3"]
type = "ThreePlusThree"
[designs."3+3".mono]
titration_levels = 3

[designs.BOIN]
type = "BOIN"
target = 0.25
max_n = 30

[simulation]
n_trials = 20
[simulation.scenarios.combo]
"MTD at 100 mg" = [0.08, 0.16, 0.33, 0.50, 0.65]
"""


def test_report_on_header_only_csv(tmp_path: Path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    data = tmp_path / "empty.csv"
    bd.examples.bat6021_frame().iloc[:0].to_csv(data, index=False)
    assert data.read_text().count("\n") == 1  # the header only
    out = tmp_path / "memo"
    assert cli.main(["report", "--spec", str(spec), "--data", str(data), "--out", str(out),
                     "--n-trials", "10", "--overdose-cut", "0.3",
                     "--data-cutoff", "2026-12-01"]) == 0  # fmt: skip
    md = (out / "report.md").read_text()
    assert "Data cut-off: 2026-12-01." in md and "P(DLT rate > 0.3) at RP2D" in md
    assert "### Arm mono: 0 patients, 0 DLTs" in md and "No patients yet." in md
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3
    assert pd.read_csv(out / "shadow.csv").empty


def test_boundaries_command_gives_lambda_cutoffs(capsys):
    assert cli.main(["boundaries", "--target", "0.3", "--n-max", "6", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    (lam,) = next(v for k, v in obj.items() if k.startswith("lambda cut-offs"))
    # BOIN (Liu & Yuan 2015) at target 0.3 with the default p.saf/p.tox: 0.236 and 0.358
    assert lam["lambda_e"] == 0.2365 and lam["lambda_d"] == 0.3585
    assert lam["p_saf"] == pytest.approx(0.18) and lam["p_tox"] == pytest.approx(0.42)
    text = obj["protocol text"]
    assert "escalate if p <= 0.236 (lambda_e), de-escalate if p >= 0.359 (lambda_d)" in text
    assert "P(DLT rate > 0.3 | data) > 0.95" in text
