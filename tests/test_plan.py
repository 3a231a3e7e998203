"""The plan referential: completeness against the plan text, typed records, validation errors."""

from __future__ import annotations

import dataclasses
import re

import pytest

from evaluation.errors import PlanError, UsageError
from evaluation.referential.plan import CohortOutcome, Cumulation, Measure, load_plan

CANONICAL_IDS = [str(i) for i in range(1, 4)] + ["4", "4a", "5", "5a", "5b", "5c"] + [str(i) for i in range(6, 18)]
CANONICAL_IDS += ["gouvernance", "evaluation"]


def _norm(text: str) -> str:
    """Whitespace, apostrophe and dash typography only (the README's rule for `source`)."""
    for old, new in (("’", "'"), ("‘", "'"), ("–", "-"), ("—", "-"), ("\u00a0", " "), ("**", "")):
        text = text.replace(old, new)
    return re.sub(r"\s+", " ", text).strip().lower()


def _euros(text: str) -> list[int]:
    """Independent reading of the plan's amounts: '70 000 euros' -> 70000, in order of appearance."""
    return [int(m.replace(" ", "")) for m in re.findall(r"(\d{1,3}(?: \d{3})*) ?euros?", text.replace("\u00a0", " "))]


@pytest.fixture(scope="module")
def plan():
    return load_plan()


def test_all_23_sheets_in_document_order(plan):
    assert [s.id for s in plan.engagements] == CANONICAL_IDS
    assert len(plan.engagements) == 23


def test_priorities_in_body_order(plan):
    """Body order of the plan text: PRIORITE 1 (l. 134) ... PRIORITE 6 (l. 1254)."""
    assert [p.title for p in plan.priorities] == [
        "Impliquer l'entreprise comme partenaire de l'emploi",
        "Développer des initiatives économiques",
        "Créer des liens entre les jeunes et le monde économique",
        "Accompagner vers l'emploi en levant les freins au recrutement",
        "Structure l'aménagement des sites NPRU",
        "Contribuer au changement d'image des quartiers",
    ]
    membership = {p.id: [s.id for s in plan.engagements_of(p.id)] for p in plan.priorities}
    assert membership == {
        "P1": ["1", "2", "3", "4", "4a"],
        "P2": ["5", "5a", "5b", "5c", "6", "7"],
        "P3": ["8", "9"],
        "P4": ["10", "11", "12"],
        "P5": ["13", "14", "15"],
        "P6": ["16", "17"],
    }


def test_every_source_is_verbatim_in_the_plan(plan, plan_text):
    text = _norm(plan_text)
    sources = [i.source for i in plan.indicators()]
    for sheet in plan.engagements:
        sources += [m.source for m in sheet.milestones] + [c.source for c in sheet.budget.cofinancing]
        sources += [s for s in (sheet.budget.total_cost_source, sheet.budget.mel_financing_source) if s]
    sources += [c.source for c in plan.arithmetic]
    missing = [s for s in sources if _norm(s) not in text]
    assert missing == []
    assert len(sources) > 200


def test_budget_figures_match_their_quoted_sources(plan):
    """Each encoded amount equals the one read independently from the quoted plan words."""
    checked = 0
    for sheet in plan.engagements:
        budget = sheet.budget
        if budget.total_cost_source and _euros(budget.total_cost_source + " euros"):
            assert budget.total_cost_eur == _euros(budget.total_cost_source + " euros")[0], sheet.id
            checked += 1
        if budget.mel_financing_source and re.search(r"2018 :", budget.mel_financing_source):
            yearly = dict(re.findall(r"(20\d\d) : (\d{1,3}(?: \d{3})*|0)", budget.mel_financing_source))
            assert {int(y): float(v.replace(" ", "")) for y, v in yearly.items()} == dict(budget.mel_financing_eur), (
                sheet.id
            )
            checked += 1
    assert checked >= 36  # 19 totals and 18 yearly lines are written as figures in the plan


@pytest.mark.parametrize(
    ("sheet_id", "total", "years"),
    [
        # Hand-copied from the plan text (line numbers of data/plan/source_plan_2018_2021.txt).
        ("1", 210000, (70000, 70000, 70000, 70000)),  # l. 178-182
        ("4", 270000, (0, 35000, 35000, 35000)),  # l. 268-272
        ("5c", 270000, (27000, 27000, 0, 0)),  # l. 655-661
        ("10", 2805000, (100000, 300000, 400000, 100000)),  # l. 948-952
        ("12", 403420, (33765, 61875, 34125, 31603)),  # l. 1062-1072
        ("evaluation", 20000, (0, 0, 0, 20000)),  # l. 1444-1448
    ],
)
def test_budget_spot_checks(plan, sheet_id, total, years):
    budget = plan.engagement(sheet_id).budget
    assert budget.total_cost_eur == total
    assert tuple(budget.mel_financing_eur.values()) == years


def test_sheet_without_figures_keeps_nulls(plan):
    """Sheet 15: 'En cours de définition' (l. 1242-1246); sheet 13: envelopes only (l. 1139-1143)."""
    assert plan.engagement("15").budget.total_cost_eur is None
    assert set(plan.engagement("15").budget.mel_financing_eur.values()) == {None}
    assert [e.amount_eur for e in plan.engagement("13").budget.envelopes] == [1400000, 300000]


def test_indicator_kinds(plan):
    """'Passer de 300 à 400' (l. 150), '50 à 100 entreprises accompagnées par an' (l. 724), '50% de retour' (l. 1029)."""
    clause = plan.engagement("1").indicators[0]
    assert (clause.baseline.value, clause.target.value) == (300, 400)
    agency = plan.engagement("7").indicators[0]
    assert (agency.target.min, agency.target.max, agency.cumulation) == (50, 100, Cumulation.PER_YEAR)
    eyes = [i for i in plan.engagement("12").indicators if i.measure is Measure.PERCENTAGE]
    assert [i.target.value for i in eyes] == [50]
    emplois_francs = plan.engagement("2").indicators[0]
    assert (emplois_francs.target.value, emplois_francs.target.year, emplois_francs.target.year_stated) == (
        4000,
        2019,
        True,
    )


def test_every_sheet_with_results_has_indicators(plan):
    empty = [s.id for s in plan.engagements if not s.indicators]
    assert empty == []
    qualitative = [i for i in plan.indicators() if i.measure is Measure.QUALITATIVE]
    assert qualitative, "qualitative expectations are indicators too"
    assert sum(1 for _ in plan.indicators()) >= 90


def test_records_are_frozen(plan):
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.engagements[0].title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.engagements[0].budget.mel_financing_eur[2018] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("given", "expected"), [("5-A", "5a"), ("Engagement 12", "12"), ("4A", "4a"), ("Évaluation", "evaluation")]
)
def test_engagement_lookup_accepts_printed_forms(plan, given, expected):
    assert plan.engagement(given).id == expected


def test_unknown_engagement_suggests_close_ids(plan):
    with pytest.raises(UsageError, match=r"unknown engagement id '5d' \(did you mean 5, 5a, 5b, 5c\?\)"):
        plan.engagement("5d")


def test_json_shape(plan):
    data = plan.to_dict()
    assert [p["id"] for p in data["priorities"]] == ["P1", "P2", "P3", "P4", "P5", "P6"]
    sheet = data["engagements"][0]
    assert {"id", "title", "priority", "total_cost_eur", "mel_financing_eur", "cofinancing", "indicators"} <= set(sheet)
    assert sheet["mel_financing_eur"] == {"2018": 70000, "2019": 70000, "2020": 70000, "2021": 70000}
    indicator = sheet["indicators"][0]
    assert set(indicator) >= {
        "id",
        "label",
        "unit",
        "measure",
        "direction",
        "cumulation",
        "baseline",
        "target",
        "source",
    }
    assert indicator["baseline"] == {"value": 300, "year": None}
    assert indicator["target"] == {"value": 400, "year": 2021, "year_stated": False}
    ranged = data["engagements"][CANONICAL_IDS.index("7")]["indicators"][0]["target"]
    assert (ranged["min"], ranged["max"]) == (50, 100)
    assert data["engagements"][CANONICAL_IDS.index("15")]["total_cost_eur"] is None


# -- validation errors on a small referential --------------------------------------------------------


def test_mini_plan_loads(make_plan):
    plan = load_plan(make_plan())
    assert [s.id for s in plan.engagements] == ["1", "2"]


def _break(edit):
    def apply(plan, sheets):
        edit(plan, sheets)

    return apply


def test_invalid_yaml_names_file_and_line(make_plan):
    folder = make_plan()
    (folder / "sheets" / "2.yaml").write_text('id: "2"\ntitle: "oops\n', encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(folder)
    message = str(info.value)
    assert message.startswith(str(folder / "sheets" / "2.yaml")) or "sheets/2.yaml" in message
    assert re.search(r"line \d+: invalid YAML", message)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p, s: s["1"]["indicators"][0].update(measure="number"),
            r"field 'indicators\[0\]\.measure': unknown value 'number' \(use one of: count, percentage, amount, milestone, qualitative\)",
        ),
        (
            lambda p, s: s["1"]["budget"].update(total_cost_eur="210 000"),
            r"field 'budget\.total_cost_eur': expected a number, found '210 000' \(write digits without spaces, e\.g\. 210000\)",
        ),
        (
            lambda p, s: s["1"]["indicators"][0].pop("source"),
            r"field 'indicators\[0\]\.source': required field is missing",
        ),
        (
            lambda p, s: s["1"]["indicators"][0]["target"].update(min=10),
            r"field 'indicators\[0\]\.target\.value': give either value or min/max, not both",
        ),
        (
            lambda p, s: s["1"]["indicators"][0].update(
                measure="percentage", target={"value": 150, "year": 2021, "year_stated": True}
            ),
            r"a percentage must be within 0-100, found 150",
        ),
        (
            lambda p, s: s["1"].update(priority="P9"),
            r"field 'priority': unknown priority 'P9' \(use one of P1, P2 or null\)",
        ),
        (lambda p, s: s["1"]["indicators"][0].update(id="1.2"), r"indicator id '1\.2' should be '1\.1'"),
        (lambda p, s: s["1"]["budget"]["mel_financing_eur"].pop(2021), r"expected the years 2018, 2019, 2020, 2021"),
        (
            lambda p, s: s["1"]["milestones"][0].update(date="déc. 2018"),
            r"expected an ISO date YYYY, YYYY-MM or YYYY-MM-DD",
        ),
        (
            lambda p, s: s["1"]["indicators"][0].update(taget={"value": 1}),
            r"field 'indicators\[0\]\.taget': unknown field \(did you mean 'target'\?\)",
        ),
    ],
)
def test_schema_errors_name_file_line_and_field(make_plan, edit, expected):
    folder = make_plan(edit)
    with pytest.raises(PlanError, match=expected) as info:
        load_plan(folder)
    assert "sheets/1.yaml" in str(info.value).replace("\\", "/")
    assert re.search(r"line \d+", str(info.value))


def _return_to_work(sheet: dict, outcome: object) -> None:
    """Make the sheet's first indicator a return-to-work percentage with this ``cohort_outcome``."""
    sheet["indicators"][0].update(
        label="Taux de retour à l'emploi",
        unit="%",
        measure="percentage",
        cumulation="level",
        baseline=None,
        target={"value": 50, "year": 2021, "year_stated": False},
        cohort_outcome=outcome,
    )


def test_cohort_outcome_is_read_and_exposed(make_plan):
    """The field is optional: present on sheet 1's indicator, absent from sheet 2's."""
    plan = load_plan(make_plan(lambda p, s: _return_to_work(s["1"], "sustainable")))
    first, second = (plan.engagement(i).indicators[0] for i in ("1", "2"))
    assert (first.cohort_outcome, second.cohort_outcome) == (CohortOutcome.SUSTAINABLE, None)
    indicators = [sheet["indicators"][0] for sheet in plan.to_dict()["engagements"]]
    assert [i["cohort_outcome"] for i in indicators] == ["sustainable", None]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda p, s: _return_to_work(s["1"], "emploi"),
            "field 'indicators[0].cohort_outcome': unknown value 'emploi' "
            "(use one of: employment, sustainable, positive)",
        ),
        (
            lambda p, s: s["1"]["indicators"][0].update(cohort_outcome="employment"),
            "field 'indicators[0].cohort_outcome': a count indicator has no cohort outcome: only a percentage "
            "(a share of a programme's entrants) has one (remove it, or check the indicator's measure)",
        ),
    ],
)
def test_a_bad_cohort_outcome_is_refused_naming_file_line_and_field(make_plan, edit, expected):
    folder = make_plan(edit)
    with pytest.raises(PlanError) as info:
        load_plan(folder)
    message = str(info.value).replace("\\", "/")
    assert "sheets/1.yaml" in message
    assert re.search(r"line \d+", message)
    assert message.endswith(expected)


def test_file_name_must_match_id(make_plan):
    folder = make_plan()
    (folder / "sheets" / "2.yaml").rename(folder / "sheets" / "3.yaml")
    with pytest.raises(PlanError, match=r"id '2' does not match the file name '3\.yaml'"):
        load_plan(folder)


def test_missing_plan_folder(tmp_path):
    with pytest.raises(PlanError, match="plan folder not found"):
        load_plan(tmp_path / "nowhere")
