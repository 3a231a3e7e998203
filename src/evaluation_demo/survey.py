"""Seeded generator of SYNTHETIC perception-survey waves (2020, 2021) for sheets 17 and 4a.

**Nothing this module produces is real**: no survey of the residents of the QPV was run for this
package. The 26 QPV, their communes and their populations are the real reference list
(:func:`evaluation.referential.territories.load_qpv`); every respondent, answer and weight is drawn at random to
exercise the intake, the estimators and the reports, and must never be quoted as a fact. The
survey's description says ``synthetic: true`` and its title and institute say ``SYNTHÉTIQUE``.

The survey, ``perception_quartiers`` (:data:`SURVEY_NAME`), one wave a year (2020, 2021), each
drawn afresh (independent samples, so :func:`evaluation.stats.survey.compare_waves` applies):

- **Population**: residents aged 18 or more of the 26 QPV, taken as 75 % of each QPV's municipal
  population (:data:`ADULT_SHARE`, an assumption).
- **Design**: stratified by QPV (``stratum`` = QPV code); in each QPV, clusters of addresses
  (``cluster`` 1, 2, ... numbered within the QPV, nested in it): one cluster in a QPV of fewer than
  1 300 inhabitants (two QPV: single-cluster strata, the "lonely PSU" case), else
  ``max(2, round(36 x population share))`` clusters; 8 + Poisson(4) respondents per cluster. A
  cluster lies in one commune (drawn among the QPV's communes). About 750-800 respondents a wave.
- **Respondents**: sex and age band drawn with the sample's skew (women 58 %, 60+ 30 %, 18-29
  16 %) against the population's assumed structure (:data:`POPULATION_SEX`, :data:`POPULATION_AGE`:
  women 53 %, 18-29 24 %, 30-44 28 %, 45-59 26 %, 60+ 22 %). Anonymous ids ``R0001``... per wave
  (``R0001`` of 2020 and of 2021 are not the same person).
- **Weights**: the QPV's adults divided by its respondents, times the ratio of population to sample
  share of the respondent's sex x age cell, rescaled so that each QPV's weights add up to its
  adults: unequal weights that sum to the population (rounded to 4 decimals).
- **Image of the neighbourhood (sheet 17)**, ``image_quartier``: 1 très bonne, 2 plutôt bonne,
  3 plutôt mauvaise, 4 très mauvaise (3-4 = "mauvaise image"), 9 ne sait pas / refus. The log-odds
  of a bad image are ``logit(0.52)`` in 2020 and ``logit(0.46)`` in 2021 (**the built-in
  improvement: 6 points at the centre, -0.241 on the logit scale**), plus a QPV effect N(0, 0.3)
  (the same both years), a cluster effect N(0, 0.35) (new clusters each wave), +0.15 for the
  18-29, -0.2 for the 60+, +0.05 for women. Measured over the seeds 0-39 (QPV effects redrawn),
  the weighted estimates average 52.3 % in 2020 and 46.8 % in 2021 (a fall of 5.4 points), with a
  spread of about 4 points from seed to seed; the default seed gives 56.0 % and 46.2 %. A bad
  image is "très mauvaise" with probability 0.35, a good one "très bonne" with 0.3. Item
  non-response: 3 % code 9, 2 % blank.
- **Diversity barometer (sheet 4a)**, ``discrimination_emploi``: "avez-vous le sentiment d'avoir
  été discriminé(e) dans votre recherche d'emploi ou au travail ?" 1 oui, plusieurs fois, 2 oui,
  une fois, 3 non, 9 ne sait pas / refus (1-2 = "discrimination ressentie"). Log-odds
  ``logit(0.20)`` in 2020, ``logit(0.18)`` in 2021, QPV effect N(0, 0.2), cluster effect N(0, 0.2),
  +0.5 for the 18-29, -0.7 for the 60+ (seeds 0-39: 20.3 % in 2020, 19.0 % in 2021; the default
  seed gives 18.7 % and 19.5 %). Item non-response: 6 % code 9, 2 % blank.

Files (:func:`write_surveys`): ``surveys/perception_quartiers_2020.csv`` and ``..._2021.csv``
(UTF-8 with BOM, ``;`` separator, decimal comma, French headers: the format institutes send) and
``surveys/perception_quartiers.yaml`` (:func:`survey_descriptions`, format in
:mod:`evaluation.intake.surveys`). The output depends only on the reference list of the QPV and
the seed (:data:`SURVEY_SEED`): ``numpy.random.default_rng([seed, 0])`` for the QPV effects, then
``default_rng([seed, year])`` for each wave.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import special

from evaluation.io import atomic_write_bytes
from evaluation.referential.territories import Qpv, load_qpv

__all__ = [
    "SURVEY_NAME",
    "SURVEY_YEARS",
    "SURVEY_SEED",
    "SURVEY_COLUMNS",
    "survey_waves",
    "survey_descriptions",
    "population_margins",
    "write_surveys",
]

SURVEY_NAME = "perception_quartiers"
SURVEY_YEARS = (2020, 2021)
SURVEY_SEED = 20200915
#: Columns of each wave's frame, in order (canonical names; the files carry :data:`_FRENCH_HEADERS`).
SURVEY_COLUMNS = (
    "respondent_id",
    "stratum",
    "cluster",
    "qpv",
    "commune",
    "sex",
    "age_band",
    "weight",
    "image_quartier",
    "discrimination_emploi",
)
_FRENCH_HEADERS = MappingProxyType(
    {
        "respondent_id": "identifiant",
        "stratum": "strate",
        "cluster": "grappe",
        "qpv": "qpv",
        "commune": "commune",
        "sex": "sexe",
        "age_band": "tranche_age",
        "weight": "poids",
        "image_quartier": "image_quartier",
        "discrimination_emploi": "discrimination_emploi",
    }
)

#: Share of adults (18 or more) in a QPV's municipal population (assumption of the demo).
ADULT_SHARE = 0.75
#: Assumed structure of the adult population of the QPV (the demo's, not a census figure).
POPULATION_SEX = MappingProxyType({"F": 0.53, "M": 0.47})
POPULATION_AGE = MappingProxyType({"18-29": 0.24, "30-44": 0.28, "45-59": 0.26, "60+": 0.22})
#: Structure of the respondents (older and more often women than the population).
_SAMPLE_SEX = MappingProxyType({"F": 0.58, "M": 0.42})
_SAMPLE_AGE = MappingProxyType({"18-29": 0.16, "30-44": 0.26, "45-59": 0.28, "60+": 0.30})

_SMALL_QPV = 1300
_CLUSTER_BUDGET = 36
_BAD_IMAGE = MappingProxyType({2020: 0.52, 2021: 0.46})
_DISCRIMINATION = MappingProxyType({2020: 0.20, 2021: 0.18})
_IMAGE_AGE = MappingProxyType({"18-29": 0.15, "30-44": 0.0, "45-59": 0.0, "60+": -0.2})
_DISCRIMINATION_AGE = MappingProxyType({"18-29": 0.5, "30-44": 0.0, "45-59": 0.0, "60+": -0.7})

_IMAGE_ANSWERS = MappingProxyType({1: "Très bonne", 2: "Plutôt bonne", 3: "Plutôt mauvaise", 4: "Très mauvaise"})
_DISCRIMINATION_ANSWERS = MappingProxyType({1: "Oui, plusieurs fois", 2: "Oui, une fois", 3: "Non"})
_DONT_KNOW = 9


def _clusters(qpv: Sequence[Qpv]) -> list[int]:
    total = sum(q.population for q in qpv)
    return [1 if q.population < _SMALL_QPV else max(2, round(_CLUSTER_BUDGET * q.population / total)) for q in qpv]


def _answers(
    rng: np.random.Generator,
    logits: np.ndarray,
    yes_codes: tuple[int, int],
    no_codes: tuple[int, ...],
    strong: tuple[float, float],
    dont_know: float,
) -> pd.Series:
    """Codes from the log-odds of a "yes" (first two codes, the first with probability strong[0])."""
    size = logits.size
    yes = rng.random(size) < special.expit(logits)
    strong_draw = rng.random(size)
    codes = np.where(
        yes,
        np.where(strong_draw < strong[0], yes_codes[0], yes_codes[1]),
        np.where(strong_draw < strong[1], no_codes[0], no_codes[-1]),
    ).astype(float)
    missing = rng.random(size)
    codes[missing < dont_know] = _DONT_KNOW
    codes[(missing >= dont_know) & (missing < dont_know + 0.02)] = np.nan
    return pd.Series(codes).astype("Int64")


def _wave(year: int, qpv: Sequence[Qpv], effects: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, year])
    rows: list[dict[str, Any]] = []
    cluster_image: list[float] = []
    cluster_discrimination: list[float] = []
    for index, (area, clusters) in enumerate(zip(qpv, _clusters(qpv), strict=True)):
        for number in range(1, clusters + 1):
            commune = area.communes[int(rng.integers(len(area.communes)))].name
            image_effect = effects["image"][index] + rng.normal(0, 0.35)
            discrimination_effect = effects["discrimination"][index] + rng.normal(0, 0.2)
            for _ in range(8 + int(rng.poisson(4))):
                rows.append({"stratum": area.code, "cluster": number, "qpv": area.code, "commune": commune})
                cluster_image.append(image_effect)
                cluster_discrimination.append(discrimination_effect)
    frame = pd.DataFrame(rows)
    size = len(frame)
    frame["sex"] = rng.choice(list(_SAMPLE_SEX), size, p=list(_SAMPLE_SEX.values()))
    frame["age_band"] = rng.choice(list(_SAMPLE_AGE), size, p=list(_SAMPLE_AGE.values()))
    frame.insert(0, "respondent_id", [f"R{i:04d}" for i in range(1, size + 1)])

    adults = {q.code: ADULT_SHARE * q.population for q in qpv}
    ratio = frame["sex"].map(lambda s: POPULATION_SEX[s] / _SAMPLE_SEX[s]) * frame["age_band"].map(
        lambda a: POPULATION_AGE[a] / _SAMPLE_AGE[a]
    )
    frame["weight"] = (ratio / ratio.groupby(frame["stratum"]).transform("sum") * frame["stratum"].map(adults)).round(4)

    female = (frame["sex"] == "F").to_numpy() * 0.05
    image_logits = (
        special.logit(_BAD_IMAGE[year])
        + np.array(cluster_image)
        + frame["age_band"].map(_IMAGE_AGE).to_numpy()
        + female
    )
    frame["image_quartier"] = _answers(rng, image_logits, (4, 3), (1, 2), (0.35, 0.3), 0.03)
    discrimination_logits = (
        special.logit(_DISCRIMINATION[year])
        + np.array(cluster_discrimination)
        + frame["age_band"].map(_DISCRIMINATION_AGE).to_numpy()
    )
    frame["discrimination_emploi"] = _answers(rng, discrimination_logits, (1, 2), (3,), (0.4, 1.0), 0.06)
    return frame[list(SURVEY_COLUMNS)]


def survey_waves(seed: int = SURVEY_SEED) -> dict[int, pd.DataFrame]:
    """The SYNTHETIC waves 2020 and 2021, one row per respondent, columns :data:`SURVEY_COLUMNS`.

    Codes as the files hold them (answers ``Int64``, ``<NA>`` for a blank answer, 9 for "ne sait
    pas / refus"); the rules are in the module docstring.
    """
    qpv = load_qpv()
    effects_rng = np.random.default_rng([seed, 0])
    effects = {
        "image": effects_rng.normal(0, 0.3, len(qpv)),
        "discrimination": effects_rng.normal(0, 0.2, len(qpv)),
    }
    return {year: _wave(year, qpv, effects, seed) for year in SURVEY_YEARS}


def survey_descriptions() -> dict[str, dict[str, Any]]:
    """The description of each demo survey (name -> the mapping written as ``surveys/<name>.yaml``)."""
    return {
        SURVEY_NAME: {
            "name": SURVEY_NAME,
            "title": "Enquête sur l'image des quartiers et la diversité (SYNTHÉTIQUE)",
            "institute": "Institut fictif du jeu de démonstration (SYNTHÉTIQUE)",
            "synthetic": True,
            "years": list(SURVEY_YEARS),
            "population": "Habitants de 18 ans et plus des 26 quartiers prioritaires de la MEL",
            "method": (
                "Échantillon stratifié par quartier prioritaire, tiré par grappes d'adresses (îlots) "
                "dans chaque quartier ; poids de sondage redressés sur la structure par sexe et âge."
            ),
            "questions": [
                {
                    "column": "image_quartier",
                    "sheet": "17",
                    "label": "Quelle image avez-vous de votre quartier comme lieu de vie ?",
                    "answers": dict(_IMAGE_ANSWERS),
                    "non_response": {_DONT_KNOW: "Ne sait pas / refus"},
                    "indicator": {
                        "name": "mauvaise_image",
                        "label": "Part des habitants ayant une mauvaise image de leur quartier",
                        "answers": [3, 4],
                    },
                    "baseline": {
                        "value": 0.56,
                        "year": 2015,
                        "source": (
                            "Selon une étude de 2015, 56 % des habitants des quartiers ont une mauvaise "
                            "image de leur lieu de vie"
                        ),
                    },
                },
                {
                    "column": "discrimination_emploi",
                    "sheet": "4a",
                    "label": (
                        "Au cours des 12 derniers mois, avez-vous le sentiment d'avoir été discriminé(e) "
                        "dans votre recherche d'emploi ou au travail ?"
                    ),
                    "answers": dict(_DISCRIMINATION_ANSWERS),
                    "non_response": {_DONT_KNOW: "Ne sait pas / refus"},
                    "indicator": {
                        "name": "discrimination_ressentie",
                        "label": "Part des habitants se sentant discriminés dans l'emploi",
                        "answers": [1, 2],
                    },
                },
            ],
        }
    }


def population_margins() -> dict[str, dict[str, float]]:
    """SYNTHETIC population margins of the adults of the 26 QPV by sex and by age band, for :func:`~evaluation.stats.survey.rake`.

    Adults = :data:`ADULT_SHARE` x the real municipal populations; the split by sex and age band
    is the demo's assumed structure (:data:`POPULATION_SEX`, :data:`POPULATION_AGE`), not census
    counts. Both margins add up to the same total.
    """
    adults = ADULT_SHARE * sum(q.population for q in load_qpv())
    return {
        "sex": {sex: adults * share for sex, share in POPULATION_SEX.items()},
        "age_band": {band: adults * share for band, share in POPULATION_AGE.items()},
    }


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, ``;`` separator, decimal comma, French headers, blank cells for no answer."""
    table = frame.rename(columns=dict(_FRENCH_HEADERS)).copy()
    table["poids"] = table["poids"].map(lambda v: f"{v:.4f}".replace(".", ","))
    buffer = io.StringIO()
    table.to_csv(buffer, sep=";", index=False, lineterminator="\n")
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def write_surveys(folder: Path, seed: int = SURVEY_SEED) -> list[Path]:
    """Write the SYNTHETIC survey files into ``folder`` (the ``surveys/`` of a data directory), atomically.

    ``perception_quartiers.yaml`` and ``perception_quartiers_<year>.csv`` for each year of
    :data:`SURVEY_YEARS`; returns their paths.
    """
    folder = Path(folder)
    written = []
    for name, description in survey_descriptions().items():
        path = folder / f"{name}.yaml"
        text = "# SYNTHETIC survey of the demo dataset (src/evaluation_demo/survey.py): no answer is real.\n"
        text += yaml.safe_dump(description, allow_unicode=True, sort_keys=False, width=100)
        atomic_write_bytes(path, text.encode("utf-8"))
        written.append(path)
    for year, frame in survey_waves(seed).items():
        path = folder / f"{SURVEY_NAME}_{year}.csv"
        atomic_write_bytes(path, _csv_bytes(frame))
        written.append(path)
    return written
