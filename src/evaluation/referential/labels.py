"""French labels of the referential's records, shared by the reports, the command line and the template.

Kept free of heavy imports (no pandas, no matplotlib): ``evaluation plan`` and ``evaluation template``
use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from evaluation.formatting import NBSP, format_date, format_eur, format_number, format_pct, plural
from evaluation.referential.plan_records import Cumulation, Direction, Indicator, Measure

__all__ = [
    "MEASURE_FR",
    "CUMULATION_FR",
    "DIRECTION_FR",
    "UNIT_FORMS",
    "GLOSSARY_FR",
    "RULE_FR",
    "acronyms_in",
    "glossary_text",
    "rule_text",
    "target_text",
    "with_unit",
]

MEASURE_FR = {
    Measure.COUNT: "effectif",
    Measure.PERCENTAGE: "pourcentage",
    Measure.AMOUNT: "montant",
    Measure.MILESTONE: "jalon",
    Measure.QUALITATIVE: "qualitatif",
}
CUMULATION_FR = {
    Cumulation.CUMULATIVE: "cumul sur la période",
    Cumulation.PER_YEAR: "chaque année",
    Cumulation.LEVEL: "niveau à l'échéance",
}
DIRECTION_FR = {Direction.INCREASE: "hausse", Direction.DECREASE: "baisse", Direction.MAINTAIN: "maintien"}


#: Units of the plan's counts, as (singular, plural): a figure agrees with its unit (``1 personne``,
#: ``0 évènement``, ``21 évènements``). The plan writes most units in the plural, some in the
#: singular (``évènement``, ``site internet``); a test checks that every unit of the plan is here.
#: Invariable units (``ETP``, ``NEETS``) have the same two forms.
UNIT_FORMS: dict[str, tuple[str, str]] = {
    "ETP": ("ETP", "ETP"),
    "NEETS": ("NEETS", "NEETS"),
    "activités économiques": ("activité économique", "activités économiques"),
    "ambassadeurs par quartier": ("ambassadeur par quartier", "ambassadeurs par quartier"),
    "associations": ("association", "associations"),
    "boutiques à l'essai": ("boutique à l'essai", "boutiques à l'essai"),
    "bénéficiaires": ("bénéficiaire", "bénéficiaires"),
    "communes et associations": ("commune ou association", "communes et associations"),
    "communes": ("commune", "communes"),
    "conférences, stands, ateliers": ("conférence, stand ou atelier", "conférences, stands, ateliers"),
    "contrats": ("contrat", "contrats"),
    "demandes": ("demande", "demandes"),
    "demandeurs d'emploi": ("demandeur d'emploi", "demandeurs d'emploi"),
    "emplois": ("emploi", "emplois"),
    "entreprises": ("entreprise", "entreprises"),
    "espaces ressources": ("espace ressources", "espaces ressources"),
    "familles monoparentales": ("famille monoparentale", "familles monoparentales"),
    "guides": ("guide", "guides"),
    "habitants": ("habitant", "habitants"),
    "jeunes": ("jeune", "jeunes"),
    "lieux totem": ("lieu totem", "lieux totem"),
    "mises à l'emploi": ("mise à l'emploi", "mises à l'emploi"),
    "partenaires": ("partenaire", "partenaires"),
    "participants": ("participant", "participants"),
    "personnes": ("personne", "personnes"),
    "porteurs de projets": ("porteur de projet", "porteurs de projets"),
    "projets": ("projet", "projets"),
    "prêts": ("prêt", "prêts"),
    "quartiers prioritaires": ("quartier prioritaire", "quartiers prioritaires"),
    "quartiers": ("quartier", "quartiers"),
    "retours en études et formation": ("retour en études ou formation", "retours en études et formation"),
    "retours à l'emploi et/ou formation": ("retour à l'emploi et/ou formation", "retours à l'emploi et/ou formation"),
    "signataires": ("signataire", "signataires"),
    "site internet": ("site internet", "sites internet"),
    "sites": ("site", "sites"),
    "solutions": ("solution", "solutions"),
    "territoires": ("territoire", "territoires"),
    "thématiques": ("thématique", "thématiques"),
    "établissements": ("établissement", "établissements"),
    "études": ("étude", "études"),
    "évènement": ("évènement", "évènements"),
}


def with_unit(value: float, ind: Indicator) -> str:
    """The value in the indicator's unit, the unit agreeing with it: ``'1 personne'``, ``'3 personnes'``, ``'44 %'``."""
    if ind.measure is Measure.PERCENTAGE:
        return format_pct(value)
    if ind.measure is Measure.AMOUNT:
        return format_eur(value)
    if not ind.unit:
        return format_number(value)
    singular, plural_form = UNIT_FORMS.get(ind.unit, (ind.unit, ind.unit))
    return f"{format_number(value)}{NBSP}{plural(value, singular, plural_form)}"


#: Acronyms a reader meets in the plan's texts and the reports, spelt out (shown under the tables and
#: sheets that use them: jargon is explained where it is met). Only the ones whose meaning is certain.
GLOSSARY_FR: dict[str, str] = {
    "AAP": "appel à projets",
    "ACRO": "outil de contrôle automatique du secret statistique des résultats (Automatic Checking of Research Outputs)",
    "ADIE": "Association pour le droit à l'initiative économique",
    "ADULM": "Agence de développement et d'urbanisme de Lille Métropole",
    "AFE": "Agence France Entrepreneur",
    "AMO": "assistance à maîtrise d'ouvrage",
    "ANCT": "Agence nationale de la cohésion des territoires",
    "ANRU": "Agence nationale pour la rénovation urbaine",
    "CAF": "caisse d'allocations familiales",
    "CCI": "chambre de commerce et d'industrie",
    "CDC": "Caisse des dépôts et consignations",
    "CDD": "contrat à durée déterminée",
    "CDI": "contrat à durée indéterminée",
    "CRESS": "chambre régionale de l'économie sociale et solidaire",
    "DEFM": "demandeurs d'emploi en fin de mois, inscrits à Pôle emploi",
    "DIRECCTE": "direction régionale des entreprises, de la concurrence, de la consommation, du travail et de l'emploi",
    "EPCI": "établissement public de coopération intercommunale",
    "ESS": "économie sociale et solidaire",
    "ETP": "équivalent temps plein",
    "FACE": "Fondation Agir contre l'exclusion",
    "FEDER": "Fonds européen de développement régional",
    "IAE": "insertion par l'activité économique",
    "INSEE": "Institut national de la statistique et des études économiques",
    "ITI": "investissement territorial intégré (volet urbain des fonds européens)",
    "MDE": "maison de l'emploi",
    "MEDEF": "Mouvement des entreprises de France",
    "MEL": "Métropole européenne de Lille",
    "NEETS": "jeunes ni en emploi, ni en études, ni en formation (« not in employment, education or training »)",
    "NPRU": "nouveau programme de renouvellement urbain",
    "NQT": "Nos quartiers ont des talents (association)",
    "OPCA": "organisme paritaire collecteur agréé (financement de la formation)",
    "PME": "petites et moyennes entreprises",
    "QPV": "quartier prioritaire de la politique de la ville",
    "RH": "ressources humaines",
    "RSA": "revenu de solidarité active",
    "RSE": "responsabilité sociétale des entreprises",
    "TPE": "très petites entreprises",
}


def acronyms_in(texts: Iterable[str]) -> list[str]:
    """The acronyms of :data:`GLOSSARY_FR` that occur as words in ``texts``, in order of first occurrence."""
    found: dict[str, None] = {}
    for text in texts:
        for word in re.findall(r"[A-Za-zÀ-ÿ]+", text):
            key = word.upper() if word.upper() == "NEETS" else word
            if key in GLOSSARY_FR:
                found.setdefault(key, None)
    return list(found)


def glossary_text(texts: Iterable[str], skip: Iterable[str] = ()) -> str:
    """``'Sigles : QPV : quartier prioritaire … ; NEETS : …'`` for the acronyms met in ``texts``, or ``''``.

    ``skip``: acronyms already spelt out nearby (``MEL`` in a report of the MEL, for instance).
    """
    known = set(skip)
    entries = [f"{a} : {GLOSSARY_FR[a]}" for a in acronyms_in(texts) if a not in known]
    return f"Sigles : {' ; '.join(entries)}." if entries else ""


#: The disclosure rules' presets (:data:`evaluation.stats.disclosure.PRESETS`) as a reader needs them: who
#: uses the rule, then what it hides (see :func:`rule_text`).
RULE_FR: dict[str, str] = {
    "acro": "règle « acro », le seuil par défaut d'ACRO, outil de contrôle du secret statistique des résultats de recherche",
    "fiscal": "règle « fiscal », celle du secret fiscal",
    "insee_entreprises": "règle « insee_entreprises », celle du secret statistique des entreprises de l'INSEE",
}


def rule_text(name: str, threshold: int, dominance_pct: float | None = None) -> str:
    """The disclosure rule in words: who uses it, what it hides (a count of 1 to ``threshold - 1``: zeros
    are published, see :mod:`evaluation.stats.disclosure`), and the dominance condition when there is one."""
    who = RULE_FR.get(name, f"règle « {name} »")
    text = f"{who} : un effectif de 1 à {threshold - 1} est masqué"
    if dominance_pct is not None:
        text += f", de même qu'une case dont une seule unité représente plus de {format_number(dominance_pct)}{NBSP}%"
    return text + ", ainsi que les cases qui permettraient de le retrouver"


def target_text(ind: Indicator) -> str:
    """The target as a reader says it: ``'400 bénéficiaires'``, ``'50 à 100 entreprises'``, ``'jalon : décembre 2018'``."""
    target = ind.target
    if ind.measure is Measure.MILESTONE:
        return f"jalon : {format_date(target.date) if target.date else target.year}"
    if ind.measure is Measure.QUALITATIVE:
        return "qualitatif, sans cible chiffrée"
    if target.is_range:
        assert target.min is not None and target.max is not None
        low = format_pct(target.min) if ind.measure is Measure.PERCENTAGE else format_number(target.min)
        return f"{low} à {with_unit(target.max, ind)}"
    if target.value is None:
        return "pas de cible chiffrée"
    return with_unit(target.value, ind)
