"""The real reference list of the 26 QPV of the MEL: reading, validation, communes, names.

Expected figures come from ``data/reference/qpv_mel_2024.csv`` itself, read again here with the
``csv`` module (an independent reader), and from the plan ("26 quartiers").
"""

from __future__ import annotations

import csv
import io

import pytest

from evaluation.errors import InputError
from evaluation.referential.territories import (
    AGGREGATES,
    REFERENCE_FILE,
    Commune,
    communes_frame,
    load_qpv,
    reference_provenance,
    territory_names,
)


def _rows_by_csv_module() -> tuple[list[str], list[dict[str, str]]]:
    """Comment lines and data rows of the reference file, read with the standard csv module."""
    text = REFERENCE_FILE.read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    data = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return comments, list(csv.DictReader(io.StringIO(data)))


@pytest.fixture(scope="module")
def qpv():
    return load_qpv()


def test_26_qpv_in_file_order(qpv):
    _, rows = _rows_by_csv_module()
    assert len(qpv) == 26
    assert [q.code for q in qpv] == [r["code_qp"] for r in rows]
    assert len({q.code for q in qpv}) == 26
    assert all(q.code.startswith("QN") for q in qpv)
    assert qpv[0].code == "QN05965M" and qpv[0].name == "Pont de Bois-Hôtel de ville"
    assert qpv[-1].code == "QN05991N" and qpv[-1].name == "Le Parc"


def test_total_population_equals_the_files_sum(qpv):
    _, rows = _rows_by_csv_module()
    expected = sum(int(r["popMuniQPV"]) for r in rows)
    assert sum(q.population for q in qpv) == expected
    assert all(isinstance(q.population, int) for q in qpv)


def test_numbers_and_blanks(qpv):
    by_code = {q.code: q for q in qpv}
    secteur_sud = by_code["QN05972M"]
    assert secteur_sud.population == 53291
    assert secteur_sud.employment_rate_pct == 45.9
    assert secteur_sud.poverty_rate_pct == 46.3
    assert secteur_sud.caf_recipients == 21681.0
    assert secteur_sud.households == 26225.9
    # Two QPV have no household count and no social-housing rate in the source: None, not 0.
    assert sum(q.households is None for q in qpv) == 2
    assert sum(q.social_housing_pct is None for q in qpv) == 2


def test_multi_commune_qpv_keep_all_their_communes(qpv):
    by_code = {q.code: q for q in qpv}
    assert {code: len(q.communes) for code, q in by_code.items() if len(q.communes) > 1} == {
        "QN05969M": 3,
        "QN05972M": 4,
        "QN05978M": 3,
        "QN05980M": 4,
        "QN05988M": 2,
    }
    assert by_code["QN05972M"].communes == (
        Commune("59220", "Faches-Thumesnil"),
        Commune("59346", "Lezennes"),
        Commune("59350", "Lille"),
        Commune("59360", "Loos"),
    )
    assert [c.name for c in by_code["QN05980M"].communes] == ["Croix", "Roubaix", "Tourcoing", "Wattrelos"]


def test_communes_frame_has_one_row_per_qpv_and_commune(qpv):
    """26 QPV: 21 with one commune and 5 with 3 + 4 + 3 + 4 + 2 communes: 21 + 16 = 37 pairs."""
    _, rows = _rows_by_csv_module()
    frame = communes_frame(qpv)
    assert list(frame.columns) == ["code", "name", "insee", "commune", "communes_in_qpv"]
    assert len(frame) == sum(len(r["insee_com"].split(";")) for r in rows) == 37
    assert set(frame["code"]) == {q.code for q in qpv}
    lille = frame[frame["commune"] == "Lille"]
    assert list(lille["code"]) == ["QN05971M", "QN05972M", "QN05973M", "QN05974M", "QN05978M"]
    assert frame.loc[frame["code"] == "QN05972M", "communes_in_qpv"].tolist() == [4, 4, 4, 4]
    assert frame["insee"].nunique() == 19


def test_provenance_keeps_the_source_and_the_caveat():
    comments, _ = _rows_by_csv_module()
    lines = reference_provenance()
    assert lines == tuple(line.lstrip("#").strip() for line in comments)
    text = "\n".join(lines)
    assert "decret 2023-1314" in text
    assert "Annee des indicateurs non indiquee par la source" in text


def test_territory_names(qpv):
    names = territory_names(qpv)
    assert len(names) == 28
    assert list(names)[-2:] == ["MEL", "MEL_HORS_QPV"]
    assert names["MEL"] == AGGREGATES["MEL"] == "Métropole européenne de Lille (ensemble)"
    assert names["MEL_HORS_QPV"] == "Métropole hors quartiers prioritaires"
    assert names["QN05972M"] == "Secteur Sud"


# --------------------------------------------------------------------------------------------------
# A malformed copy is refused with its place


def _copy_with(tmp_path, old: str, new: str):
    text = REFERENCE_FILE.read_bytes().decode("utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "qpv.csv"
    path.write_bytes(text.replace(old, new).encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "59220;59346;59350;59360,Faches",
            "59220;59346;59350,Faches",
            "line 12, field 'insee_com': 3 INSEE code(s) but 4 commune name(s) "
            "('Faches-Thumesnil;Lezennes;Lille;Loos')",
        ),
        ("Lille,1815,49.6", "Lille,18I5,49.6", "line 11, field 'popMuniQPV': '18I5' is not a number"),
        (
            "QN05974M,Secteur Nord,",
            "QN05973M,Secteur Nord,",
            "line 14, field 'code_qp': QPV 'QN05973M' is also given at line 13",
        ),
        ("QN05970M,Pacot", "QX05970M,Pacot", "line 10, field 'code_qp': 'QX05970M' is not a QPV code (e.g. QN05972M)"),
        ("Le Parc,59286,Haubourdin,1480,57.3", "Le Parc,59286,Haubourdin,1480,157.3", "line 30, field 'taux_d_emploi'"),
    ],
)
def test_a_malformed_copy_names_the_line(tmp_path, old, new, message):
    path = _copy_with(tmp_path, old, new)
    with pytest.raises(InputError) as caught:
        load_qpv(path)
    assert str(caught.value).startswith(f"{path}, {message}")
    assert caught.value.path == path


def test_a_missing_row_is_refused(tmp_path):
    text = REFERENCE_FILE.read_bytes().decode("utf-8")
    path = tmp_path / "qpv.csv"
    path.write_bytes("".join(line for line in text.splitlines(keepends=True) if "QN05991N" not in line).encode())
    with pytest.raises(InputError, match="25 QPV where the MEL has 26"):
        load_qpv(path)
