"""Plan audit: each check on a small hand-made referential, then the real plan's known discrepancies."""

from __future__ import annotations

import pytest

from evaluation.referential.audit import CHECKS, audit_plan, normalize_title
from evaluation.referential.plan import load_plan


def _audit(make_plan, edit=None, check=None):
    findings = audit_plan(load_plan(make_plan(edit)))
    return [f for f in findings if check is None or f.check == check]


def test_consistent_mini_plan_has_no_finding(make_plan):
    """The control: every figure of the mini plan agrees (280 000 = 4 x 70 000, 15 = 59 - 44, ...)."""
    assert _audit(make_plan) == []


def test_financing_above_total_is_an_error(make_plan):
    """4 x 70 000 = 280 000 of MEL financing against a 210 000 cost (the plan's sheet 1 pattern)."""
    findings = _audit(make_plan, lambda p, s: s["1"]["budget"].update(total_cost_eur=210000), "financing_vs_total")
    assert [(f.engagement, f.severity, f.expected, f.found) for f in findings] == [("1", "error", 210000, 280000)]


def test_unfunded_remainder_is_a_warning(make_plan):
    """Cost 300 000, financing 280 000: 20 000 without identified funder."""
    findings = _audit(make_plan, lambda p, s: s["1"]["budget"].update(total_cost_eur=300000), "financing_vs_total")
    assert [(f.severity, f.expected, f.found) for f in findings] == [("warning", 300000, 280000)]
    assert "20\u00a0000\u00a0€" in findings[0].message and "sans co-financeur identifié" in findings[0].message


def test_named_cofinancer_without_amount_is_said(make_plan):
    def edit(p, s):
        s["1"]["budget"].update(total_cost_eur=300000)
        s["1"]["budget"]["cofinancing"] = [{"funder": "CDC", "amount_eur": None, "share_pct": None, "source": "CDC"}]

    (finding,) = _audit(make_plan, edit, "financing_vs_total")
    assert "co-financeurs nommés sans montant : CDC" in finding.message


def test_share_and_amount_disagree(make_plan):
    """80 % of 100 000 is 80 000, the sheet writes 79 000 (the plan's sheet 12 pattern)."""

    def edit(p, s):
        s["1"]["budget"].update(total_cost_eur=100000, mel_financing_eur={2018: 10000, 2019: 10000, 2020: 0, 2021: 0})
        s["1"]["budget"]["cofinancing"] = [{"funder": "FEDER", "amount_eur": 79000, "share_pct": 80, "source": "x"}]

    findings = _audit(make_plan, edit, "cofinancing_share")
    assert [(f.severity, f.expected, f.found) for f in findings] == [("error", 80000, 79000)]


def test_shares_above_100_pct(make_plan):
    def edit(p, s):
        s["1"]["budget"]["cofinancing"] = [
            {"funder": "FEDER", "amount_eur": None, "share_pct": 80, "source": "x"},
            {"funder": "Région", "amount_eur": None, "share_pct": 30, "source": "y"},
        ]

    findings = _audit(make_plan, edit, "cofinancing_share")
    assert [(f.expected, f.found) for f in findings] == [(100, 110)]


def test_share_only_counts_toward_funding(make_plan):
    """Sheet 5-C pattern: 27 000 + 27 000 from the MEL and FEDER at 80 % of 270 000 = 216 000: fully funded."""

    def edit(p, s):
        s["1"]["budget"].update(total_cost_eur=270000, mel_financing_eur={2018: 27000, 2019: 27000, 2020: 0, 2021: 0})
        s["1"]["budget"]["cofinancing"] = [{"funder": "FEDER", "amount_eur": None, "share_pct": 80, "source": "x"}]

    assert _audit(make_plan, edit) == []


def test_stated_total_versus_parts(make_plan):
    """The mini plan states a 16-point gap between 59 % and 44 %: 59 - 44 = 15."""
    findings = _audit(make_plan, lambda p, s: p["arithmetic"][0].update(stated=16), "total_vs_parts")
    assert [(f.expected, f.found, f.severity) for f in findings] == [(15, 16, "error")]
    assert findings[0].message == "Écart : le plan indique 16, ses composantes donnent 59 − 44 = 15."


def test_tolerance_for_approximate_totals(make_plan):
    """'Environ 357 000' against 199 060 + 158 160 = 357 220: within a 1 000 tolerance, no finding."""

    def edit(p, s):
        p["arithmetic"] = [
            {
                "id": "pop",
                "engagement": None,
                "label": "Pop",
                "stated": 357000,
                "tolerance": 1000,
                "terms": [199060, 158160],
                "source": "x",
            }
        ]

    assert _audit(make_plan, edit) == []


def test_announced_counts(make_plan):
    def edit(p, s):
        p["announced"]["priorities"]["value"] = 3
        p["announced"]["engagements"]["value"] = 3

    findings = _audit(make_plan, edit, "announced_count")
    assert sorted((f.expected, f.found) for f in findings) == [(3, 2), (3, 2), (3, 2)]


def test_priority_announcing_more_than_it_lists(make_plan):
    findings = _audit(make_plan, lambda p, s: p["priorities"][0].update(announced_engagements=2), "announced_count")
    messages = sorted(f.message for f in findings)
    assert any("annonce 2 engagements et en liste 1" in m for m in messages)
    assert any("annonce 2 engagements, le corps contient 1 fiches" in m for m in messages)


def test_sheet_without_quantified_indicator(make_plan):
    def edit(p, s):
        s["2"]["indicators"][0].update(
            measure="qualitative", unit=None, baseline=None, target={"value": None, "year": 2021, "year_stated": False}
        )

    findings = _audit(make_plan, edit, "announced_indicators")
    assert [f.engagement for f in findings] == ["2"]


def test_priority_order_differs(make_plan):
    def edit(p, s):
        p["priorities"][0]["intro_rank"], p["priorities"][1]["intro_rank"] = 2, 1

    (finding,) = _audit(make_plan, edit, "priority_order")
    assert finding.expected == ["Impliquer l'entreprise", "Développer des initiatives"]
    assert finding.found == ["Développer des initiatives", "Impliquer l'entreprise"]


def test_title_wording_differs_but_not_typography(make_plan):
    def edit(p, s):
        p["toc"][1]["title"] = "CLAUSE D’INSERTION....."  # typography only: no finding
        p["toc"][3]["title"] = "Emplois franc"  # wording: a finding

    findings = _audit(make_plan, edit, "title_mismatch")
    assert [(f.engagement, f.expected, f.found) for f in findings] == [("2", "Emplois francs", "Emplois franc")]


def test_sheet_missing_from_priority_list(make_plan):
    def edit(p, s):
        p["priorities"][0]["listed_engagements"] = []
        p["priorities"][0]["announced_engagements"] = 0

    findings = _audit(make_plan, edit, "title_mismatch")
    assert [f.message for f in findings] == [
        "Fiche 1 « Clause d'insertion » absente de la liste des engagements de P1."
    ]


def test_normalize_title():
    assert normalize_title("Emploi connect – Sport pour l’emploi.....") == normalize_title(
        "Emploi Connect - Sport pour l'emploi"
    )
    assert normalize_title("« Food »") == "food"


# -- the real plan ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def findings():
    return audit_plan(load_plan())


def test_real_plan_errors(findings):
    """The plan's numeric contradictions, each computed by hand from the text:

    - sheet 1: 4 x 70 000 = 280 000 of MEL financing > 210 000 total (l. 178-182);
    - sheet 12: 60 % x 403 420 = 242 052, the plan writes 240 052 (l. 1068);
    - sheet 12: 240 052 + 161 368 = 401 420, not the stated 403 420 (l. 1064-1068);
    - sheet 12: 'hors valorisation' financing should be 161 368 - 113 969 = 47 399, yet the yearly
      figures add up to 33 765 + 61 875 + 34 125 + 31 603 = 161 368 (l. 1068-1072);
    - introduction: 18 % + 14 % = 32 % of the MEL's population, stated 'soit 30 %' (l. 110-112).
    """
    errors = {(f.check, f.engagement, f.expected, f.found) for f in findings if f.severity == "error"}
    assert errors == set(
        [
            ("financing_vs_total", "1", 210000, 280000),
            ("cofinancing_share", "12", 242052, 240052),
            ("total_vs_parts", "12", 401420, 403420),
            ("total_vs_parts", "12", 47399, 161368),
            ("total_vs_parts", None, 32, 30),
        ]
    )


def test_real_plan_structure_findings(findings):
    by_check = {name: [f for f in findings if f.check == name] for name in CHECKS}
    assert len(by_check["priority_order"]) == 1
    mismatched = {f.engagement for f in by_check["title_mismatch"]}
    # List names that differ from the sheets' titles (l. 129-1383), and 4a missing from P1's list.
    assert {"4", "4a", "5", "5a", "5b", "5c", "7", "8", "10", "12", "gouvernance"} == mismatched - {None}
    assert {f.engagement for f in by_check["announced_indicators"]} == {"5c", "13", "15"}
    consistent = {"2", "4a", "5c", "evaluation"}  # 15 000; 3 x 30 000 = 90 000; 54 000 + 80 % x 270 000; 20 000
    assert not consistent & {f.engagement for f in by_check["financing_vs_total"]}


def test_finding_json_keys(findings):
    assert set(findings[0].to_dict()) == {"engagement", "check", "message", "expected", "found", "severity"}
