"""Seeded generator of SYNTHETIC comparison series for the impact estimates (:mod:`evaluation.stats.impact`).

**Nothing this module produces is real** (:data:`SYNTHETIC` is True, :data:`DEMO_NOTE` is the banner
to show). The codes, names and populations of the 26 QPV of the MEL come from the real reference
list (:func:`evaluation.referential.territories.load_qpv`); the other territories' names are those of real
metropoles; every *value* is drawn at random, to show what the reports look like when the plan has
an effect of known size, and must never be quoted as a fact about any territory.

:func:`comparison_panel` returns one row per territory and year 2012-2021 (:data:`YEARS`; the plan
starts in 2018, :data:`~evaluation.stats.impact.PLAN_START_YEAR`) with the columns
:data:`PANEL_COLUMNS`: ``territory`` (code), ``name`` (French), ``group`` (:data:`GROUPS`),
``year`` and four indicators (:data:`INDICATORS`):

* ``qpv_mel``: each of the 26 QPV of the MEL (the treated units of :func:`evaluation.stats.impact.did`);
* ``qpv_mel_ensemble``: the 26 together, ``QPV_MEL`` (:data:`TREATED_AGGREGATE`, the treated
  unit of :func:`evaluation.stats.impact.synthetic_control`), the population-weighted mean of the 26;
* ``qpv_metropoles``: the QPV of each of 16 other metropoles taken together (:data:`METROPOLES`);
* ``veille_active_mel``: the MEL's former priority areas (quartiers de veille active), together;
* ``france_qpv`` and ``france_hors_qpv``: national aggregates (all QPV of France, which include the
  MEL's; France outside the QPV, a different level altogether).

:data:`DONOR_GROUPS` are the comparison groups used by default (the national aggregates are left out:
one contains the treated QPV, the other is not comparable).

**How a series is drawn.** For territory ``i``, indicator ``k`` and year ``t``::

    x_ikt = level_ik + trend_ik x (t - 2015) + common_kt + effect_k(t) [MEL QPV only] + noise_ikt

``level``: for a MEL QPV its real cross-section figure (``taux_d_emploi``, ``taux_pauvrete_60``;
jobseekers and creations scaled on the employment rate), all shifted so that the 26 together are at
the anchor of :data:`ANCHORS_2015` in 2015 (44 % employment, the plan's baseline); for a comparison
territory the anchor plus a uniform offset of ``+/- spread``. ``trend``: the indicator's common
trend plus N(0, trend_sd). ``common``: a path shared by every territory (2020: the health crisis).
``noise``: N(0, sd), sd ``noise`` for a metropole's QPV, ``noise / 3`` for the veille active and
the national aggregates, ``noise x (2 + 30 / sqrt(population 15-64))`` for a single MEL QPV (their
population-weighted mean, ``QPV_MEL``, is less noisy than ``noise``). Rates are rounded to 0.1, creations to 0.01. Every territory follows the same
common path, so the only departures from parallel trends are the random trends: real series will
be harder to compare.

**The built-in effect** (:data:`EFFECT_2021`, :func:`built_in_effect`): every MEL QPV (hence their
aggregate) gets ``effect_k(t) = EFFECT_2021[k] x (t - 2017) / 4`` for ``t`` in 2018-2021, e.g.
+0.375, +0.75, +1.125, +1.5 points of employment rate; 0 before. A two-way fixed-effects
difference-in-differences on the whole post period estimates the mean over 2018-2021
(:func:`average_post_effect`, +0.9375 points); the synthetic control's gap estimates each year's.
The poverty rate gets no effect: the reports show what a null result looks like.

:func:`write_comparison` writes the panel as a data directory's ``comparison/`` folder (the format
of :mod:`evaluation.intake.comparison`): ``territoires.yaml`` (declared ``synthetic: true``) and
the series in a French CSV; ``python -m evaluation_demo`` calls it for ``data/demo/comparison/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.errors import UsageError
from evaluation.referential.territories import load_qpv
from evaluation.stats.impact import PLAN_START_YEAR, REFERENCE_YEAR

__all__ = [
    "SYNTHETIC",
    "DEMO_NOTE",
    "DEMO_COMPARISON_SEED",
    "YEARS",
    "INDICATORS",
    "GROUPS",
    "TREATED_GROUP",
    "TREATED_AGGREGATE",
    "DONOR_GROUPS",
    "METROPOLES",
    "ANCHORS_2015",
    "EFFECT_2021",
    "PANEL_COLUMNS",
    "built_in_effect",
    "average_post_effect",
    "comparison_panel",
    "COMPARISON_SERIES_FILE",
    "write_comparison",
]

#: Every value of :func:`comparison_panel` is synthetic.
SYNTHETIC = True
#: Banner for any report built on these series.
DEMO_NOTE = (
    "Données de démonstration : les séries des territoires de comparaison et des QPV de la MEL sont "
    "synthétiques, tirées au hasard avec un effet du plan connu à l'avance ; elles ne décrivent aucun territoire réel."
)
#: Seed of :func:`comparison_panel`.
DEMO_COMPARISON_SEED = 20180617
#: Years of the panel: six before the plan, the four of the plan.
YEARS = tuple(range(2012, 2022))
_BASE_YEAR = 2015  # the plan's baselines are 2015 figures
_FULL_EFFECT_YEAR = 2021

#: Indicator column -> French label (the unit is in the column name).
INDICATORS = MappingProxyType(
    {
        "employment_rate_pct": "Taux d'emploi des 15-64 ans (%)",
        "jobseekers_per_1000": "Demandeurs d'emploi (cat. A, B, C) pour 1 000 habitants de 15-64 ans",
        "business_creations_per_1000": "Créations d'entreprises pour 1 000 habitants",
        "poverty_rate_pct": "Taux de pauvreté (%)",
    }
)

#: Group code -> French label.
GROUPS = MappingProxyType(
    {
        "qpv_mel": "QPV de la MEL (un par un)",
        "qpv_mel_ensemble": "QPV de la MEL (ensemble)",
        "qpv_metropoles": "QPV d'une autre métropole (ensemble)",
        "veille_active_mel": "Quartiers de veille active de la MEL",
        "france_qpv": "France, ensemble des QPV",
        "france_hors_qpv": "France hors QPV",
    }
)
#: The treated units of the difference-in-differences: the MEL's QPV one by one.
TREATED_GROUP = "qpv_mel"
#: The treated unit of the synthetic control: the 26 QPV of the MEL together.
TREATED_AGGREGATE = "QPV_MEL"
#: Comparison groups used by default (DiD controls, synthetic-control donors).
DONOR_GROUPS = ("qpv_metropoles", "veille_active_mel")

#: Other metropoles whose QPV form one comparison unit each: code -> French name.
METROPOLES = MappingProxyType(
    {
        "QPV_AIX_MARSEILLE": "QPV de la métropole d'Aix-Marseille-Provence",
        "QPV_BORDEAUX": "QPV de Bordeaux Métropole",
        "QPV_BREST": "QPV de Brest Métropole",
        "QPV_CLERMONT": "QPV de Clermont Auvergne Métropole",
        "QPV_DIJON": "QPV de Dijon Métropole",
        "QPV_GRENOBLE": "QPV de Grenoble-Alpes Métropole",
        "QPV_LYON": "QPV de la Métropole de Lyon",
        "QPV_METZ": "QPV de Metz Métropole",
        "QPV_MONTPELLIER": "QPV de Montpellier Méditerranée Métropole",
        "QPV_NANCY": "QPV de la Métropole du Grand Nancy",
        "QPV_NANTES": "QPV de Nantes Métropole",
        "QPV_NICE": "QPV de la Métropole Nice Côte d'Azur",
        "QPV_RENNES": "QPV de Rennes Métropole",
        "QPV_ROUEN": "QPV de la Métropole Rouen Normandie",
        "QPV_STRASBOURG": "QPV de l'Eurométropole de Strasbourg",
        "QPV_TOULOUSE": "QPV de Toulouse Métropole",
    }
)
_OTHER_AGGREGATES = (
    ("QVA_MEL", "Quartiers de veille active de la MEL", "veille_active_mel"),
    ("FRANCE_QPV", "France, ensemble des QPV", "france_qpv"),
    ("FRANCE_HORS_QPV", "France hors QPV", "france_hors_qpv"),
)

#: Level of the 26 MEL QPV together in 2015, per indicator (employment: the plan's 44 %).
ANCHORS_2015 = MappingProxyType(
    {
        "employment_rate_pct": 44.0,
        "jobseekers_per_1000": 215.0,
        "business_creations_per_1000": 6.0,
        "poverty_rate_pct": 43.0,
    }
)
#: Built-in effect of the plan on every MEL QPV in 2021, in the indicator's unit (reached linearly from 2018).
EFFECT_2021 = MappingProxyType(
    {
        "employment_rate_pct": 1.5,
        "jobseekers_per_1000": -8.0,
        "business_creations_per_1000": 0.8,
        "poverty_rate_pct": 0.0,
    }
)

#: Columns of :func:`comparison_panel`, in order.
PANEL_COLUMNS = ("territory", "name", "group", "year", *INDICATORS)


@dataclass(frozen=True)
class _Spec:
    """How an indicator is drawn: yearly trend (mean, sd), the comparison units' spread around the
    anchor, the aggregates' noise sd, the common path by year (added to every territory), decimals."""

    trend: float
    trend_sd: float
    spread: float
    noise: float
    common: Mapping[int, float]
    decimals: int


def _path(values: Mapping[int, float]) -> Mapping[int, float]:
    return MappingProxyType({year: values.get(year, 0.0) for year in YEARS})


_CREATION_PROFILE = (0.98, 0.97, 0.96, 1.00, 1.05, 1.12, 1.30, 1.50, 1.58, 1.85)  # x the 2015 level, 2012-2021

_SPECS = MappingProxyType(
    {
        "employment_rate_pct": _Spec(0.4, 0.12, 5.0, 0.15, _path({2020: -1.0, 2021: -0.4}), 1),
        "jobseekers_per_1000": _Spec(-1.5, 0.6, 30.0, 1.0, _path({2020: 6.0, 2021: 2.0}), 1),
        "business_creations_per_1000": _Spec(
            0.0,
            0.05,
            1.5,
            0.08,
            _path({y: 6.0 * (f - 1.0) for y, f in zip(YEARS, _CREATION_PROFILE, strict=True)}),
            2,
        ),
        "poverty_rate_pct": _Spec(0.1, 0.08, 5.0, 0.2, _path({2020: 0.5, 2021: 0.3}), 1),
    }
)

# National aggregates: level relative to the MEL QPV anchor (France hors QPV is far off on purpose).
_NATIONAL_OFFSETS = MappingProxyType(
    {
        "QVA_MEL": {
            "employment_rate_pct": 8.0,
            "jobseekers_per_1000": -45.0,
            "business_creations_per_1000": 1.0,
            "poverty_rate_pct": -14.0,
        },
        "FRANCE_QPV": {
            "employment_rate_pct": 1.5,
            "jobseekers_per_1000": -5.0,
            "business_creations_per_1000": 0.3,
            "poverty_rate_pct": -0.5,
        },
        "FRANCE_HORS_QPV": {
            "employment_rate_pct": 22.0,
            "jobseekers_per_1000": -95.0,
            "business_creations_per_1000": 3.0,
            "poverty_rate_pct": -30.0,
        },
    }
)
_SHARE_15_64 = 0.63  # share of the 15-64 in a QPV's population (as evaluation_demo.generate)


def built_in_effect(indicator: str, year: int) -> float:
    """The effect built into every MEL QPV in ``year``: ``EFFECT_2021[indicator] x (year - 2017) / 4`` from 2018, else 0."""
    if indicator not in EFFECT_2021:
        raise UsageError(f"unknown indicator {indicator!r} (one of {', '.join(EFFECT_2021)})")
    progress = min(max(year - REFERENCE_YEAR, 0), _FULL_EFFECT_YEAR - REFERENCE_YEAR)
    return EFFECT_2021[indicator] * progress / (_FULL_EFFECT_YEAR - REFERENCE_YEAR)


def average_post_effect(indicator: str) -> float:
    """Mean of :func:`built_in_effect` over 2018-2021: what a DiD on the whole post period estimates."""
    years = range(PLAN_START_YEAR, _FULL_EFFECT_YEAR + 1)
    return sum(built_in_effect(indicator, t) for t in years) / len(years)


def _qpv_levels(indicator: str, rates: np.ndarray, poverty: np.ndarray) -> np.ndarray:
    """Relative 2015 levels of the 26 QPV (before the shift to the anchor)."""
    if indicator == "employment_rate_pct":
        return rates
    if indicator == "poverty_rate_pct":
        return poverty
    # Fewer jobs, more jobseekers and fewer creations: scale the anchor on the employment rate.
    relative = rates / np.mean(rates)
    if indicator == "jobseekers_per_1000":
        return ANCHORS_2015[indicator] * relative**-1.5
    return ANCHORS_2015[indicator] * relative


def _series(
    level: float, spec: _Spec, rng: np.random.Generator, noise_sd: float, effect: bool, indicator: str
) -> np.ndarray:
    trend = spec.trend + rng.normal(0.0, spec.trend_sd)
    noise = rng.normal(0.0, noise_sd, len(YEARS))
    values = np.array(
        [
            level
            + trend * (t - _BASE_YEAR)
            + spec.common[t]
            + (built_in_effect(indicator, t) if effect else 0.0)
            + noise[i]
            for i, t in enumerate(YEARS)
        ]
    )
    return values


def comparison_panel(seed: int = DEMO_COMPARISON_SEED) -> pd.DataFrame:
    """The SYNTHETIC panel described in the module docstring: one row per territory and year 2012-2021.

    Deterministic: one ``numpy.random.default_rng(seed)``, drawn indicator by indicator, territory by
    territory in the row order (26 QPV by code, then the metropoles by code, then the veille
    active, France QPV and France hors QPV). Values are not clipped (they stay far from 0 and 100).
    """
    rng = np.random.default_rng(seed)
    qpv = sorted(load_qpv(), key=lambda q: q.code)
    population = np.array([q.population for q in qpv], dtype=float)
    shares = population / population.sum()
    known_rates = [q.employment_rate_pct for q in qpv if q.employment_rate_pct is not None]
    known_poverty = [q.poverty_rate_pct for q in qpv if q.poverty_rate_pct is not None]
    rates = np.array([q.employment_rate_pct or float(np.mean(known_rates)) for q in qpv])
    poverty = np.array([q.poverty_rate_pct or float(np.mean(known_poverty)) for q in qpv])
    noise_scale = 2.0 + 30.0 / np.sqrt(_SHARE_15_64 * population)

    territories = (
        [(q.code, q.name, "qpv_mel") for q in qpv]
        + [(TREATED_AGGREGATE, "QPV de la MEL (ensemble des 26)", "qpv_mel_ensemble")]
        + [(code, name, "qpv_metropoles") for code, name in METROPOLES.items()]
        + list(_OTHER_AGGREGATES)
    )
    values: dict[str, dict[str, np.ndarray]] = {code: {} for code, _, _ in territories}
    for indicator, spec in _SPECS.items():
        anchor = ANCHORS_2015[indicator]
        levels = _qpv_levels(indicator, rates, poverty)
        levels = levels - shares @ levels + anchor  # the 26 together at the anchor (before noise and trend)
        members = np.array(
            [_series(levels[i], spec, rng, spec.noise * noise_scale[i], True, indicator) for i in range(len(qpv))]
        )
        for i, q in enumerate(qpv):
            values[q.code][indicator] = members[i]
        values[TREATED_AGGREGATE][indicator] = shares @ members
        for code in METROPOLES:
            level = anchor + rng.uniform(-spec.spread, spec.spread)
            values[code][indicator] = _series(level, spec, rng, spec.noise, False, indicator)
        for code, _, _ in _OTHER_AGGREGATES:
            level = anchor + _NATIONAL_OFFSETS[code][indicator]
            values[code][indicator] = _series(level, spec, rng, spec.noise / 3, False, indicator)

    rows = []
    for code, name, group in territories:
        for i, year in enumerate(YEARS):
            row: dict[str, object] = {"territory": code, "name": name, "group": group, "year": year}
            for indicator, spec in _SPECS.items():
                row[indicator] = round(float(values[code][indicator][i]), spec.decimals)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(PANEL_COLUMNS))


# --------------------------------------------------------------------------------------------------
# Files: the demo data directory's comparison/ folder

#: The series file of :func:`write_comparison` (beside ``territoires.yaml``).
COMPARISON_SERIES_FILE = "series_2012_2021.csv"
_SERIES_HEADERS = ("territoire", "année", "indicateur", "valeur", "source")
_YAML_HEADER = (
    "# SYNTHETIC comparison territories of the demo dataset, written by evaluation_demo.comparison\n"
    "# (write_comparison, seed {seed}). The names are those of real metropoles and of the MEL's QPV;\n"
    "# EVERY VALUE of the series is drawn at random, with a known effect of the plan built in, and\n"
    "# describes no real territory: never quote it.\n"
)
_CAVEATS = MappingProxyType(
    {
        "qpv_mel_ensemble": "Moyenne des 26 QPV pondérée par leur population (valeurs synthétiques).",
        "qpv_metropoles": "Valeurs synthétiques : le nom est celui d'une métropole réelle, les chiffres ne la décrivent pas.",
        "veille_active_mel": "Peut bénéficier d'actions du plan (contamination) ; valeurs synthétiques.",
        "france_qpv": "Contient les QPV de la MEL : référence, jamais territoire de comparaison ; valeurs synthétiques.",
        "france_hors_qpv": "Niveaux sans rapport avec ceux des QPV : référence seulement ; valeurs synthétiques.",
    }
)


def _comparison_yaml(panel: pd.DataFrame, seed: int) -> bytes:
    import yaml  # imported here: only the writer needs it

    declared = panel.loc[panel["group"] != TREATED_GROUP, ["territory", "name", "group"]].drop_duplicates("territory")
    content = {
        "synthetic": True,
        "description": DEMO_NOTE,
        "territories": [
            {
                "code": row.territory,
                "name": row.name,
                "group": row.group,
                "source": f"SYNTHÉTIQUE : tiré au hasard par evaluation_demo.comparison (graine {seed})",
                "caveats": _CAVEATS[row.group],
            }
            for row in declared.itertuples(index=False)
        ],
    }
    text = yaml.safe_dump(content, allow_unicode=True, sort_keys=False, width=110)
    return (_YAML_HEADER.format(seed=seed) + text).encode("utf-8")


def _series_csv(panel: pd.DataFrame) -> bytes:
    """French CSV (UTF-8 with BOM, ``;``, decimal comma), one row per territory, year and indicator."""
    from evaluation.intake.comparison import COMPARISON_INDICATORS  # the intake is heavy: the writer only

    rows = []
    for indicator, spec in _SPECS.items():
        source = f"{COMPARISON_INDICATORS[indicator].source} (SYNTHÉTIQUE)"
        for territory, year, value in panel[["territory", "year", indicator]].itertuples(index=False):
            text = f"{value:.{spec.decimals}f}".replace(".", ",")
            rows.append((territory, year, indicator, text, source))
    frame = pd.DataFrame(rows, columns=list(_SERIES_HEADERS))
    return frame.to_csv(sep=";", index=False, lineterminator="\n").encode("utf-8-sig")


def write_comparison(folder: Path, seed: int = DEMO_COMPARISON_SEED) -> list[Path]:
    """Write :func:`comparison_panel` (SYNTHETIC) as a ``comparison/`` folder; return the paths written.

    ``folder/territoires.yaml``: every territory but the 26 QPV of the MEL (known from the reference
    list), ``synthetic: true``, :data:`DEMO_NOTE` as description, a comment saying the values are
    synthetic; ``folder/`` :data:`COMPARISON_SERIES_FILE`: the four indicators, rates to 0.1 and
    creations to 0.01 as drawn. Each file is written atomically; same seed, same bytes.
    """
    from evaluation.io import atomic_write_bytes

    folder = Path(folder)
    panel = comparison_panel(seed)
    written = []
    for name, data in (
        ("territoires.yaml", _comparison_yaml(panel, seed)),
        (COMPARISON_SERIES_FILE, _series_csv(panel)),
    ):
        path = folder / name
        atomic_write_bytes(path, data)
        written.append(path)
    return written
