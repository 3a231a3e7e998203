"""The columns of each exported table (French header, meaning, unit, codes), names beside codes; export_table renders a library table as published."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from evaluation.present.table_columns import (
    IMPACT_TABLES,
    SHEET_NAMES,
    TABLE_TITLES,
    ExportColumn,
    ExportTable,
    Kind,
    TableContext,
    YearTables,
    _is_missing,
    _progress_pct,
    _round_column,
    french_note,
)
from evaluation.referential.plan import Indicator, Measure, Plan

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    pass


# --------------------------------------------------------------------------------------------------
# The columns of each table

_Spec = Callable[[pd.DataFrame, TableContext], tuple[list[ExportColumn], pd.DataFrame]]

_ENGAGEMENT = ExportColumn(
    "engagement",
    "Fiche action",
    "Numéro de la fiche action (engagement) du plan ; « gouvernance » et « evaluation » : fiches transversales",
)
_ENGAGEMENT_TITLE = ExportColumn(
    "engagement_title", "Intitulé de la fiche action", "Titre de la fiche action dans le plan"
)
_QPV_LEFT_OUT = ExportColumn(
    "qpv_left_out",
    "QPV écartés (codes)",
    "Codes des QPV des données laissés hors de la somme des QPV cette année-là, faute d'un des deux effectifs",
)
_QPV_LEFT_OUT_NAMES = ExportColumn("qpv_left_out_names", "QPV écartés", "Noms des mêmes QPV")


def _secret(ctx: TableContext) -> ExportColumn:
    from evaluation.stats.disclosure import DEFAULT_RULE, get_rule

    threshold = get_rule(ctx.dataset.disclosure or DEFAULT_RULE).threshold
    return ExportColumn(
        "secret",
        "Secret statistique : cellules masquées",
        "Colonnes de la ligne masquées par le secret statistique (effectif inférieur à "
        f"{threshold} personnes, ou cellule qui permettrait de le retrouver) : ces cellules sont vides. "
        "Vide quand rien n'est masqué. Dans le CSV : les noms CSV des colonnes masquées, séparés par une virgule",
        Kind.SECRET,
    )


def _engagement_titles(plan: Plan) -> dict[str, str]:
    return {sheet.id: sheet.title for sheet in plan.engagements}


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _indicator_unit(indicator: Indicator) -> str | None:
    """The unit of a row of ``ecarts_cibles``, as the ``Unité`` column says it."""
    measure = indicator.measure
    if measure is Measure.PERCENTAGE:
        return "%"
    if measure is Measure.AMOUNT:
        return "€"
    if measure is Measure.MILESTONE:
        return "jalon : 1 franchi, 0 non franchi"
    if measure is Measure.QUALITATIVE:
        return None
    return indicator.unit or "nombre"


def _gaps_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.referential.labels import CUMULATION_FR, DIRECTION_FR, MEASURE_FR, target_text
    from evaluation.stats.targets import STATUS_FR

    indicators = {i.id: i for i in ctx.plan.indicators()}
    rows = [indicators[i] for i in frame["indicator_id"]]
    start = ctx.plan.period[0]
    out = frame.assign(
        engagement_title=frame["engagement"].map(_engagement_titles(ctx.plan)),
        unit=[_indicator_unit(i) for i in rows],
        target_label=[target_text(i) for i in rows],
        target_year=[i.target.year for i in rows],
        achievement_pct=_progress_pct(frame["achievement_pct"], frame["status"]),
        note=frame["note"].map(french_note),
    )
    value = "dans l'unité de l'indicateur (colonne « Unité »)"
    columns = [
        ExportColumn("indicator_id", "Indicateur", "Numéro de l'indicateur : fiche action, point, rang dans la fiche"),
        ExportColumn("label", "Résultat attendu", "Intitulé de l'indicateur dans le plan"),
        _ENGAGEMENT,
        _ENGAGEMENT_TITLE,
        ExportColumn("year", "Année", "Année de la situation décrite", Kind.YEAR),
        ExportColumn(
            "status",
            "Statut",
            "Situation de l'indicateur au regard de sa cible cette année-là (règles de evaluation.stats.targets)",
            Kind.CODE,
            labels={str(k): v for k, v in STATUS_FR.items()},
        ),
        ExportColumn(
            "realised",
            "Réalisé",
            f"Valeur comparée à la cible : somme des années depuis {start} jusqu'à l'année ou à l'échéance "
            "(indicateurs cumulés ; un minimum quand des années manquent, voir « Remarque »), sinon valeur de l'année",
            Kind.MEASURE,
            value,
        ),
        ExportColumn(
            "realised_cumulated",
            f"Réalisé cumulé depuis {start}",
            f"Indicateurs annuels : somme des valeurs de {start} à l'année",
            Kind.MEASURE,
            value,
        ),
        ExportColumn(
            "target",
            "Cible",
            "Valeur à atteindre (le minimum d'une fourchette, son maximum pour un indicateur à faire baisser)",
            Kind.MEASURE,
            value,
        ),
        ExportColumn(
            "target_max", "Cible : maximum de la fourchette", "Maximum d'une cible en fourchette", Kind.MEASURE, value
        ),
        ExportColumn("target_label", "Cible énoncée", "La cible telle que le plan l'énonce"),
        ExportColumn("target_year", "Échéance", "Année à laquelle la cible doit être atteinte", Kind.YEAR),
        ExportColumn(
            "expected",
            "Attendu sur la trajectoire",
            "Valeur attendue cette année sur la trajectoire linéaire de la valeur de départ à la cible",
            Kind.MEASURE,
            value,
        ),
        ExportColumn("gap_to_expected", "Écart à la trajectoire", "Réalisé moins attendu", Kind.MEASURE, value),
        ExportColumn(
            "achievement_pct",
            "Progression vers la cible (%)",
            "Chemin parcouru de la valeur de départ vers la cible ; arrondi à l'inférieur quand la cible "
            "n'est pas atteinte (jamais 100 % pour une cible manquée)",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "range_position",
            "Position dans la fourchette",
            "Cibles en fourchette : réalisé sous le minimum, dans la fourchette ou au-dessus du maximum",
            Kind.CODE,
            labels={
                "below_min": "sous le minimum",
                "within": "dans la fourchette",
                "above_max": "au-dessus du maximum",
            },
        ),
        ExportColumn("late_years", "Retard (années)", "Jalons : années de retard sur l'échéance", Kind.COUNT, "années"),
        ExportColumn("unit", "Unité", "Unité des valeurs de la ligne (réalisé, cible, attendu, écart)"),
        ExportColumn(
            "measure",
            "Nature de l'indicateur",
            "Effectif, pourcentage, montant, jalon ou qualitatif",
            Kind.CODE,
            labels={str(k): v for k, v in MEASURE_FR.items()},
        ),
        ExportColumn(
            "cumulation",
            "Mode de calcul",
            "Cumul sur la période, valeur de chaque année ou niveau à l'échéance",
            Kind.CODE,
            labels={str(k): v for k, v in CUMULATION_FR.items()},
        ),
        ExportColumn(
            "direction",
            "Sens visé",
            "Hausse, baisse ou maintien",
            Kind.CODE,
            labels={str(k): v for k, v in DIRECTION_FR.items()},
        ),
        ExportColumn(
            "note", "Remarque", "Précision du calcul quand une règle l'exige (années manquantes, échéance passée...)"
        ),
    ]
    return columns, out


def _status_counts_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.stats.targets import STATUS_FR, Status

    plan = ctx.plan
    labels = {p.id: f"Priorité {p.id[1:]}" for p in plan.priorities} | {
        "transversal": "Gouvernance et évaluation",
        "total": "Total",
    }
    titles = {p.id: p.title for p in plan.priorities} | {
        "transversal": plan.transversal.title,
        "total": "Ensemble du plan",
    }
    out = frame.assign(priority_title=frame["priority"].map(titles))
    columns = [
        ExportColumn(
            "priority", "Priorité", "Priorité du plan, fiches transversales, total du plan", Kind.CODE, labels=labels
        ),
        ExportColumn("priority_title", "Intitulé", "Intitulé de la priorité dans le plan"),
    ]
    columns += [
        ExportColumn(
            str(status),
            _capitalised(STATUS_FR[status]),
            f"Nombre d'indicateurs au statut « {STATUS_FR[status]} » en {ctx.year}",
            Kind.COUNT,
            "indicateurs",
        )
        for status in Status
        if str(status) in frame.columns
    ]
    return columns, out


def _execution_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    out = frame.assign(engagement_title=frame["engagement"].map(_engagement_titles(ctx.plan)))
    columns = [
        _ENGAGEMENT,
        _ENGAGEMENT_TITLE,
        ExportColumn("year", "Année", "Année budgétaire", Kind.YEAR),
        ExportColumn(
            "planned_mel_eur", "Prévu (MEL)", "Financement de la MEL prévu par le plan pour l'année", Kind.EUR, "€"
        ),
        ExportColumn(
            "spent_mel_eur",
            "Dépensé (MEL)",
            "Dépenses de la MEL déclarées pour l'année (vide : non renseigné)",
            Kind.EUR,
            "€",
        ),
        ExportColumn(
            "execution_pct",
            "Taux d'exécution MEL (%)",
            "Dépensé par la MEL rapporté au financement MEL prévu",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "spent_all_funders_eur",
            "Dépensé (tous financeurs)",
            "Dépenses de tous les financeurs déclarées pour l'année (non rapportées au financement MEL)",
            Kind.EUR,
            "€",
        ),
    ]
    return columns, out


def _execution_totals_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    start = ctx.plan.period[0]
    span = f"{start}-{ctx.year}"
    out = frame.assign(engagement_title=frame["engagement"].map(_engagement_titles(ctx.plan)))
    columns = [
        _ENGAGEMENT,
        _ENGAGEMENT_TITLE,
        ExportColumn(
            "planned_mel_to_date_eur",
            f"Prévu (MEL) {span}",
            f"Financement de la MEL prévu de {start} à {ctx.year}",
            Kind.EUR,
            "€",
        ),
        ExportColumn(
            "spent_mel_to_date_eur",
            f"Dépensé (MEL) {span}",
            f"Dépenses de la MEL déclarées de {start} à {ctx.year}",
            Kind.EUR,
            "€",
        ),
        ExportColumn(
            "execution_pct",
            "Taux d'exécution MEL (%)",
            "Dépensé par la MEL rapporté au financement MEL prévu, à date (un minimum quand des années manquent)",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "years_reported",
            f"Années renseignées (sur {ctx.year - start + 1})",
            f"Nombre d'années de {start} à {ctx.year} dont les dépenses sont déclarées",
            Kind.COUNT,
            "années",
        ),
        ExportColumn(
            "spent_all_funders_to_date_eur",
            f"Dépensé (tous financeurs) {span}",
            f"Dépenses de tous les financeurs déclarées de {start} à {ctx.year}",
            Kind.EUR,
            "€",
        ),
    ]
    return columns, out


def _territory_names() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Territory code -> name, -> INSEE codes of its communes, -> names of its communes (QPV only)."""
    from evaluation.referential.territories import QPV_COUNT, load_qpv, territory_names
    from evaluation.stats.employment_gap import QPV_AGGREGATE

    qpv = load_qpv()
    names = territory_names(qpv) | {QPV_AGGREGATE: f"Ensemble des {QPV_COUNT} QPV"}
    insee = {q.code: ", ".join(c.insee for c in q.communes) for q in qpv}
    communes = {q.code: ", ".join(c.name for c in q.communes) for q in qpv}
    return names, insee, communes


def _names_of(codes: pd.Series, names: Mapping[str, str]) -> pd.Series:
    """``'QN05965M, QN05966M'`` -> their names, comma-separated (empty stays empty)."""
    return codes.map(
        lambda text: (
            None
            if _is_missing(text) or not str(text).strip()
            else ", ".join(names.get(c, c) for c in str(text).split(", "))
        )
    )


def _barometer_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.stats.barometer import INDICATORS

    names, insee, communes = _territory_names()
    units = {ind.key: ind.unit for ind in INDICATORS}
    out = frame.assign(
        territory_name=frame["territory"].map(names),
        commune_insee=frame["territory"].map(insee),
        communes=frame["territory"].map(communes),
        indicator_unit=frame["indicator"].map(units),
        qpv_left_out_names=_names_of(frame["qpv_left_out"], names),
    )
    base = ctx.barometer_base_year
    level_unit = "unité de l'indicateur (colonne « Unité »)"
    change_unit = "points pour un taux, sinon unité de l'indicateur"
    columns = [
        ExportColumn(
            "territory",
            "Code du territoire",
            "Code du QPV (géographie 2024), QPV : ensemble des QPV, MEL, MEL_HORS_QPV",
        ),
        ExportColumn("territory_name", "Territoire", "Nom du QPV ou de l'ensemble"),
        ExportColumn("commune_insee", "Code(s) INSEE des communes", "Codes INSEE des communes que couvre le QPV"),
        ExportColumn(
            "communes", "Commune(s)", "Communes que couvre le QPV (ses chiffres ne se répartissent pas entre elles)"
        ),
        ExportColumn(
            "indicator",
            "Indicateur",
            "Indicateur du baromètre",
            Kind.CODE,
            labels={ind.key: ind.label for ind in INDICATORS},
        ),
        ExportColumn("indicator_unit", "Unité", "Unité du niveau : %, pour 100 ou pour 1 000 habitants"),
        ExportColumn(
            "level",
            f"Niveau {ctx.year}",
            "Niveau de l'indicateur : numérateur rapporté au dénominateur",
            Kind.RATIO,
            level_unit,
        ),
        ExportColumn(
            "change_prev",
            f"Évolution depuis {ctx.year - 1}",
            "Niveau de l'année moins celui de l'année précédente",
            Kind.POINTS,
            change_unit,
        ),
        ExportColumn(
            "change_base",
            f"Évolution depuis {base}" if base is not None else "Évolution depuis la première année",
            "Niveau de l'année moins celui de la première année des données du baromètre",
            Kind.POINTS,
            change_unit,
        ),
        ExportColumn(
            "rank",
            "Rang parmi les QPV",
            "Rang du QPV, 1 étant le plus favorable (taux d'emploi et créations les plus hauts, autres indicateurs les plus bas)",
            Kind.COUNT,
        ),
        ExportColumn(
            "ranked_qpv", "QPV classés", "Nombre de QPV classés (ceux dont le niveau est publié)", Kind.COUNT, "QPV"
        ),
        ExportColumn(
            "numerator",
            "Numérateur",
            "Effectif au numérateur de l'indicateur (personnes, entreprises créées)",
            Kind.COUNT,
        ),
        ExportColumn(
            "denominator", "Dénominateur", "Effectif au dénominateur de l'indicateur (population concernée)", Kind.COUNT
        ),
        ExportColumn(
            "qpv_summed",
            "QPV additionnés",
            "Ligne de l'ensemble des QPV : nombre de QPV additionnés",
            Kind.COUNT,
            "QPV",
        ),
        _QPV_LEFT_OUT,
        _QPV_LEFT_OUT_NAMES,
        _secret(ctx),
    ]
    return columns, out


def _gap_series_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    from evaluation.stats.employment_gap import COMPARATORS

    names, _insee, _communes = _territory_names()
    out = frame.assign(
        qpv_left_out_names=_names_of(frame["qpv_left_out"], names),
        interval_note=frame["interval_note"].map(french_note),
    )
    bound = "borne {side} de l'intervalle de confiance à 95 % (vide pour une source exhaustive)"
    columns = [
        ExportColumn("year", "Année", "Année des chiffres", Kind.YEAR),
        ExportColumn(
            "comparator",
            "Comparaison",
            "Territoire comparé aux QPV (le plan compare à l'ensemble de la Métropole)",
            Kind.CODE,
            labels={str(k): _capitalised(v) for k, v in COMPARATORS.items()},
        ),
        ExportColumn(
            "qpv_count", "QPV additionnés", "Nombre de QPV dont les effectifs sont additionnés", Kind.COUNT, "QPV"
        ),
        _QPV_LEFT_OUT,
        _QPV_LEFT_OUT_NAMES,
        ExportColumn(
            "qpv_employed", "En emploi (QPV)", "Habitants des QPV de 15 à 64 ans en emploi", Kind.COUNT, "personnes"
        ),
        ExportColumn("qpv_population", "15-64 ans (QPV)", "Habitants des QPV de 15 à 64 ans", Kind.COUNT, "personnes"),
        ExportColumn("qpv_rate_pct", "Taux d'emploi QPV (%)", "Taux d'emploi des 15-64 ans des QPV", Kind.PCT, "%"),
        ExportColumn(
            "qpv_low_pct", "Taux QPV : borne basse (%)", _capitalised(bound.format(side="basse")), Kind.PCT, "%"
        ),
        ExportColumn(
            "qpv_high_pct", "Taux QPV : borne haute (%)", _capitalised(bound.format(side="haute")), Kind.PCT, "%"
        ),
        ExportColumn(
            "comparator_employed",
            "En emploi (comparaison)",
            "Habitants de 15 à 64 ans en emploi du territoire comparé",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "comparator_population",
            "15-64 ans (comparaison)",
            "Habitants de 15 à 64 ans du territoire comparé",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "comparator_rate_pct",
            "Taux d'emploi comparaison (%)",
            "Taux d'emploi des 15-64 ans du territoire comparé",
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "comparator_low_pct",
            "Taux comparaison : borne basse (%)",
            _capitalised(bound.format(side="basse")),
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "comparator_high_pct",
            "Taux comparaison : borne haute (%)",
            _capitalised(bound.format(side="haute")),
            Kind.PCT,
            "%",
        ),
        ExportColumn(
            "gap_pp",
            "Écart (points)",
            "Taux du territoire comparé moins taux des QPV (le plan vise à le réduire de moitié)",
            Kind.POINTS,
            "points de %",
        ),
        ExportColumn(
            "gap_low_pp",
            "Écart : borne basse (points)",
            _capitalised(bound.format(side="basse")),
            Kind.POINTS,
            "points de %",
        ),
        ExportColumn(
            "gap_high_pp",
            "Écart : borne haute (points)",
            _capitalised(bound.format(side="haute")),
            Kind.POINTS,
            "points de %",
        ),
        ExportColumn(
            "sampled",
            "Estimé sur échantillon",
            "Oui quand un effectif de l'année vient d'une enquête par sondage (recensement)",
            Kind.FLAG,
        ),
        ExportColumn(
            "vintage",
            "Millésime du recensement",
            "Millésime N du recensement (enquêtes N-2 à N+2) ; vide pour une autre source",
            Kind.YEAR,
        ),
        ExportColumn(
            "design_effect",
            "Effet de plan",
            "Effet de plan appliqué aux effectifs du recensement pour les intervalles",
            Kind.RATIO,
        ),
        ExportColumn("interval_note", "Méthode des intervalles", "Comment les intervalles de confiance sont calculés"),
        _secret(ctx),
    ]
    return columns, out


def _cohort_labels() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    """French labels of the cohort tables, those of the cohort reports: groups, levels, outcomes, tables."""
    from evaluation.present.cohort import GROUPS_FR, LEVELS_FR, OUTCOME_FR, TABLE_FR
    from evaluation.publish.cohort_release import ALL

    groups = {**GROUPS_FR, ALL: "Ensemble"}
    levels = {**LEVELS_FR, ALL: "Ensemble"}
    tables = {name: caption for name, (caption, _row) in TABLE_FR.items()}
    return groups, levels, {key: _capitalised(label) for key, label in OUTCOME_FR.items()}, tables


def _cohort_common(frame: pd.DataFrame, ctx: TableContext, values: Sequence[str]) -> pd.DataFrame:
    """Programme titles, and ``secret`` as the names of the row's hidden (empty) value columns."""
    from evaluation.publish.cohort_release import ALL

    titles = _engagement_titles(ctx.plan) | {ALL: "Ensemble des programmes suivis"}
    secret = [
        ", ".join(c for c in values if pd.isna(row[c])) if bool(row["secret"]) else None for _, row in frame.iterrows()
    ]
    return frame.assign(programme_title=frame["programme"].map(titles), secret=secret)


def _programme_columns() -> list[ExportColumn]:
    return [
        ExportColumn(
            "programme", "Programme", "Fiche action du programme suivi ; « all » : tous les programmes ensemble"
        ),
        ExportColumn("programme_title", "Intitulé du programme", "Titre de la fiche action du programme"),
    ]


def _cohort_rates_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    groups, levels, outcomes, _tables = _cohort_labels()
    values = ("entrants", "estimate_pct", "ci_low_pct", "ci_high_pct")
    out = _cohort_common(frame, ctx, values)
    ci = "Intervalle de confiance à 95 % de la part : borne {side}"
    columns = [
        *_programme_columns(),
        ExportColumn(
            "group_variable",
            "Groupes comparés",
            "Caractéristique selon laquelle les entrants sont répartis",
            Kind.CODE,
            labels=groups,
        ),
        ExportColumn("group", "Groupe", "Groupe d'entrants", Kind.CODE, labels=levels),
        ExportColumn("outcome", "Résultat", "Premier événement suivi après l'entrée", Kind.CODE, labels=outcomes),
        ExportColumn("horizon_months", "Délai (mois)", "Délai depuis l'entrée dans le programme", Kind.COUNT, "mois"),
        ExportColumn(
            "entrants",
            "Entrants",
            f"Personnes entrées dans le programme jusqu'à fin {ctx.year}",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "estimate_pct",
            "Part des entrants (%)",
            "Part des entrants dont le premier événement est ce résultat dans le délai (incidence cumulée, "
            "sorties de suivi et autres premiers événements pris en compte)",
            Kind.PCT,
            "%",
        ),
        ExportColumn("ci_low_pct", "Borne basse (%)", ci.format(side="basse"), Kind.PCT, "%"),
        ExportColumn("ci_high_pct", "Borne haute (%)", ci.format(side="haute"), Kind.PCT, "%"),
        _secret(ctx),
    ]
    return columns, out


def _cohort_entrants_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    _groups, levels, _outcomes, tables = _cohort_labels()
    out = _cohort_common(frame, ctx, ("entrants",))
    columns = [
        *_programme_columns(),
        ExportColumn("table", "Tableau", "Tableau croisé auquel la ligne appartient", Kind.CODE, labels=tables),
        ExportColumn("row", "Ligne", "Année d'entrée ou tranche d'âge (Total : toutes)", Kind.CODE, labels=levels),
        ExportColumn("column", "Colonne", "Lieu de résidence ou sexe (Total : tous)", Kind.CODE, labels=levels),
        ExportColumn("entrants", "Entrants", "Personnes entrées dans le programme", Kind.COUNT, "personnes"),
        _secret(ctx),
    ]
    return columns, out


def _cohort_attrition_spec(frame: pd.DataFrame, ctx: TableContext) -> tuple[list[ExportColumn], pd.DataFrame]:
    out = _cohort_common(frame, ctx, ("entrants", "lost", "lost_pct"))
    columns = [
        *_programme_columns(),
        ExportColumn(
            "entrants",
            "Entrants",
            f"Personnes entrées dans le programme jusqu'à fin {ctx.year}",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn(
            "lost",
            "Perdus de vue",
            "Entrants dont le suivi s'est interrompu avant la date du rapport",
            Kind.COUNT,
            "personnes",
        ),
        ExportColumn("lost_pct", "Part des perdus de vue (%)", "Perdus de vue rapportés aux entrants", Kind.PCT, "%"),
        _secret(ctx),
    ]
    return columns, out


_SPECS: dict[str, _Spec] = {
    "ecarts_cibles": _gaps_spec,
    "statuts_par_priorite": _status_counts_spec,
    "execution_budgetaire": _execution_spec,
    "execution_cumulee": _execution_totals_spec,
    "barometre": _barometer_spec,
    "ecart_taux_emploi": _gap_series_spec,
    "cohortes_taux": _cohort_rates_spec,
    "cohortes_entrees": _cohort_entrants_spec,
    "cohortes_perdus_de_vue": _cohort_attrition_spec,
    **{name: (lambda n: lambda f, c: _impact_spec(n)(f, c))(name) for name in IMPACT_TABLES},
}


def _impact_spec(name: str) -> _Spec:
    from evaluation.present.impact_tables import impact_export_spec

    return impact_export_spec(name)


def export_table(name: str, frame: pd.DataFrame, context: TableContext) -> ExportTable:
    """The table ``name`` of :func:`build_tables` as published (module docstring): columns described,
    names beside codes, French notes, numbers rounded.

    ``frame`` is the library's table (e.g. :func:`evaluation.stats.targets.gap_table` for ``ecarts_cibles``).
    Raises ``ValueError`` for a table or a column this module does not describe: every published
    column is in the ``Lisez-moi`` sheet.
    """
    if name not in _SPECS:
        raise ValueError(f"no export is described for the table {name!r} (known: {', '.join(_SPECS)})")
    source = frame.reset_index(drop=True)
    columns, full = _SPECS[name](source, context)
    described = [c.name for c in columns]
    undescribed = [c for c in source.columns if c not in described]
    if undescribed:
        raise ValueError(f"table {name!r}: the columns {undescribed} are not described in evaluation.present.tables")
    measures = full["measure"] if "measure" in full.columns else None
    rounded = pd.DataFrame({c.name: _round_column(full[c.name], c.kind, measures) for c in columns})
    return ExportTable(name, SHEET_NAMES[name], TABLE_TITLES[name], tuple(columns), rounded)


def export_tables(tables: YearTables) -> list[ExportTable]:
    """Every table of :func:`build_tables` as published, in its order."""
    if tables.context is None:
        raise ValueError("the tables have no context: export the YearTables that build_tables returns")
    return [export_table(name, frame, tables.context) for name, frame in tables.items()]
