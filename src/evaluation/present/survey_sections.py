"""The sections of the survey report (``notebooks/survey.ipynb``) in French: the survey, the
headline, the shares by group, the change since the previous wave, the method.

Each block renders figures of a :class:`~evaluation.present.survey_context.SurveyContext` (computed
there once) as HTML tables and sentences, with the publication rule (at least
:data:`~evaluation.stats.survey.MIN_RESPONDENTS` respondents) said where it hides or pools a
group. Its own file: the report's prose, apart from its charts and from the tables of ``evaluation
survey``.
"""

from __future__ import annotations

import html

import pandas as pd

from evaluation.formatting import NBSP, format_count, format_number, html_table
from evaluation.present.blocks import Html, enumerate_fr
from evaluation.present.survey_context import _TOTAL_FR, DOMAIN_VARIABLES, IndicatorResults, SurveyContext
from evaluation.present.survey_phrases import (
    _baseline_text,
    _interval_text,
    _level,
    _none_for_sheet,
    _points,
    _points_interval,
    _share_text,
    _sheet_title,
    _verdict,
)
from evaluation.stats import survey as sv

__all__ = ["survey_block", "headline_block", "domains_block", "change_block", "method_block"]

_HIDDEN_FR = "non publié"


def survey_block(ctx: SurveyContext) -> Html:
    """What the survey is: its title, institute, population, this wave's respondents; a warning when synthetic."""
    description = ctx.description
    items = [f"<li><b>Enquête</b>{NBSP}: {html.escape(description.title)}</li>"]
    if description.institute:
        items.append(f"<li><b>Institut</b>{NBSP}: {html.escape(description.institute)}</li>")
    if description.population:
        items.append(f"<li><b>Population</b>{NBSP}: {html.escape(description.population)}</li>")
    waves = ", ".join(str(w.year) for w in (*ctx.earlier, ctx.wave))
    items.append(
        f"<li><b>Vague {ctx.year}</b>{NBSP}: {format_count(len(ctx.wave.respondents), 'répondant')} "
        f"(vagues disponibles jusqu'en {ctx.year}{NBSP}: {waves})</li>"
    )
    sheets = enumerate_fr([_sheet_title(s) for s in description.sheets])
    items.append(f"<li><b>Fiches du plan mesurées</b>{NBSP}: {html.escape(sheets)}</li>")
    markup = f'<div class="ev-meta"><ul>{"".join(items)}</ul></div>'
    if description.synthetic:
        markup = (
            '<div class="ev-banner" role="note">Enquête synthétique : aucune réponse de ce fichier n\'est réelle '
            "(jeu de démonstration). Les résultats ci-dessous illustrent la méthode et ne doivent pas être cités.</div>"
            + markup
        )
    return Html(markup, "l'enquête")


def headline_block(ctx: SurveyContext, sheet: str) -> Html:
    """The share of the sheet's indicator(s) in the whole population, its interval, the baseline and the change."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "résultat d'ensemble")
    parts = []
    for result in results:
        head = result.headline
        rows = [
            {
                "Vague": str(int(r["year"])),
                "Part": _share_text(r["estimate"]),
                "Intervalle de confiance à 95 %": _interval_text(r["ci_lower"], r["ci_upper"]),
                "Répondants": format_number(int(r["respondents"])),
            }
            for _, r in result.history.iterrows()
        ]
        baseline = result.question.baseline
        if baseline is not None:
            rows.insert(
                0,
                {
                    "Vague": f"{baseline.year} (étude publiée)",
                    "Part": _baseline_text(baseline.value),
                    "Intervalle de confiance à 95 %": "inconnu",
                    "Répondants": "inconnu",
                },
            )
        table = html_table(
            pd.DataFrame(rows),
            numeric=["Part", "Intervalle de confiance à 95 %", "Répondants"],
            caption=result.indicator.label,
        )
        sentences = [
            f"En {ctx.year}, {_share_text(head['estimate'])} (intervalle de confiance à 95 % : "
            f"{_interval_text(head['ci_lower'], head['ci_upper'])}), estimé sur "
            f"{format_count(result.answered, 'répondant')} ayant répondu à la question "
            f"« {result.question.label} »."
        ]
        if result.baseline is not None and baseline is not None:
            comparison = result.baseline.iloc[0]
            verdict = _verdict(
                comparison["ci_lower"],
                comparison["ci_upper"],
                "au-dessus du chiffre de référence, au-delà de la marge d'erreur de l'enquête",
                "en dessous du chiffre de référence, au-delà de la marge d'erreur de l'enquête",
                "la différence reste dans la marge d'erreur de l'enquête",
            )
            sentences.append(
                f"Chiffre de référence : {_baseline_text(baseline.value)} en {baseline.year} "
                f"(« {baseline.source} »). Écart : {_points(comparison['difference'])} "
                f"({_points_interval(comparison['ci_lower'], comparison['ci_upper'])}) : {verdict}. "
                f"Ce chiffre de {baseline.year} est publié sans marge d'erreur, sans la question posée ni la "
                "définition des quartiers et des habitants interrogés : il est pris comme un nombre fixe, seule "
                "l'incertitude de l'enquête est comptée, et une différence de question ou de champ fausserait la "
                "comparaison sans que l'intervalle le montre."
            )
        if result.change is not None:
            overall = result.change[result.change["variable"].isna()].iloc[0]
            sentences.append(_change_sentence(overall, result.previous_year, ctx.year))
        notes = "".join(f"<p>{html.escape(s)}</p>" for s in sentences)
        parts.append(f"<h3>{html.escape(_sheet_title(sheet))}</h3>{table}{notes}")
    return Html("".join(parts), f"résultat d'ensemble, fiche {sheet}")


def _change_sentence(row: pd.Series, previous_year: int | None, year: int) -> str:
    if row["suppressed"]:
        return (
            f"Évolution depuis {previous_year} non publiée (moins de {sv.MIN_RESPONDENTS} répondants dans une vague)."
        )
    verdict = _verdict(
        row["ci_lower"],
        row["ci_upper"],
        "hausse significative",
        "baisse significative",
        "évolution compatible avec une stabilité (l'intervalle contient 0)",
    )
    return (
        f"Évolution depuis {previous_year} : de {_share_text(row['estimate_a'])} à {_share_text(row['estimate_b'])}, "
        f"soit {_points(row['difference'])} (intervalle de confiance à 95 % : "
        f"{_points_interval(row['ci_lower'], row['ci_upper'])}) : {verdict}."
    )


def _rule_text(result: IndicatorResults) -> str:
    pooled = "; ".join(
        f"{DOMAIN_VARIABLES[variable].lower()} : {enumerate_fr(labels)}"
        for variable, labels in result.pooled.items()
        if labels
    )
    text = (
        f"Règle de publication : un résultat n'est publié que s'il repose sur au moins {sv.MIN_RESPONDENTS} "
        f"répondants ayant répondu à la question ; les groupes plus petits sont réunis dans « {sv.OTHER_DOMAINS} », "
        f"complété au besoin par les plus petits groupes suivants jusqu'à {sv.MIN_RESPONDENTS} répondants. "
    )
    if pooled:
        text += f"Regroupés cette année ({pooled}). "
    if result.qpv_count:
        text += (
            f"Les résultats par quartier prioritaire ne sont pas publiés : {result.small_qpv} des "
            f"{result.qpv_count} quartiers interrogés comptent moins de {sv.MIN_RESPONDENTS} répondants."
        )
    return text


def _domain_rows(table: pd.DataFrame, variable: str) -> list[dict[str, str]]:
    rows = []
    for _, r in table.iterrows():
        hidden = bool(r["suppressed"])
        rows.append(
            {
                DOMAIN_VARIABLES[variable]: _level(r["domain"]),
                "Part": _HIDDEN_FR if hidden else _share_text(r["estimate"]),
                "Intervalle de confiance à 95 %": "–" if hidden else _interval_text(r["ci_lower"], r["ci_upper"]),
                "Répondants": format_number(int(r["respondents"])),
                "Grappes d'adresses": format_number(int(r["clusters"])),
            }
        )
    return rows


def domains_block(ctx: SurveyContext, sheet: str) -> Html:
    """The sheet's indicator(s) by commune, sex and age band, with the publication rule and what it pooled."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "résultat par commune, sexe ou âge")
    parts = []
    for result in results:
        for variable, table in result.domains.items():
            frame = pd.DataFrame(_domain_rows(table, variable))
            if variable != "commune" or not ctx.clustered:
                # The clusters explain the communes' wide intervals; sexes and ages span every cluster.
                frame = frame.drop(columns="Grappes d'adresses")
            caption = f"{result.indicator.label}, par {DOMAIN_VARIABLES[variable].lower()}, en {ctx.year}"
            parts.append(html_table(frame, numeric=[c for c in frame.columns[1:]], caption=caption))
        notes = [_rule_text(result)]
        if "commune" in result.domains and ctx.clustered:
            notes.append(
                "Les intervalles par commune sont larges : les répondants d'une commune viennent de quelques grappes "
                "d'adresses seulement, et des voisins répondent souvent de la même façon ; une différence entre "
                "communes n'est établie que si leurs intervalles ne se recouvrent pas."
            )
        parts.append("".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes))
    return Html("".join(parts), f"résultats par groupe, fiche {sheet}")


def change_block(ctx: SurveyContext, sheet: str) -> Html:
    """Change of the sheet's indicator(s) since the previous wave, overall and by sex and age band."""
    results = ctx.for_sheet(sheet)
    if not results:
        return _none_for_sheet(ctx, sheet, "évolution")
    parts = []
    for result in results:
        if result.change is None:
            parts.append(
                f"<p><em>{ctx.year} est la première vague de l'enquête : l'évolution sera mesurée à la vague "
                "suivante.</em></p>"
            )
            continue
        previous = result.previous_year
        rows = []
        for _, r in result.change.iterrows():
            variable = r["variable"]
            label = _TOTAL_FR if variable is None or pd.isna(variable) else _level(r["domain"])
            hidden = bool(r["suppressed"])
            rows.append(
                {
                    "Groupe": label,
                    str(previous): _HIDDEN_FR if hidden else _share_text(r["estimate_a"]),
                    str(ctx.year): _HIDDEN_FR if hidden else _share_text(r["estimate_b"]),
                    "Évolution": "–" if hidden else _points(r["difference"]),
                    "Intervalle de confiance à 95 %": "–" if hidden else _points_interval(r["ci_lower"], r["ci_upper"]),
                    "Lecture": "–"
                    if hidden
                    else _verdict(
                        r["ci_lower"], r["ci_upper"], "hausse significative", "baisse significative", "stable"
                    ),
                }
            )
        frame = pd.DataFrame(rows)
        parts.append(
            html_table(
                frame,
                numeric=[str(previous), str(ctx.year), "Évolution", "Intervalle de confiance à 95 %"],
                caption=f"{result.indicator.label} : évolution de {previous} à {ctx.year}",
            )
        )
        parts.append(
            "<p><em>Les deux vagues sont des échantillons tirés séparément : les incertitudes s'additionnent. "
            "« Stable » : l'intervalle de l'évolution contient 0, la différence observée peut relever du hasard du "
            f"tirage. Les communes ne sont pas comparées d'une vague à l'autre : leurs regroupements diffèrent. Un groupe "
            f"de moins de {sv.MIN_RESPONDENTS} répondants dans l'une des vagues n'est pas publié.</em></p>"
        )
    return Html("".join(parts), f"évolution, fiche {sheet}")


def method_block(ctx: SurveyContext) -> Html:
    """The survey's method in plain French: sample, weights, estimates and intervals, non-response, publication rule."""
    description = ctx.description
    paragraphs = []
    method = (description.method or "").rstrip(" .")
    declared = f" Méthode déclarée par l'institut : « {html.escape(method)} »" if method else ""
    if ctx.stratified and ctx.clustered:
        design = (
            "<b>Échantillon.</b> L'échantillon est stratifié par quartier prioritaire (chaque quartier est tiré "
            "séparément) et tiré par grappes : dans chaque quartier, des groupes d'adresses voisines sont tirés, puis "
            "des habitants dans ces groupes. Des voisins se ressemblant, un tel échantillon apporte moins "
            "d'information qu'autant de personnes tirées une à une : les intervalles en tiennent compte."
        )
    elif ctx.stratified:
        design = (
            "<b>Échantillon.</b> L'échantillon est stratifié par quartier prioritaire ; le fichier ne donne pas de "
            "grappes : chaque répondant est traité comme tiré individuellement (si l'institut a tiré des grappes "
            "d'adresses, les intervalles sont trop étroits)."
        )
    else:
        design = (
            "<b>Échantillon.</b> Le fichier ne donne ni strates ni grappes : chaque répondant est traité comme tiré "
            "individuellement dans l'ensemble des quartiers (si le tirage était stratifié ou par grappes, les "
            "intervalles sont approximatifs)."
        )
    paragraphs.append(design + declared + ".")
    paragraphs.append(
        "<b>Poids.</b> Chaque répondant compte pour le nombre d'habitants qu'il représente (son poids) : les "
        "quartiers ne sont pas interrogés en proportion de leur taille, et femmes et personnes âgées répondent plus "
        "souvent. Les poids utilisés sont les poids finaux livrés par l'institut, qui corrigent la non-réponse des "
        "personnes qui n'ont pas voulu ou pu répondre à l'enquête en supposant qu'elles pensent comme les répondants "
        "de même sexe, âge et quartier ; ce rapport ne les recale pas (pas de calage sur marges)."
    )
    paragraphs.append(
        "<b>Estimations et intervalles.</b> Chaque part est le rapport des poids des répondants concernés aux poids "
        "de tous ceux qui ont répondu à la question. Sa marge d'erreur est calculée selon le plan de sondage "
        "(linéarisation de Taylor, grappes supposées tirées avec remise dans chaque quartier, comme le logiciel R "
        "« survey ») ; un quartier où une seule grappe a été tirée compte de façon prudente. L'intervalle de "
        "confiance à 95 % est calculé sur l'échelle logit, qui le garde entre 0 et 100 % et le rend asymétrique près "
        "de ces bornes ; il ne couvre que l'erreur due au tirage, pas les biais de question ou de non-réponse."
    )
    nonresponse = []
    for result in ctx.results:
        missing = result.asked - result.answered
        nonresponse.append(
            f"{format_number(missing)} sur {format_number(result.asked)} à la question « {result.question.label} »"
        )
    paragraphs.append(
        "<b>Non-réponse à une question.</b> Les réponses « ne sait pas », les refus et les questions laissées sans "
        "réponse sont écartés : chaque part est calculée parmi les personnes qui ont répondu à la question, ce qui "
        f"suppose que les autres pensent comme elles. Répondants sans réponse exploitable en {ctx.year} : "
        + html.escape(" ; ".join(nonresponse))
        + "."
    )
    paragraphs.append(
        f"<b>Secret et précision.</b> Aucun résultat n'est publié sur moins de {sv.MIN_RESPONDENTS} répondants : "
        "en dessous, l'intervalle n'est plus fiable et les réponses de personnes identifiables seraient trop proches. "
        "Les communes, sexes ou tranches d'âge trop petits sont regroupés, et les quartiers ne sont pas publiés un à un."
    )
    return Html("".join(f"<p>{p}</p>" for p in paragraphs), "méthode")
