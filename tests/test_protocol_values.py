"""A protocol's numbers are taken only as what they are: in a TOML file
``dlt_window_days = true`` became a 1-day window (0 DLTs instead of 5 on the bundled
listings), ``21.9`` became 21, a NaN dose reached the BLRM, and ``MTDRule(min_patients=True)``
needed one patient."""

from __future__ import annotations

import dataclasses

import pytest

import bayes_dose as bd

PROTO = bd.protocols.bat6021()


def _with(**fields):
    data = PROTO.to_dict()
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dlt_window_days": True}, r"field 'dlt_window_days' must be a finite number > 0, got True"),
        ({"dlt_window_days": 0}, r"field 'dlt_window_days' must be a finite number > 0, got 0"),
        ({"dlt_window_days": "21"}, r"field 'dlt_window_days' must be a finite number > 0, got '21'"),
        ({"cycle_days": -1}, r"field 'cycle_days' must be a whole number >= 1, got -1"),
        ({"titration_levels": 2.9}, r"field 'titration_levels' must be a whole number >= 0, got 2\.9"),
        ({"mtd_rule": {"max_dlt_fraction": "1/6", "min_patients": 6.7}},
         r"MTDRule: min_patients must be a whole number >= 1, got 6\.7"),
        ({"mtd_rule": {"max_dlt_fraction": "1/6", "min_patients": "6"}},
         r"MTDRule: min_patients must be a whole number >= 1, got '6'"),
    ],
)
def test_protocol_fields_from_data_are_not_coerced(fields, message):
    with pytest.raises(ValueError, match=message):
        bd.Protocol.from_dict(_with(**fields))


def test_a_boolean_window_in_a_toml_file_is_an_error_not_a_one_day_window(tmp_path):
    path = PROTO.to_toml(tmp_path / "p.toml")
    text = path.read_text().replace("dlt_window_days = 21", "dlt_window_days = true")
    assert "dlt_window_days = true" in text
    path.write_text(text)
    with pytest.raises(ValueError, match="field 'dlt_window_days' must be a finite number > 0"):
        bd.Protocol.from_toml(path)


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        ({"doses_mg": (1.0, float("nan"), 3.0)}, r"field 'doses_mg' must hold positive finite doses"),
        ({"doses_mg": (1.0, 3.0, float("inf"))}, r"field 'doses_mg' must hold positive finite doses"),
        ({"doses_mg": ("1", "2")}, r"field 'doses_mg' must hold positive finite doses"),
        ({"doses_mg": (3.0, 1.0)}, r"field 'doses_mg' must increase"),
        ({"start_level": 1.5}, r"field 'start_level' must be a whole number in \[1, 3\], got 1\.5"),
        ({"start_level": True}, r"field 'start_level' must be a whole number in \[1, 3\], got True"),
        ({"name": 5}, r"Arm: field 'name' must be a non-empty string, got 5"),
        ({"assumptions": "abc"}, r"field 'assumptions' must be a list of texts, got 'abc'"),
        ({"partner": 200}, r"field 'partner' must be a text or None, got 200"),
    ],
)
def test_arm_fields_are_checked(arm, message):
    base = {"name": "m", "label": "m", "doses_mg": (1.0, 3.0, 10.0)}
    with pytest.raises(ValueError, match=message):
        bd.Arm(**{**base, **arm})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dlt_window_days": float("nan")}, r"field 'dlt_window_days' must be a finite number > 0"),
        ({"dlt_window_days": float("inf")}, r"field 'dlt_window_days' must be a finite number > 0"),
        ({"cycle_days": 0}, r"field 'cycle_days' must be a whole number >= 1"),
        ({"titration_levels": 1.5}, r"field 'titration_levels' must be a whole number >= 0"),
    ],
)
def test_protocol_constructor_checks_its_numbers(fields, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(PROTO, **fields)


@pytest.mark.parametrize("bad", [True, 5.5, 0, "6"])
def test_mtd_rule_needs_a_whole_number_of_patients(bad):
    with pytest.raises(ValueError, match="MTDRule: min_patients must be a whole number >= 1"):
        bd.MTDRule(min_patients=bad)


def test_whole_floats_are_taken_and_the_bundled_protocol_round_trips():
    again = bd.Protocol.from_dict(PROTO.to_dict())
    assert again == PROTO
    p = dataclasses.replace(PROTO, dlt_window_days=28.0, cycle_days=28.0)
    assert type(p.dlt_window_days) is int and p.dlt_window_days == 28
    assert dataclasses.replace(PROTO, dlt_window_days=30.4375).dlt_window_days == 30.4375
    assert bd.MTDRule(min_patients=6.0).min_patients == 6
    arm = bd.Arm("m", "m", [1, 3, 10], start_level=2.0)
    assert arm.doses_mg == (1.0, 3.0, 10.0) and type(arm.start_level) is int
