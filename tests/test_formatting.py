"""French typography of report figures."""

from __future__ import annotations

import pandas as pd

from evaluation.formatting import (
    NBSP,
    format_change,
    format_count,
    format_date,
    format_eur,
    format_number,
    format_ordinal,
    format_pct,
    format_period,
    html_table,
    plural,
    sort_key_fr,
)


def test_numbers():
    assert format_number(1250.5) == f"1{NBSP}250,5"
    assert format_number(1250) == f"1{NBSP}250"
    assert format_number(0.25, 2) == "0,25"
    assert format_number(None) == "–"
    assert format_number(float("nan")) == "–"
    assert format_number(-1234567) == f"-1{NBSP}234{NBSP}567"


def test_units():
    assert format_pct(44) == f"44{NBSP}%"
    assert format_pct(44.25, 1) == f"44,2{NBSP}%"  # Python rounds half to even on the binary value 44.25
    assert format_eur(210000) == f"210{NBSP}000{NBSP}€"
    assert format_eur(None) == "non chiffré"


def test_dates():
    assert format_date("2018") == "2018"
    assert format_date("2018-12") == "décembre 2018"
    assert format_date("2018-06-15") == "15 juin 2018"
    assert format_date("2018-06-01") == "1er juin 2018"


def test_periods():
    assert format_period("2018-06-01", "2021-05-31") == "du 1er juin 2018 au 31 mai 2021"
    assert format_period("2018-04", "2019-12") == "d'avril 2018 à décembre 2019"
    assert format_period("2018-03", "2018-04") == "de mars 2018 à avril 2018"
    assert format_period("2018", "2019") == "de 2018 à 2019"
    assert format_period("2018-12") == "décembre 2018"


def test_html_table_escapes_and_is_deterministic():
    frame = pd.DataFrame({"a": ["<b>"], "n": ["1"]})
    first = html_table(frame, numeric=["n"])
    assert first == html_table(frame, numeric=["n"])
    assert "&lt;b&gt;" in first and '<td class="num">1</td>' in first


def test_no_negative_zero():
    # -0.04 rounds to 0.0 with one decimal: no sign on a zero.
    assert format_number(-0.04, 1) == "0,0"
    assert format_number(-0.4, 0) == "0"
    assert format_number(-0.4, 1) == "-0,4"
    assert format_number(-0.0) == "0"


def test_changes_carry_their_sign():
    assert format_change(1.42) == "+1,4"
    assert format_change(-0.3) == "-0,3"
    assert format_change(-0.04) == "0,0"
    assert format_change(0) == "0,0"
    assert format_change(1250.04) == f"+1{NBSP}250,0"
    assert format_change(float("nan")) == "–"


def test_counted_nouns_agree():
    assert format_count(1, "personne") == f"1{NBSP}personne"
    assert format_count(0, "case") == f"0{NBSP}case"  # French: zero takes the singular
    assert format_count(3, "case") == f"3{NBSP}cases"
    assert format_count(1.5, "personne") == f"1,5{NBSP}personne"
    assert format_count(2, "effectif ou taux", "effectifs ou taux") == f"2{NBSP}effectifs ou taux"
    assert plural(2, "mois", "mois") == "mois"


def test_ordinals():
    assert [format_ordinal(n) for n in (1, 2, 3, 21, 26)] == ["1er", "2e", "3e", "21e", "26e"]


def test_french_name_order():
    names = ["Villeneuve-d'Ascq", "Wattrelos", "Écully", "Armentières", "Croix", "Faches-Thumesnil", "armentières"]
    # Accents and case do not decide: É sorts as E, between Croix and Faches; ties broken by the exact text.
    assert sorted(names, key=sort_key_fr) == [
        "Armentières",
        "armentières",
        "Croix",
        "Écully",
        "Faches-Thumesnil",
        "Villeneuve-d'Ascq",
        "Wattrelos",
    ]
