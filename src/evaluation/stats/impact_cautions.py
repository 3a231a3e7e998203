"""The cautions of the impact estimates: what they cannot say with the sources of the barometer.

Typed records (:class:`Caution`: a code, a French title and text, the methods it concerns), in the
order the reports show them (:data:`CAUTIONS`), selected by method with :func:`cautions`: census
vintages pooling five years, yearly sources first, the 2024 change of the QPV perimeter, composition
effects, parallel trends, few clusters, the fit of the synthetic control, contamination of the
comparison territories. Its own module because it is prose for the reader, not computation; the
figures it quotes come from the estimators' thresholds and the census calendar
(:mod:`evaluation.stats.census`), so that the text follows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.errors import UsageError
from evaluation.stats.census import census_publication_year, census_survey_years
from evaluation.stats.difference_in_differences import MIN_CLUSTERS, MIN_TREATED_CLUSTERS
from evaluation.stats.impact_panel import PLAN_START_YEAR, REFERENCE_YEAR

__all__ = ["Caution", "CAUTIONS", "cautions"]


@dataclass(frozen=True)
class Caution:
    """A limit of the impact estimates, to be shown next to them.

    ``code`` identifies it, ``title`` and ``text`` are French prose for the reader, ``methods``
    the estimators it concerns (``"did"``, ``"synthetic"``).
    """

    code: str
    title: str
    text: str
    methods: frozenset[str] = frozenset({"did", "synthetic"})


def _census_text() -> str:
    before = REFERENCE_YEAR
    first_clean = PLAN_START_YEAR + 2  # the first vintage whose five surveys all follow 2017
    last = first_clean + 2
    b0, b1 = census_survey_years(before)[0], census_survey_years(before)[-1]
    c0, c1 = census_survey_years(first_clean)[0], census_survey_years(first_clean)[-1]
    return (
        "Les taux d'emploi viennent du recensement : un millésime N regroupe les cinq enquêtes annuelles "
        f"de N-2 à N+2 et paraît en N+3. Le millésime {before}, année d'avant le plan, mêle déjà les "
        f"enquêtes {b0} à {b1}, dont deux années du plan ; le premier dont toutes les enquêtes suivent {REFERENCE_YEAR}, le millésime "
        f"{first_clean} (enquêtes {c0} à {c1}), paraît en {census_publication_year(first_clean)}. Les années "
        f"du plan n'entrent vraiment dans la série qu'avec les millésimes {first_clean} à {last}, publiés de "
        f"{census_publication_year(first_clean)} à {census_publication_year(last)} : un écart mesuré plus tôt "
        "est lissé sur cinq ans et en partie antérieur au plan."
    )


#: The cautions of the impact estimates, in the order the reports show them.
CAUTIONS: tuple[Caution, ...] = (
    Caution(
        "census_vintages",
        "Recensement : cinq années d'enquêtes par millésime",
        _census_text(),
    ),
    Caution(
        "yearly_sources_first",
        "Les sources annuelles d'abord",
        "Les demandeurs d'emploi (France Travail, ex-Pôle emploi), les créations d'entreprises (Sirene) et "
        "les allocataires de la CAF sont comptés chaque année pour l'année même : ce sont eux qui peuvent "
        "montrer un effet pendant le plan. Le taux de pauvreté (Filosofi) paraît avec retard et le taux "
        "d'emploi dépend du recensement.",
    ),
    Caution(
        "perimeter_2024",
        "Le périmètre des QPV a changé en 2024",
        "La liste des quartiers prioritaires a été révisée au 1er janvier 2024 (décret 2023-1314) : les "
        "séries antérieures portent sur les quartiers de 2015, les suivantes sur ceux de 2024. Une comparaison "
        "dans le temps doit se faire à périmètre constant, ou signaler la rupture.",
    ),
    Caution(
        "composition",
        "Le quartier n'est pas ses habitants",
        "Les habitants qui trouvent un emploi quittent souvent le quartier et sont remplacés par des ménages "
        "plus fragiles : le taux d'un QPV mesure le quartier, pas le parcours des personnes, et sous-estime "
        "leurs gains. Un effet nul sur le quartier ne prouve pas un effet nul sur les personnes ; le suivi "
        "des cohortes de bénéficiaires répond à cette autre question.",
    ),
    Caution(
        "parallel_trends",
        "Une hypothèse : des évolutions parallèles sans le plan",
        "La double différence attribue au plan tout l'écart d'évolution entre les QPV de la MEL et les "
        f"territoires de comparaison après {REFERENCE_YEAR}. Elle suppose que, sans le plan, ils auraient "
        f"évolué en parallèle : les coefficients des années avant {PLAN_START_YEAR} (étude d'événement) "
        "permettent de le vérifier en partie, pas de le prouver. D'autres politiques lancées au même moment "
        "sur une partie seulement des territoires se confondent avec l'effet du plan.",
        frozenset({"did"}),
    ),
    Caution(
        "few_clusters",
        "Peu de territoires : une inférence fragile",
        "Les intervalles de la double différence supposent de nombreux territoires, dont plusieurs traités "
        f"(ici au moins {MIN_CLUSTERS} groupes, dont {MIN_TREATED_CLUSTERS} traités et {MIN_TREATED_CLUSTERS} "
        "de comparaison) ; en dessous ils sont trop étroits. Avec un seul territoire traité (les 26 QPV pris "
        "ensemble), seul le contrôle synthétique avec inférence par permutation convient, et sa plus petite "
        "p-valeur possible est 1 / (nombre de territoires de comparaison + 1) : il en faut au moins 19 pour "
        "atteindre 5 %.",
    ),
    Caution(
        "synthetic_fit",
        "Le contrôle synthétique ne vaut que par son ajustement",
        f"Le territoire synthétique doit reproduire les QPV de la MEL avant {PLAN_START_YEAR} : un écart "
        "après le plan n'a de sens que comparé à l'écart d'avant (RMSPE). Si les QPV de la MEL sont hors de "
        "l'éventail des territoires de comparaison (plus bas ou plus haut que tous), aucune pondération ne "
        "les reproduit et l'écart mesuré n'est pas un effet. À l'inverse, avec plus de territoires de comparaison "
        "que d'années avant le plan, l'ajustement peut être parfait sans rien prouver (surajustement).",
        frozenset({"synthetic"}),
    ),
    Caution(
        "contamination",
        "Des territoires de comparaison à l'abri du plan",
        "L'ensemble des QPV de France comprend ceux de la MEL, et les quartiers de veille active de la MEL "
        "peuvent profiter d'actions du plan : un effet qui déborde sur les territoires de comparaison réduit "
        "l'effet mesuré. Les choisir hors de la MEL quand c'est possible.",
    ),
)


def cautions(method: str | None = None) -> tuple[Caution, ...]:
    """The cautions that concern ``method`` (``"did"`` or ``"synthetic"``), or all of them (``None``)."""
    known = {"did", "synthetic"}
    if method is None:
        return CAUTIONS
    if method not in known:
        raise UsageError(f"unknown method {method!r} (use 'did' or 'synthetic')")
    return tuple(c for c in CAUTIONS if method in c.methods)
