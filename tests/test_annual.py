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
    from evaluation.stats.employment_gap import Caveat, CaveatKind

    guards = (
        Caveat(
            "census vintages less than 5 years apart are compared: 2017 vs 2018 (4 of 5 surveys shared); ...",
            CaveatKind.OVERLAPPING_VINTAGES,
        ),
        Caveat(
            "QN05967M 2015 employed_15_64 (sex ensemble, age 15-24): 76 is below 200, INSEE's caution threshold",
            CaveatKind.SMALL_COUNT,
        ),
        Caveat("... and 12 more sampled counts below 200", CaveatKind.MORE_SMALL_COUNTS, 12),
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
    import warnings

    from evaluation.stats import employment_gap as eg

    ctx = annual_context(2021)
    rows = ctx.barometer[~((ctx.barometer["territory"] == "QN05967M") & (ctx.barometer["year"] == 2016))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", eg.EvaluationWarning)
        eg.gap_series(rows)
    guards = [g for g in eg.caveats_of(caught) if g.kind is eg.CaveatKind.CHANGING_PERIMETER]
    assert len(guards) == 1  # the library's own warning, with its kind
    assert guards_fr(guards) == [
        "L'ensemble des quartiers prioritaires ne réunit pas les mêmes quartiers chaque année (données manquantes) : "
        "une partie de l'évolution de son taux peut tenir à ce changement de périmètre."
    ]


def test_caveats_are_rendered_in_french_from_their_kind_not_their_words():
    """Issue 13: a caveat reworded in English must not vanish from the French report."""
    import pickle

    from evaluation.present.annual import CAVEATS_FR, guards_fr
    from evaluation.stats.employment_gap import Caveat, CaveatKind

    # Every kind has its sentence (the extra small counts are added to the small ones).
    assert set(CAVEATS_FR) == set(CaveatKind) - {CaveatKind.MORE_SMALL_COUNTS}
    reworded = Caveat("entirely new words about the 2015 collection", CaveatKind.METHOD_CHANGE)
    assert guards_fr([reworded]) == [CAVEATS_FR[CaveatKind.METHOD_CHANGE]]
    # 3 small counts named one by one + "... and 5 more": 8 in the sentence.
    small = [Caveat(f"count {i}", CaveatKind.SMALL_COUNT) for i in range(3)]
    more = Caveat("... and 5 more", CaveatKind.MORE_SMALL_COUNTS, 5)
    (sentence,) = guards_fr([*small, more])
    assert sentence.startswith("8 effectifs issus du recensement")
    with pytest.raises(TypeError, match="without a kind"):
        guards_fr(["a caveat written as a plain string"])
    # Kept through the run's pickled caches.
    again = pickle.loads(pickle.dumps(more))
    assert (again, again.kind, again.count) == ("... and 5 more", CaveatKind.MORE_SMALL_COUNTS, 5)


def test_the_published_gap_keeps_the_kinds_of_its_caveats():
    from evaluation.present.annual import annual_context

    ctx = annual_context(2018, "", "MEL", 0)
    assert ctx.guards and all(hasattr(g, "kind") for g in ctx.guards)
