"""One manifest builder and one data hash (issue 11 item 3): bayes_dose.manifest."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest

import bayes_dose as bd
from bayes_dose.manifest import build_manifest, data_sha256, design_specs, file_record

SRC = Path(__file__).resolve().parents[1] / "src" / "bayes_dose"


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("m") / "outcomes.csv"
    bd.examples.bat6021_outcomes().to_csv_frame().to_csv(path, index=False)
    return path


def test_data_sha_is_hashlib_on_the_bytes(csv_file):
    raw = csv_file.read_bytes()
    assert data_sha256(csv_file) == hashlib.sha256(raw).hexdigest()
    assert data_sha256(str(csv_file)) == hashlib.sha256(raw).hexdigest()
    assert data_sha256(raw) == hashlib.sha256(raw).hexdigest()
    assert file_record(csv_file) == {"path": str(csv_file), "sha256": hashlib.sha256(raw).hexdigest()}
    out = bd.io.read_outcomes(csv_file, protocol=bd.protocols.bat6021())
    table = out.to_frame().to_csv(index=False).encode()
    assert data_sha256(out) == hashlib.sha256(table).hexdigest()
    with pytest.raises(ValueError, match="cannot be hashed"):
        data_sha256(3.5)


def test_build_manifest_puts_package_and_version_first():
    man = build_manifest(python=True, seed=4, settings={"n_trials": 10})
    assert list(man) == ["package", "version", "python", "seed", "settings"]
    assert man["package"] == "bayes_dose" and man["version"] == bd.__version__
    deps = build_manifest(dependencies=True)["dependencies"]
    assert {"numpy", "pandas", "xarray"} <= set(deps) and deps["numpy"]


def test_every_manifest_of_the_package_uses_the_one_data_hash(csv_file):
    """The fit's posterior manifest, the memo, the CLI JSON and a design spec hash the same
    data to the same SHA-256."""
    out = bd.io.read_outcomes(csv_file, protocol=bd.protocols.bat6021())
    mono = out.arm("mono")
    sha = hashlib.sha256(mono.to_frame().to_csv(index=False).encode()).hexdigest()
    design = bd.ThreePlusThree(8, titration_levels=3)
    posterior = json.loads(design._manifest(mono))
    assert posterior["outcomes_sha256"] == sha and posterior["design"] == design.spec()
    assert list(posterior)[:2] == ["package", "version"]
    rep = bd.report(bd.compare({"mono": {"3+3": design}}, {"mono": mono}),
                    inputs={"data": csv_file})  # fmt: skip
    assert rep.manifest["inputs_sha256"]["outcomes[mono]"] == sha
    assert rep.manifest["inputs_sha256"]["data"] == hashlib.sha256(csv_file.read_bytes()).hexdigest()
    proto = bd.protocols.bat6021()
    mono_blrm = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    combo = bd.CombinationBLRM(mono_blrm, doses=proto.arm("combo").doses_mg, mono_data=mono)
    assert combo.spec()["mono_data"]["sha256"] == sha
    assert design_specs({"mono": {"3+3": design}}) == {"mono": {"3+3": design.spec()}}


def test_simulation_manifest_is_built_by_the_builder():
    sims = bd.simulate({"3+3": bd.ThreePlusThree(4)}, [0.05, 0.1, 0.3, 0.5], n_trials=5, seed=2,
                       progress=False)
    man = json.loads(sims.attrs["manifest"])
    assert (man["package"], man["version"], man["seed"]) == ("bayes_dose", bd.__version__, 2)
    inputs = {k: man[k] for k in ("designs", "scenarios", "seed", "n_trials", "max_n", "rng")}
    assert man["input_hash"] == hashlib.sha256(
        json.dumps(inputs, sort_keys=True).encode()).hexdigest()  # fmt: skip


def test_no_module_but_manifest_hashes_data():
    """``hashlib.sha256`` appears only in manifest.py (and in sim_io's checksum of the
    arrays of a checkpoint, which hashes results, not inputs)."""
    users = set()
    for f in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "sha256" and isinstance(
                node.value, ast.Name) and node.value.id == "hashlib":  # fmt: skip
                users.add(f.relative_to(SRC).as_posix())
    assert users == {"manifest.py", "sim_io.py"}
