"""bd.Study: compare, simulate, report and provenance of one protocol's designs (issue 11
item 3).  Every result equals the library function it wraps."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.manifest import data_sha256

GRID = (5, 5, 9, 13)  # coarse combination grid: fast


@pytest.fixture(scope="module")
def proto():
    return bd.protocols.bat6021()


@pytest.fixture(scope="module")
def out():
    return bd.examples.bat6021_outcomes()


@pytest.fixture(scope="module")
def designs(proto):
    mono_arm, combo_arm = proto.arm("mono"), proto.arm("combo")
    blrm = bd.BLRM(mono_arm.doses_mg, reference_dose=300, max_n=12)
    return {
        "mono": {"3+3": bd.ThreePlusThree(8, titration_levels=3),
                 "BOIN": bd.BOIN(target=0.25, n_doses=8, max_n=12)},
        "combo": {"3+3": bd.ThreePlusThree(5),
                  "combo BLRM": bd.CombinationBLRM(blrm, doses=combo_arm.doses_mg, grid=GRID,
                                                   max_n=6)},
    }  # fmt: skip


SCENARIOS = {
    "mono": {"rising": [0.01, 0.02, 0.04, 0.08, 0.15, 0.25, 0.4, 0.55]},
    "combo": {"rising": [0.05, 0.1, 0.25, 0.4, 0.55]},
}


@pytest.fixture(scope="module")
def study(proto, designs, out):
    return bd.Study(proto, designs, data=out, scenarios=SCENARIOS, seed=5, n_trials=12)


def test_compare_equals_compare_on_the_bundled_example(study, designs, out):
    """Both arms; the borrowing design (Design.borrows_from) is given every arm's data."""
    got = study.compare().table()
    want = bd.compare(designs, out).table()
    assert list(got["arm"]) == ["mono", "mono", "combo", "combo"]
    assert got.equals(want)
    fit = study.compare().fits[("combo", "combo BLRM")]
    assert fit.prob_tox.to_numpy() == pytest.approx(
        designs["combo"]["combo BLRM"].fit(out).prob_tox.to_numpy(), abs=0)


def test_simulate_equals_simulate_per_arm_and_says_what_was_held_fixed(study, designs, out):
    # programme=False: the observed data held fixed (the default simulates the borrowing
    # design with the mono arm as one programme: tests/test_programme_study.py)
    sims = study.simulate(n_trials=12, seed=5, programme=False)
    assert isinstance(sims, bd.StudySimulation) and list(sims) == ["mono", "combo"]
    xr.testing.assert_equal(
        sims["mono"],
        bd.simulate(designs["mono"], scenarios=SCENARIOS["mono"], n_trials=12, seed=5,
                    progress=False),
    )  # fmt: skip
    # the combination BLRM borrows from the observed monotherapy data, held fixed
    mono = out.arm("mono")
    combo = {**designs["combo"],
             "combo BLRM": designs["combo"]["combo BLRM"].replace(mono_data=mono)}  # fmt: skip
    xr.testing.assert_equal(
        sims["combo"],
        bd.simulate(combo, scenarios=SCENARIOS["combo"], n_trials=12, seed=5, progress=False),
    )
    held = {"source_arm": "mono", "patients": len(mono), "sha256": data_sha256(mono)}
    assert sims.held_fixed == {"combo/combo BLRM": held}
    assert json.loads(sims["combo"].attrs["held_fixed"]) == {"combo BLRM": held}
    assert "held_fixed" not in sims["mono"].attrs
    assert sims.notes == (
        "Simulation of combo BLRM (arm combo): each simulated trial borrows from the "
        f"observed data of arm 'mono' ({len(mono)} patients), held fixed.",
    )
    assert sims.not_simulated == {}
    # the defaults are the study's
    again = study.simulate(arms=["mono"])
    xr.testing.assert_equal(again["mono"], sims["mono"])


def test_a_borrowing_design_without_its_source_data_is_left_out_with_the_reason(
    proto, designs, out
):
    s = bd.Study(proto, {"combo": designs["combo"]}, data={"combo": out.arm("combo")},
                 scenarios={"combo": SCENARIOS["combo"]})  # fmt: skip
    sims = s.simulate(n_trials=4, seed=1)
    assert list(sims["combo"]["design"].to_numpy()) == ["3+3"]
    assert "no 'mono' patients to borrow from" in sims.not_simulated["combo/combo BLRM"]
    # a design holding its own source data is simulated as it is
    stored = designs["combo"]["combo BLRM"].replace(mono_data=out.arm("mono"))
    s2 = bd.Study(proto, {"combo": {"b": stored}}, scenarios={"combo": SCENARIOS["combo"]})
    assert list(s2.simulate(n_trials=3, seed=1)["combo"]["design"].to_numpy()) == ["b"]
    # no scenarios: said so for every design of the arm
    s3 = bd.Study(proto, {"mono": designs["mono"]}, data=out)
    assert s3.simulate(n_trials=3).not_simulated == {
        "mono/3+3": "no scenarios are given for this arm",
        "mono/BOIN": "no scenarios are given for this arm",
    }


def test_report_writes_the_memo_with_a_manifest(study, out, tmp_path):
    files = study.report(tmp_path / "memo", n_trials=6)
    names = {k: p.name for k, p in files.items()}
    assert names["html"] == "report.html" and names["manifest"] == "manifest.json"
    assert {"outcomes", "comparison", "agreement", "shadow", "simulation"} <= set(files)
    man = json.loads(files["manifest"].read_text())
    assert man["seed"] == 5 and man["protocol"]["name"] == study.protocol.name
    assert man["inputs_sha256"]["outcomes[combo]"] == data_sha256(out.arm("combo"))
    assert set(man["designs"]) == {"mono", "combo"}
    # the combination BLRM is simulated with the mono arm as one programme (not held fixed)
    assert "held_fixed" not in man["simulation"]["combo"]
    assert "combo BLRM" in man["programme"]["combo"]["manifest"]["programme"]["source"]
    md = files["markdown"].read_text()
    assert "as one programme" in md and "Not simulated" not in md
    assert (tmp_path / "memo" / "outcomes.csv").read_text() == out.to_csv_frame().to_csv(index=False)
    with xr.open_dataset(files["simulation"], group="combo", engine="h5netcdf") as ds:
        assert ds.sizes["trial"] == 6


def test_manifest_states_protocol_designs_data_and_settings(study, out):
    man = study.manifest()
    assert list(man)[:2] == ["package", "version"] and man["seed"] == 5
    assert man["data_sha256"] == {a: data_sha256(out.arm(a)) for a in out.arms}
    assert man["designs"]["combo"]["combo BLRM"] == study.designs["combo"]["combo BLRM"].spec()
    assert man["scenarios"] == SCENARIOS and man["settings"]["n_trials"] == 12
    json.dumps(man)


def test_from_spec_keeps_the_spec_settings(out):
    from bayes_dose.workflows import bundled_spec

    spec = bd.io.load_spec(bundled_spec())
    s = bd.Study.from_spec(spec, out, seed=9)
    assert s.seed == 9 and s.designs == spec.designs and s.protocol == spec.protocol
    assert s.scenarios == {a: spec.scenarios(a) for a in spec.designs if spec.scenarios(a)}
    assert (s.mcmc, s.mcmc_kwargs) == spec.mcmc(9)
    assert s.target == spec.simulation.get("target")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"designs": {"nope": {"3+3": bd.ThreePlusThree(3)}}}, "arms \\['nope'\\]"),
        ({"designs": {"mono": bd.ThreePlusThree(3)}}, "arm: \\{name: design\\}"),
        ({"scenarios": {"mono": {"s": [0.1, 0.2]}}}, "2 values for 8 dose levels"),
        ({"scenarios": {"combo": {"s": [0.1] * 5}}}, "arm 'combo', which has no designs"),
        ({"data": [1, 2]}, "data must be Outcomes"),
    ],
)  # fmt: skip
def test_bad_input_is_an_error_naming_it(proto, kwargs, match):
    args = {"designs": {"mono": {"3+3": bd.ThreePlusThree(8)}}, **kwargs}
    with pytest.raises(ValueError, match=match):
        bd.Study(proto, **args)
    with pytest.raises(ValueError, match="protocol must be a Protocol"):
        bd.Study("bat6021", {"mono": {"3+3": bd.ThreePlusThree(8)}})


class _ReadsBothArms:
    """Not a Design: says only ``reads_all_arms`` (as compare.reads_all_arms accepts)."""

    reads_all_arms = True
    n_doses = 5

    def __init__(self) -> None:
        self.inner = bd.ThreePlusThree(5)
        self.seen: list[tuple[str, ...]] = []

    def fit(self, data, engine="grid", **kwargs):
        self.seen.append(tuple(data))
        return self.inner.fit(data["combo"], **kwargs)


def test_an_object_reading_all_arms_gets_every_arm_and_is_not_simulated(proto, out):
    d = _ReadsBothArms()
    s = bd.Study(proto, {"combo": {"both": d}}, data=out, scenarios={"combo": SCENARIOS["combo"]})
    assert s.source_arms == ("mono", "combo")
    fit = s.compare().fits[("combo", "both")]
    assert d.seen == [("combo", "mono")]
    assert fit.next_dose == bd.ThreePlusThree(5).fit(out.arm("combo")).next_dose
    sims = s.simulate(n_trials=2, seed=1)
    assert len(sims) == 0
    assert sims.not_simulated == {
        "combo/both": "it reads the data of every arm and cannot be given them held fixed"
    }


def test_arm_names_are_data_a_spec_with_other_arm_names(tmp_path, proto, out):
    """The same trial with arms named "part1" / "part2": the combination BLRM borrows from
    its ``source_arm`` and decides for the spec's arm, with the same posterior."""
    from importlib import resources

    text = resources.files("bayes_dose").joinpath("data/bat6021.toml").read_text()
    text = text.replace('name = "mono"', 'name = "part1"').replace('name = "combo"', 'name = "part2"')
    text = text.replace("\nmono = ", "\npart1 = ").replace("\ncombo = ", "\npart2 = ")
    (tmp_path / "p.toml").write_text(text)
    (tmp_path / "s.toml").write_text(
        'protocol = "p.toml"\n'
        '[designs.BLRM]\ntype = "BLRM"\narms = ["part1"]\nreference_dose = 300\n'
        '[designs.combo]\ntype = "CombinationBLRM"\narms = ["part2"]\nmono = "BLRM"\n'
        f'source_arm = "part1"\ngrid = {list(GRID)}\n'
    )
    spec = bd.io.load_spec(tmp_path / "s.toml")
    combo = spec.designs["part2"]["combo"]
    assert (combo.source_arm, combo.arm, combo.borrows_from) == ("part1", "part2", ("part1",))
    frame = out.to_frame().replace({"arm": {"mono": "part1", "combo": "part2"}})
    renamed = bd.Outcomes.from_frame(frame)
    fit = bd.Study.from_spec(spec, renamed).compare().fits[("part2", "combo")]
    proto_mono = proto.arm("mono")
    same = bd.CombinationBLRM(bd.BLRM(proto_mono.doses_mg, reference_dose=300),
                              doses=proto.arm("combo").doses_mg, grid=GRID).fit(out)  # fmt: skip
    assert fit.prob_tox.to_numpy() == pytest.approx(same.prob_tox.to_numpy(), abs=1e-12)
    assert fit.next_dose == same.next_dose
    with pytest.raises(ValueError, match="no 'part1' patients"):
        combo.fit({"part2": renamed.arm("part2")})


def test_report_without_simulation_names_what_was_not_simulated(study, tmp_path):
    files = study.report(tmp_path / "m", simulate=False, notes=("Synthetic data.",),
                         title="A study")  # fmt: skip
    assert "simulation" not in files and not (tmp_path / "m" / "simulation.nc").exists()
    md = files["markdown"].read_text()
    assert md.startswith("# A study") or "A study" in md.splitlines()[0]
    assert "Synthetic data." in md and "no simulation of this arm was given to the report" in md
    assert json.loads(files["manifest"].read_text())["seed"] == 5


def test_study_simulate_draws_responses_when_efficacy_is_given():
    """Study(efficacy=) passes each arm's response curves to simulate: the arm's Dataset
    equals bd.simulate with the same efficacy, correlation and seed."""
    proto = bd.protocols.bat6021()
    n = proto.arm("combo").n_doses
    designs = {"combo": {"BOIN12": bd.BOIN12(target=0.3, n_doses=n, phi_e=0.2, max_n=12)}}
    curve = {"rising": [0.05, 0.1, 0.25, 0.4, 0.55]}
    eff = {"rising": [0.1, 0.2, 0.35, 0.4, 0.4]}
    study = bd.Study(proto, designs, scenarios={"combo": curve}, efficacy={"combo": eff},
                     correlation=0.2)  # fmt: skip
    got = study.simulate(n_trials=30, seed=3)["combo"]
    ref = bd.simulate(designs["combo"], scenarios=curve, n_trials=30, seed=3, progress=False,
                      efficacy=eff, correlation=0.2)  # fmt: skip
    assert np.array_equal(got.resp.values, ref.resp.values)
    assert np.array_equal(got.selected.values, ref.selected.values)
    with pytest.raises(ValueError, match="efficacy given for arms"):
        bd.Study(proto, designs, efficacy={"mono": eff})
