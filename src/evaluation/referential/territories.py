"""The territories of the barometer: the 26 QPV of the MEL (real reference data) and two aggregates.

The reference file ``data/reference/qpv_mel_2024.csv`` is the real list of the *quartiers
prioritaires de la politique de la ville* (QPV) of the Métropole Européenne de Lille in the 2024
geography (décret 2023-1314), with their communes, municipal population and a cross-section of
SIG Ville indicators (see ``data/reference/README.md``). **The source does not state the year of
those indicators**: :func:`reference_provenance` returns the file's own comment lines (source and
caveat), to be shown wherever the data is shown.

A QPV may straddle several communes (``QN05972M`` Secteur Sud covers Faches-Thumesnil, Lezennes,
Lille and Loos): it keeps all of them, and its figures are never split between them because the
source gives none per commune.

Territory codes used throughout the package: the QPV codes (``QN.....``) and the aggregates of
:data:`AGGREGATES`: ``MEL`` (the whole Métropole, QPV included: the plan's comparator) and
``MEL_HORS_QPV`` (the Métropole outside the priority neighbourhoods).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from evaluation.config import DATA_DIR
from evaluation.errors import InputError

__all__ = [
    "REFERENCE_FILE",
    "QPV_COUNT",
    "AGGREGATES",
    "Commune",
    "Qpv",
    "load_qpv",
    "reference_provenance",
    "communes_frame",
    "territory_names",
]

#: The reference list of the QPV of the MEL (real data, never edited by hand).
REFERENCE_FILE = DATA_DIR / "reference" / "qpv_mel_2024.csv"

#: Number of QPV of the MEL (2024 geography), as the plan counts them ("26 quartiers").
QPV_COUNT = 26

#: Aggregate territories: code -> display name. ``MEL`` includes the QPV.
AGGREGATES = MappingProxyType(
    {
        "MEL": "Métropole européenne de Lille (ensemble)",
        "MEL_HORS_QPV": "Métropole hors quartiers prioritaires",
    }
)

#: Header of the reference file -> field of :class:`Qpv` (the numeric columns after the communes).
_NUMERIC_COLUMNS = MappingProxyType(
    {
        "popMuniQPV": "population",
        "taux_d_emploi": "employment_rate_pct",
        "taux_pauvrete_60": "poverty_rate_pct",
        "allocataires_CAF": "caf_recipients",
        "personnes_couvertes_CAF": "caf_covered_people",
        "RSA_socle": "rsa_recipients",
        "nombre_menages": "households",
        "nombre_logements_sociaux": "social_housing_units",
        "taux_logements_sociaux": "social_housing_pct",
    }
)
_HEADER = ("code_qp", "lib_qp", "insee_com", "lib_com", *_NUMERIC_COLUMNS)
_CODE = re.compile(r"QN\d{5}[A-Z]")
_INSEE = re.compile(r"\d{5}|2[AB]\d{3}")
_FIX = "replace the file by a fresh extraction, never edit it by hand (see data/reference/README.md)"


@dataclass(frozen=True)
class Commune:
    """A commune: its INSEE code (``59350``) and its name (``Lille``)."""

    insee: str
    name: str


@dataclass(frozen=True)
class Qpv:
    """One priority neighbourhood as the reference file describes it (SIG Ville cross-section).

    Attributes
    ----------
    code, name:
        QPV code of the 2024 geography (``QN05972M``) and its name.
    communes:
        Every commune it covers, in the file's order (one or several).
    population:
        Municipal population (``popMuniQPV``), persons.
    employment_rate_pct:
        Employment rate (``taux_d_emploi``), %: employed persons / persons, presumably aged 15-64.
    poverty_rate_pct:
        Poverty rate at 60 % of the national median standard of living (``taux_pauvrete_60``), %.
    caf_recipients, caf_covered_people:
        CAF benefit recipients (allocataires) and the persons covered (their households), persons.
    rsa_recipients:
        Recipients of the basic RSA (``RSA_socle``), persons.
    households:
        Number of households (a fractional estimate in the source), or None when not given.
    social_housing_units, social_housing_pct:
        Social housing units, and their share of the dwellings in %, or None when not given.

    The year of these indicators is not stated by the source (see :func:`reference_provenance`).
    """

    code: str
    name: str
    communes: tuple[Commune, ...]
    population: int
    employment_rate_pct: float | None
    poverty_rate_pct: float | None
    caf_recipients: float | None
    caf_covered_people: float | None
    rsa_recipients: float | None
    households: float | None
    social_housing_units: float | None
    social_housing_pct: float | None


# --------------------------------------------------------------------------------------------------
# Reading


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """``(line number, cells)`` of every non-blank line, comment lines (``#``) kept as one cell."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise InputError(f"cannot be read ({err.strerror})", path=path, hint=_FIX) from err
    except UnicodeDecodeError as err:
        raise InputError("is not UTF-8 text", path=path, hint=_FIX) from err
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith("#"):
            rows.append((number, [line]))
        else:
            rows.append((number, next(csv.reader(io.StringIO(line)))))
    return rows


def reference_provenance(path: Path | str | None = None) -> tuple[str, ...]:
    """The comment lines of the reference file (source, geography, caveat), without their ``#``, in order.

    These lines say where the data comes from and that **the year of the indicators is not stated
    by the source**: show them wherever the reference data is shown (``"\n".join(...)`` for a
    single text).
    """
    path = Path(path) if path is not None else REFERENCE_FILE
    return tuple(cells[0].lstrip("#").strip() for _, cells in _lines(path) if cells[0].startswith("#"))


def _number(text: str, path: Path, line: int, column: str) -> float | None:
    """A cell of a numeric column: a float, or None when blank."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError as err:
        raise InputError(
            f"'{text}' is not a number", path=path, line=line, column=column, value=text, hint=_FIX
        ) from err


def _communes(cells: dict[str, str], path: Path, line: int) -> tuple[Commune, ...]:
    """The communes of a row: INSEE codes and names separated by ``;``, as many of each."""
    codes = [c.strip() for c in cells["insee_com"].split(";")]
    names = [n.strip() for n in cells["lib_com"].split(";")]
    if len(codes) != len(names):
        raise InputError(
            f"{len(codes)} INSEE code(s) but {len(names)} commune name(s) ('{cells['lib_com']}')",
            path=path,
            line=line,
            column="insee_com",
            value=cells["insee_com"],
            hint="give one INSEE code per commune, both lists separated by ';' in the same order; " + _FIX,
        )
    for code in codes:
        if not _INSEE.fullmatch(code):
            raise InputError(
                f"'{code}' is not an INSEE commune code",
                path=path,
                line=line,
                column="insee_com",
                value=code,
                hint="5 characters, e.g. 59350; " + _FIX,
            )
    if not all(names):
        raise InputError("a commune name is empty", path=path, line=line, column="lib_com", hint=_FIX)
    return tuple(Commune(code, name) for code, name in zip(codes, names, strict=True))


def _qpv(cells: dict[str, str], path: Path, line: int) -> Qpv:
    code = cells["code_qp"].strip()
    if not _CODE.fullmatch(code):
        raise InputError(
            f"'{code}' is not a QPV code", path=path, line=line, column="code_qp", value=code, hint="e.g. QN05972M"
        )
    numbers = {field: _number(cells[column], path, line, column) for column, field in _NUMERIC_COLUMNS.items()}
    population = numbers.pop("population")
    if population is None or population <= 0 or not population.is_integer():
        raise InputError(
            f"'{cells['popMuniQPV']}' is not a population (a whole number above 0)",
            path=path,
            line=line,
            column="popMuniQPV",
            value=cells["popMuniQPV"],
            hint=_FIX,
        )
    for column in ("taux_d_emploi", "taux_pauvrete_60"):
        rate = numbers[_NUMERIC_COLUMNS[column]]
        if rate is not None and not 0 <= rate <= 100:
            raise InputError(
                f"'{cells[column]}' is not a percentage between 0 and 100",
                path=path,
                line=line,
                column=column,
                value=cells[column],
                hint=_FIX,
            )
    return Qpv(
        code=code,
        name=cells["lib_qp"].strip(),
        communes=_communes(cells, path, line),
        population=int(population),
        **numbers,
    )


def load_qpv(path: Path | str | None = None) -> tuple[Qpv, ...]:
    """The QPV of the reference file, in the file's order (``path`` defaults to :data:`REFERENCE_FILE`).

    Checks: the header names the expected columns in order; each row has as many cells; codes are
    QPV codes (``QN`` + 5 digits + a letter), unique, and there are :data:`QPV_COUNT` of them; each
    row lists as many INSEE codes as commune names; numbers parse (the population is a whole number
    above 0, the employment and poverty rates lie within 0-100 %; the social-housing rate may exceed 100
    in the source and is not bounded). Any problem raises :class:`~evaluation.errors.InputError`
    naming the file, the line and the column.
    """
    path = Path(path) if path is not None else REFERENCE_FILE
    rows = [(number, cells) for number, cells in _lines(path) if not cells[0].startswith("#")]
    if not rows:
        raise InputError("has no header and no data", path=path, hint=_FIX)
    header_line, header = rows[0]
    if tuple(h.strip() for h in header) != _HEADER:
        raise InputError(
            f"unexpected header ({','.join(header)})",
            path=path,
            line=header_line,
            hint=f"expected {','.join(_HEADER)}; {_FIX}",
        )
    qpv: list[Qpv] = []
    first_line: dict[str, int] = {}
    for number, cells in rows[1:]:
        if len(cells) != len(_HEADER):
            raise InputError(
                f"{len(cells)} cells where the header has {len(_HEADER)}",
                path=path,
                line=number,
                hint="check the quotes around names holding a comma; " + _FIX,
            )
        record = _qpv(dict(zip(_HEADER, cells, strict=True)), path, number)
        if record.code in first_line:
            raise InputError(
                f"QPV '{record.code}' is also given at line {first_line[record.code]}",
                path=path,
                line=number,
                column="code_qp",
                value=record.code,
                hint=_FIX,
            )
        first_line[record.code] = number
        qpv.append(record)
    if len(qpv) != QPV_COUNT:
        raise InputError(f"{len(qpv)} QPV where the MEL has {QPV_COUNT}", path=path, hint=_FIX)
    return tuple(qpv)


# --------------------------------------------------------------------------------------------------
# Views


def communes_frame(qpv: tuple[Qpv, ...] | None = None) -> pd.DataFrame:
    """One row per (QPV, commune) pair: multi-commune QPV keep every commune (nothing is dropped).

    Columns: ``code`` and ``name`` (of the QPV), ``insee`` and ``commune`` (of the commune),
    ``communes_in_qpv`` (how many communes the QPV covers: a QPV's figures belong to the whole QPV
    and cannot be split between its communes, so a per-commune sum of QPV figures counts a
    multi-commune QPV in each of them).
    Rows in the file's order, communes in their listed order. ``qpv`` defaults to :func:`load_qpv`.
    """
    qpv = qpv if qpv is not None else load_qpv()
    rows = [(q.code, q.name, commune.insee, commune.name, len(q.communes)) for q in qpv for commune in q.communes]
    return pd.DataFrame(rows, columns=["code", "name", "insee", "commune", "communes_in_qpv"])


def territory_names(qpv: tuple[Qpv, ...] | None = None) -> dict[str, str]:
    """Territory code -> display name: the QPV (file order, their names) then :data:`AGGREGATES`."""
    qpv = qpv if qpv is not None else load_qpv()
    return {**{q.code: q.name for q in qpv}, **AGGREGATES}
