"""The design memo: HTML structure (sections, tables, images, manifest) and Markdown."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser

import pytest

import bayes_dose as bd
from bayes_dose.report import SECTIONS


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: dict[str, int] = {}
        self.imgs: list[str] = []
        self.li_class: list[str] = []
        self._pre_id: str | None = None
        self.pre: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "li" and "class" in a:
            self.li_class.append(a["class"])
        if tag == "pre" and "id" in a:
            self._pre_id = a["id"]
            self.pre[a["id"]] = ""

    def handle_endtag(self, tag):
        if tag == "pre":
            self._pre_id = None

    def handle_data(self, data):
        if self._pre_id:
            self.pre[self._pre_id] += data


def _parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def memo(tmp_path_factory):
    proto = bd.protocols.bat6021()
    out = bd.examples.bat6021_outcomes()
    designs = {
        a: {
            "3+3": bd.ThreePlusThree(proto.arm(a).n_doses, doses_mg=proto.arm(a).doses_mg,
                                     titration_levels=3 if a == "mono" else 0),
            "3+3 esc": bd.ThreePlusThree(proto.arm(a).n_doses, doses_mg=proto.arm(a).doses_mg,
                                         variant="escalation_only"),
        }
        for a in proto.arm_names
    }  # fmt: skip
    cmp = bd.compare(designs, out)
    path = tmp_path_factory.mktemp("memo")
    rep = bd.report(cmp, path, protocol=proto, seed=7, notes=("synthetic data",), target=0.25)
    return rep, path, cmp, out


def test_html_structure(memo):
    rep, path, _, _ = memo
    text = (path / "report.html").read_text()
    assert text == rep.html
    p = _parse(text)
    for sid, _ in SECTIONS:
        assert sid in p.ids, sid
    assert p.tags.get("table", 0) >= 8  # counts, recommendations, agreement, ledgers per arm
    # per arm: the dose-toxicity figure and the patients-over-study-days timeline
    assert len(p.imgs) == 4 and all(s.startswith("data:image/png;base64,") for s in p.imgs)
    assert all(len(s) > 5000 for s in p.imgs)
    manifest = json.loads(p.pre["manifest-json"])
    assert manifest == json.loads((path / "manifest.json").read_text())
    assert "assumption" in text.lower() and "tislelizumab" in text  # combo arm's assumption
    assert "synthetic data" in text
    # self-contained: no external resources
    assert "<script" not in text and "<link" not in text and 'src="http' not in text


def test_manifest_contents(memo):
    rep, _, _, out = memo
    m = rep.manifest
    assert m["package"] == "bayes_dose" and m["version"] == bd.__version__
    assert m["seed"] == 7 and m["dependencies"]["numpy"]
    csv = out.arm("mono").to_frame().to_csv(index=False).encode()
    assert m["inputs_sha256"]["outcomes[mono]"] == hashlib.sha256(csv).hexdigest()
    assert m["designs"]["mono"]["3+3"]["titration_levels"] == 3
    assert m["protocol"]["name"] == "BAT6021-001"
    assert m["reference_design"] == {"mono": "3+3", "combo": "3+3"}


def test_report_states_disagreement(memo):
    rep, _, cmp, _ = memo
    # combo arm: after 2/6 at level 3 the de-escalation 3+3 expanded level 2; the
    # escalation-only variant would have stopped there (the shadow ledger shows it)
    sh = cmp.shadow()
    step4 = sh[(sh["arm"] == "combo") & (sh["step"] == 4)].set_index("design")
    assert step4.loc["3+3", "next_dose"] == 2 and step4.loc["3+3 esc", "stop"]
    assert "stop" in rep.markdown
    # final recommendations agree on both arms
    assert "[mono] 3+3 esc agrees with 3+3 on the RP2D (level 6)" in rep.markdown
    p = _parse(rep.html)
    assert p.li_class == ["agree", "agree"]


def test_markdown_sections(memo):
    _, path, _, _ = memo
    md = (path / "report.md").read_text()
    for head in ("## Protocol", "## Data", "## Recommendations per arm",
                 "## Agreement with the protocol design", "## Shadow ledger",
                 "## Operating characteristics", "## MCMC diagnostics",
                 "## Appendix: manifest"):  # fmt: skip
        assert head in md
    assert "| Design | Decision | MTD / MAD | RP2D |" in md
    assert '"dependencies"' not in md  # the full manifest is in manifest.json, not the body


def test_report_rejects_bad_input():
    with pytest.raises(ValueError, match="expected a Comparison"):
        bd.report({"not": "a comparison"})


def test_report_says_three_plus_three_and_boin_disagree():
    designs = {"3+3": bd.ThreePlusThree(5), "BOIN": bd.BOIN(target=0.3, n_doses=5, max_n=30)}
    out = bd.Outcomes.parse("1NNN 2NNN 3NNT 3NTN 2NNN 2NNN")
    rep = bd.report(bd.compare(designs, {"mono": out}), target=0.3)
    p = _parse(rep.html)
    assert p.li_class == ["disagree"]
    sentence = "BOIN recommends level 3, 1 level above 3+3 (level 2)"
    assert sentence in rep.html and sentence in rep.markdown


@pytest.mark.mcmc
def test_mcmc_check_in_report():
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    out = bd.examples.bat6021_outcomes().arm("mono")
    cmp = bd.compare(
        {"BLRM": mono}, {"mono": out}, mcmc=["BLRM"],
        mcmc_kwargs={"draws": 500, "tune": 500, "chains": 2, "random_seed": 1},
    )  # fmt: skip
    check = cmp.mcmc_check()
    assert check["design"].tolist() == ["BLRM"]
    assert check["divergences"].iat[0] == 0 and check["max_rhat"].iat[0] < 1.05
    assert check["max_abs_diff_prob_tox"].iat[0] < 0.03  # NUTS vs the exact grid posterior
    assert check["same_decision"].iat[0]
    assert cmp.fits[("mono", "BLRM")].estimate.engine == "grid"  # decisions stay exact
    rep = bd.report(cmp)
    assert "check of the exact engine" in rep.html and "max R-hat" in rep.markdown
