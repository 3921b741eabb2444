"""compare(): recommendations per arm, RP2D rules, agreement and the shadow ledger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pandas as pd
import pytest

import bayes_dose as bd

COLUMNS = ["arm", "design", "next_dose", "stop", "mtd", "rp2d", "reason", "mtd_label",
           "prob_tox_rp2d", "p_overdose_rp2d", "rp2d_reason"]  # fmt: skip


def _two_variants(n=4):
    return {"3+3": bd.ThreePlusThree(n), "3+3 esc": bd.ThreePlusThree(n, variant="escalation_only")}


def test_table_and_disagreement_on_crafted_data():
    # 2/6 at level 2: the de-escalation 3+3 goes back to level 1 to expand it; the
    # escalation-only 3+3 stops with MTD = level 1
    out = bd.Outcomes.parse("1NNN 2NNN 2NTT")
    cmp = bd.compare(_two_variants(), {"mono": out})
    t = cmp.table()
    assert set(COLUMNS) <= set(t.columns)
    r = t.set_index("design")
    assert r.loc["3+3", "next_dose"] == 1 and not r.loc["3+3", "stop"]
    assert pd.isna(r.loc["3+3", "rp2d"])
    assert r.loc["3+3 esc", "stop"] and r.loc["3+3 esc", "mtd"] == 1
    assert r.loc["3+3 esc", "rp2d"] == 1 and r.loc["3+3 esc", "mtd_label"] == "MTD"
    ag = cmp.agreement()
    assert len(ag) == 1 and ag["reference"].iat[0] == "3+3"  # default: the ThreePlusThree
    assert not ag["agree_next"].iat[0]
    assert "3+3 has no RP2D yet" in ag["summary"].iat[0]
    assert "stop vs level 1" in ag["summary"].iat[0]


def test_agreement_level_difference():
    # top dose reached cleanly: MAD = 4 for both; reference by name
    out = bd.Outcomes.parse("1NNN 2NNN 3NNN 4NNN")
    cmp = bd.compare(_two_variants(), {"mono": out}, reference="3+3 esc")
    ag = cmp.agreement()
    assert ag["design"].tolist() == ["3+3"]
    assert ag["agree_rp2d"].iat[0] and ag["level_diff"].iat[0] == 0
    assert cmp.table()["mtd_label"].tolist() == ["MAD", "MAD"]
    # a cap on one design's arm gives a known level difference
    capped = bd.compare(
        {"mono": {"3+3": bd.ThreePlusThree(4), "capped": bd.ThreePlusThree(4)}},
        {"mono": out},
        rp2d_rule=lambda arm, fit, lv: (lv - 2, "two below") if fit.design is not None else None,
    )
    assert capped.table()["rp2d"].tolist() == [2, 2]


def test_rp2d_rule_caps_and_reasons():
    fit = bd.ThreePlusThree(8, titration_levels=3).fit(
        bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NNN 7NTT 6NNN")
    )
    assert fit.mtd == 6
    assert bd.recommend_rp2d(fit, "mono") == (6, "MTD = level 6")
    lv, why = bd.recommend_rp2d(fit, "mono", bd.RP2DRule(max_level=5))
    assert lv == 5 and "protocol's maximum" in why
    lv, why = bd.recommend_rp2d(fit, "mono", bd.RP2DRule(min_level_reaching={"mono": 4}))
    assert lv == 4 and "lowest level reaching" in why
    lv, why = bd.recommend_rp2d(fit, "mono", bd.RP2DRule(min_level_reaching=lambda arm: 7))
    assert lv == 6 and "above it" in why
    with pytest.raises(ValueError, match="at most the MTD"):
        bd.recommend_rp2d(fit, "mono", lambda arm, f, lv: (lv + 1, "too high"))


def test_shadow_ledger_replays_the_protocol_trail():
    out = bd.examples.bat6021_outcomes()
    proto = bd.protocols.bat6021()
    designs = {
        a: {"3+3": bd.ThreePlusThree(proto.arm(a).n_doses, doses_mg=proto.arm(a).doses_mg,
                                     titration_levels=3 if a == "mono" else 0)}
        for a in proto.arm_names
    }  # fmt: skip
    cmp = bd.compare(designs, out)
    sh = cmp.shadow()
    mono = sh[sh["arm"] == "mono"]
    assert len(mono) == 8 and mono["step"].tolist() == list(range(1, 9))
    # the data follow the protocol's 3+3: at every step but the last it gave the next dose
    assert mono["follows"].iloc[:-1].all()
    assert mono["stop"].iloc[-1] and mono["mtd"].iloc[-1] == 6
    assert mono["cohort"].tolist()[:4] == ["1N", "2N", "3N", "4NNN"]
    combo = sh[sh["arm"] == "combo"]
    assert combo["follows"].iloc[:-1].all() and combo["mtd"].iloc[-1] == 2
    t = cmp.table().set_index("arm")
    assert t.loc["mono", "rp2d_mg"] == 300.0 and t.loc["combo", "rp2d_mg"] == 100.0
    assert t.loc["mono", "prob_tox_rp2d"] == pytest.approx(1 / 6)
    assert "<table" in cmp._repr_html_()


def test_bad_input():
    out = bd.Outcomes.parse("1NNN")
    with pytest.raises(ValueError, match="no designs"):
        bd.compare({}, {"mono": out})
    with pytest.raises(ValueError, match="reference design 'BOIN'"):
        bd.compare(_two_variants(), {"mono": out}, reference="BOIN")
    with pytest.raises(ValueError, match="without data"):
        bd.compare({"combo": _two_variants()}, {"mono": out})
    # one design for both BAT6021 arms: the dose grids differ
    both = bd.examples.bat6021_outcomes()
    d = bd.ThreePlusThree(8, doses_mg=bd.protocols.bat6021().arm("mono").doses_mg)
    with pytest.raises(ValueError, match="give designs per arm"):
        bd.compare({"3+3": d}, both)


class _ReadsBothArms(bd.ThreePlusThree):
    """A test double: a design fitted on the dict of all arms (like the combination BLRM)."""

    seen: ClassVar[list] = []
    borrows_from = ("mono",)  # the one predicate compare and simulate read

    def fit(self, outcomes: Mapping[str, bd.Outcomes], engine: str = "grid"):
        type(self).seen.append(tuple(outcomes))
        return super().fit(outcomes["combo"], engine)


def test_design_reading_all_arms_gets_every_arm():
    out = bd.examples.bat6021_outcomes()
    proto = bd.protocols.bat6021()
    c = proto.arm("combo")
    designs = {
        "mono": {"3+3": bd.ThreePlusThree(8, titration_levels=3, doses_mg=proto.arm("mono").doses_mg)},
        "combo": {"3+3": bd.ThreePlusThree(5, doses_mg=c.doses_mg),
                  "both": _ReadsBothArms(5, doses_mg=c.doses_mg)},
    }  # fmt: skip
    _ReadsBothArms.seen.clear()
    cmp = bd.compare(designs, out)
    assert _ReadsBothArms.seen == [("mono", "combo")]
    assert cmp.table().set_index(["arm", "design"]).loc[("combo", "both"), "mtd"] == 2
    cmp.shadow()
    assert len(_ReadsBothArms.seen) == 1 + 5  # one replay per combo cohort, mono data complete


def crafted_boin_vs_3p3() -> tuple[dict, bd.Outcomes]:
    """2/6 at level 3, then 0/6 at level 2: the 3+3 stops with MTD 2; BOIN (target 0.3)
    escalates back to level 3 (0/9 <= its escalation boundary) and selects level 3."""
    designs = {"3+3": bd.ThreePlusThree(5), "BOIN": bd.BOIN(target=0.3, n_doses=5, max_n=30)}
    return designs, bd.Outcomes.parse("1NNN 2NNN 3NNT 3NTN 2NNN 2NNN")


def test_three_plus_three_and_boin_disagree_on_crafted_data():
    designs, out = crafted_boin_vs_3p3()
    cmp = bd.compare(designs, {"mono": out})
    t = cmp.table().set_index("design")
    assert t.loc["3+3", "stop"] and t.loc["3+3", "rp2d"] == 2
    assert not t.loc["BOIN", "stop"] and t.loc["BOIN", "next_dose"] == 3
    assert t.loc["BOIN", "rp2d"] == 3
    # BOIN's estimate at its RP2D: isotonic estimate of 2/6 (BOIN's (y+0.05)/(n+0.1))
    assert t.loc["BOIN", "prob_tox_rp2d"] == pytest.approx(2.05 / 6.1, abs=1e-3)
    ag = cmp.agreement().iloc[0]
    assert not ag["agree_rp2d"] and ag["level_diff"] == 1 and not ag["agree_next"]
    assert "BOIN recommends level 3, 1 level above 3+3 (level 2)" in ag["summary"]
    assert "escalate if DLTs <= 2" in ag["reason"]


def test_rp2d_is_never_an_untried_dose():
    """CRM's MTD estimate may lie above every treated level; the RP2D may not."""
    skel = bd.crm_skeleton(target=0.25, halfwidth=0.05, mtd_guess=3, n_doses=5)
    crm = bd.CRM(skel, target=0.25)
    out = bd.Outcomes.parse("1NNN 2NNN 2NNN")
    cmp = bd.compare({"CRM": crm, "3+3": bd.ThreePlusThree(5)}, {"mono": out})
    row = cmp.table().set_index("design").loc["CRM"]
    assert row["mtd"] > 2  # the model's estimate is above the data
    assert row["rp2d"] == 2 and "highest level given to patients" in row["rp2d_reason"]
