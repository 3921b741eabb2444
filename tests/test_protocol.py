"""Protocol: BAT6021 facts from the seed text, validation, TOML round trip."""

from __future__ import annotations

from fractions import Fraction

import pytest

import bayes_dose as bd


def test_bat6021_facts_from_the_protocol_text():
    p = bd.protocols.bat6021()
    assert p.arm_names == ("mono", "combo")
    assert p.arm("mono").doses_mg == (1, 3, 10, 30, 100, 300, 600, 900)
    assert p.arm("mono").start_level == 1
    assert p.dlt_window_days == 21 and p.cycle_days == 21
    assert p.titration_levels == 3
    assert p.mtd_rule.max_dlt_fraction == Fraction(1, 6) and p.mtd_rule.min_patients == 6
    assert p.staggering.hours_between_patients == 24
    assert p.staggering.days_after_first_patient == 7
    assert p.staggering.complete_window_before_next_group
    combo = p.arm("combo")
    assert combo.partner == "tislelizumab 200 mg IV Q3W"
    assert combo.doses_mg == (30, 100, 300, 600, 900)
    # the combination levels are an assumption and every summary shows it
    assert combo.assumptions and "assumption" in p.summary()


def test_mtd_rule():
    rule = bd.MTDRule()
    assert rule.acceptable(6, 1)
    assert not rule.acceptable(6, 2)
    assert not rule.acceptable(3, 0)  # needs at least 6 patients
    assert rule.acceptable(12, 2)
    # the rule a real consumer uses: the 3+3's MTD below a level with 2+ DLTs
    out = bd.Outcomes.parse("1NNN 2NNN 2NTN 3TTN")  # 1/6 at level 2, 2/3 above
    assert bd.ThreePlusThree(5, mtd_rule=rule).fit(out).mtd == 2  # 1/6 <= 1/6
    assert bd.ThreePlusThree(5, mtd_rule=bd.MTDRule(Fraction(1, 10), 6)).fit(out).mtd is None
    assert bd.ThreePlusThree(5, mtd_rule=bd.MTDRule(Fraction(1, 6), 9)).fit(out).mtd is None


def test_toml_round_trip(tmp_path):
    p = bd.protocols.bat6021()
    path = p.to_toml(tmp_path / "p.toml")
    q = bd.Protocol.from_toml(path)
    assert q == p


def test_user_protocol_from_toml(tmp_path):
    (tmp_path / "mine.toml").write_text(
        'name = "X"\ndrug = "Y"\ndlt_window_days = 28\n'
        '[[arms]]\nname = "a"\nlabel = "A"\ndoses_mg = [5, 10, 20]\n'
    )
    p = bd.Protocol.from_toml(tmp_path / "mine.toml")
    assert p.arm("a").n_doses == 3 and p.arm("a").level_of(10) == 2
    assert p.dlt_window_days == 28


def test_protocol_needs_its_dlt_window_and_known_table_fields():
    # a trial fact: no silent 21-day default (audit finding 6)
    d = bd.protocols.bat6021().to_dict()
    with pytest.raises(ValueError, match="missing field 'dlt_window_days'"):
        bd.Protocol.from_dict({k: v for k, v in d.items() if k != "dlt_window_days"})
    # a misspelt key of [mtd_rule] used to fall back to the 1/6, 6 default
    bad = {**d, "mtd_rule": {"max_dlt_fractoin": "1/3", "min_patients": 6}}
    with pytest.raises(ValueError, match=r"\[mtd_rule\] has unknown field\(s\) \['max_dlt_fractoin'\]"):
        bd.Protocol.from_dict(bad)
    with pytest.raises(ValueError, match=r"\[staggering\] has unknown field"):
        bd.Protocol.from_dict({**d, "staggering": {"hours_between_patient": 24}})
    with pytest.raises(ValueError, match="'mtd_rule' must be a table"):
        bd.Protocol.from_dict({**d, "mtd_rule": "1/6"})
    with pytest.raises(ValueError, match="'arms' must be a list"):
        bd.Protocol.from_dict({**d, "arms": 5})
    with pytest.raises(ValueError, match=r"arms\[0\] must be a table"):
        bd.Protocol.from_dict({**d, "arms": ["mono"]})
    # the bundled protocol round-trips unchanged
    assert bd.Protocol.from_dict(d) == bd.protocols.bat6021()


@pytest.mark.parametrize(
    ("doses", "message"),
    [((), "at least one dose"), ((1, 1), "must increase"), ((0, 1), "positive")],
)
def test_bad_arm(doses, message):
    with pytest.raises(ValueError, match=message):
        bd.Arm("a", "A", doses)


def test_unknown_arm_and_field():
    p = bd.protocols.bat6021()
    with pytest.raises(ValueError, match="no arm 'triple'"):
        p.arm("triple")
    with pytest.raises(ValueError, match="unknown field"):
        bd.Protocol.from_dict({**p.to_dict(), "colour": "red"})
