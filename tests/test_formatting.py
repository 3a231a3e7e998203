"""French typography of report figures."""

from __future__ import annotations

import pandas as pd

from evaluation.formatting import NBSP, format_date, format_eur, format_number, format_pct, format_period, html_table


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
