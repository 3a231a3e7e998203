"""The yearly report's command and blocks on the demo data (synthetic, calibrated to the plan's 44 % / 59 % in 2015)."""

from __future__ import annotations

import json

import pytest

from evaluation.cli import main
from evaluation.present.annual import annual_context, guards_fr, headline_block


def test_employment_gap_text(capsys):
    assert main(["employment-gap"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "DONNÉES DE DÉMONSTRATION (synthétiques)"
    assert out[1] == "Comparaison : ensemble de la Métropole"
    # The demo generator calibrates 2015 on the plan's figures: 44,0 % against 59,0 %, a 15,0-point gap.
    assert out[3].split()[:4] == ["2015", "44,0", "59,0", "15,0"]
    assert out[-1].startswith("Objectif : 7,5 points (moitié de 15,0 en 2015)")


def test_employment_gap_json_and_year_filter(capsys):
    assert main(["employment-gap", "--format", "json", "--year", "2019", "--comparator", "MEL_HORS_QPV"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["demo"] is True and payload["comparator"] == "MEL_HORS_QPV"
    assert [row["year"] for row in payload["series"]] == [2015, 2016, 2017, 2018, 2019]
    reduction = payload["reduction"]
    # The reduction is the baseline gap minus the latest one.
    assert reduction["reduction_pp"] == pytest.approx(reduction["baseline_gap_pp"] - reduction["latest_gap_pp"])


def test_employment_gap_unknown_comparator(capsys):
    assert main(["employment-gap", "--comparator", "FRANCE"]) == 2
    assert "unknown comparator 'FRANCE'" in capsys.readouterr().err


def test_guards_in_french():
    guards = (
        "census vintages less than 5 years apart are compared: 2017 vs 2018 (4 of 5 surveys shared); ...",
        "QN05967M 2015 employed_15_64 (sex ensemble, age 15-24): 76 is below 200, INSEE's caution threshold",
        "... and 12 more sampled counts below 200",
    )
    lines = guards_fr(guards)
    assert lines[0].startswith("Des millésimes du recensement distants de moins de 5 ans")
    assert lines[1].startswith("13 effectifs issus du recensement sont inférieurs à 200")


def test_headline_of_2019_stops_at_2019():
    ctx = annual_context(2019)
    assert ctx.series["year"].max() == 2019
    text = headline_block(ctx).markup
    assert text.startswith("<p>En 2019, le taux d'emploi des 15-64 ans est de")
    assert "réduire l'écart de moitié : de 15,0\u00a0points en 2015 à 7,5\u00a0points" in text


@pytest.mark.parametrize("comparator", ["MEL", "MEL_HORS_QPV"])
def test_standardised_gap_sentence_shows_the_comparators_figures(comparator):
    """The gaps of eg.standardised_rates are on the comparator's row (NaN on the QPV row): the
    sentence must show them, not a dash. Expected text built from the library's table, rounded as
    format_number does (one decimal, decimal comma)."""
    from evaluation.present.annual import decomposition_block
    from evaluation.stats import employment_gap as eg

    ctx = annual_context(2021, comparator=comparator)
    row = eg.standardised_rates(ctx.barometer, 2021).set_index("territory").loc[comparator]
    text = decomposition_block(ctx).markup
    standardised = f"{row['standardised_gap_pp']:.1f}".replace(".", ",")
    crude = f"{row['crude_gap_pp']:.1f}".replace(".", ",")
    assert f"serait de {standardised}\u00a0points, contre {crude}\u00a0points observés" in text
    assert "– point" not in text
    article = "l'ensemble de la Métropole" if comparator == "MEL" else "la Métropole hors quartiers prioritaires"
    assert f"l'écart entre {article} et les quartiers prioritaires" in text


def test_guards_in_french_name_a_changing_set_of_qpv():
    """gap_series warns when the QPV aggregate does not sum the same QPV every year: the report says
    so in French (a change of perimeter, not of employment)."""
    guards = ("the QPV aggregate does not sum the same number of QPV every year (26 in 2015, 25 in 2016): ...",)
    assert guards_fr(guards) == [
        "L'ensemble des quartiers prioritaires ne réunit pas les mêmes quartiers chaque année (données manquantes) : "
        "une partie de l'évolution de son taux peut tenir à ce changement de périmètre."
    ]
