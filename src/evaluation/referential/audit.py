"""Audit of the plan document against itself.

The referential encodes the plan as written; this module re-computes what the text states and lists
every discrepancy as a :class:`Finding` (never fixing a figure). Checks:

``financing_vs_total``
    Yearly MEL financing (plus the co-financing the sheet quantifies) against the sheet's estimated
    total cost. Funding above the cost is an ``error``; a cost left partly unfunded, or funded by
    co-financers named without an amount, is a ``warning`` (the plan may intend other funders).
    A sheet with neither a cost nor yearly financing is a ``warning``.
``cofinancing_share``
    A share stated with its amount: ``share_pct / 100 * total_cost_eur`` must equal the amount
    (to the euro); shares of one sheet must not exceed 100 %.
``total_vs_parts``
    The arithmetic claims of ``plan.yaml``: a stated total (or difference) against the sum of its
    stated parts, within the claim's tolerance (for the plan's "environ").
``announced_count``
    Counts the text announces (6 priorities, 17 engagements, "N engagements" under each priority)
    against the sheets and lists the document contains.
``announced_indicators``
    The evaluation sheet says "les 17 engagements de ce plan intègrent les indicateurs de mesure":
    every engagement sheet without a quantified target is listed.
``priority_order``
    The order of the priorities in the introduction against the body.
``title_mismatch``
    Titles of one priority or sheet that differ between the table of contents, the introduction, the
    priority lists and the sheet itself. Typography (apostrophes, dashes, case, spacing, trailing
    dots, French quotes) is ignored: only wording differences are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from evaluation.formatting import format_eur, format_number
from evaluation.referential.plan import Engagement, ListedEngagement, Plan

__all__ = ["Finding", "CHECKS", "audit_plan", "findings_for"]

#: Euros below which two amounts are considered equal (rounding in the plan's text).
EURO_TOLERANCE = 1.0


@dataclass(frozen=True)
class Finding:
    """One discrepancy of the plan. ``engagement`` is a sheet id, or None for the whole document."""

    engagement: str | None
    check: str
    message: str
    expected: Any
    found: Any
    severity: str = "warning"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _eur(value: float | None) -> str:
    return format_eur(value)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def normalize_title(title: str) -> str:
    """Title reduced to its wording: case, apostrophes, dashes, quotes, spaces and dots ignored."""
    text = title.lower()
    for old, new in (("’", "'"), ("‘", "'"), ("–", "-"), ("—", "-"), ("«", ""), ("»", ""), ("\u00a0", " ")):
        text = text.replace(old, new)
    text = re.sub(r"\s*-\s*", " - ", text)
    text = re.sub(r"[.…\s]+$", "", text)
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------------------------------
# Budget


def check_financing_vs_total(plan: Plan) -> Iterable[Finding]:
    for sheet in plan.engagements:
        budget = sheet.budget
        total = budget.total_cost_eur
        mel = budget.mel_financing_sum
        if total is None and mel is None:
            what = "ni coût global ni financement MEL annuel chiffrés"
            if budget.envelopes:
                what += " (seulement des enveloppes : " + ", ".join(_eur(e.amount_eur) for e in budget.envelopes) + ")"
            yield Finding(
                sheet.id,
                "financing_vs_total",
                f"Fiche {sheet.id} : {what}.",
                "un coût et un financement chiffrés",
                None,
            )
            continue
        if total is None:
            yield Finding(
                sheet.id,
                "financing_vs_total",
                f"Fiche {sheet.id} : financement MEL de {_eur(mel)} sans coût global estimé.",
                "un coût global estimé",
                None,
            )
            continue
        if mel is not None and mel > total + EURO_TOLERANCE:
            yield Finding(
                sheet.id,
                "financing_vs_total",
                f"Fiche {sheet.id} : le financement MEL 2018-2021 ({_eur(mel)}) dépasse le coût global estimé ({_eur(total)}).",
                _num(total),
                _num(mel),
                "error",
            )
            continue
        mel_part = budget.mel_total.amount_eur if budget.mel_total and budget.mel_total.amount_eur else (mel or 0.0)
        quantified = mel_part
        unquantified = []
        for cofin in budget.cofinancing:
            if cofin.amount_eur is not None:
                quantified += cofin.amount_eur
            elif cofin.share_pct is not None:
                quantified += cofin.share_pct / 100 * total
            else:
                unquantified.append(cofin.funder)
        if quantified > total + EURO_TOLERANCE:
            yield Finding(
                sheet.id,
                "financing_vs_total",
                f"Fiche {sheet.id} : les financements chiffrés ({_eur(quantified)}) dépassent le coût global estimé ({_eur(total)}).",
                _num(total),
                _num(round(quantified, 2)),
                "error",
            )
        elif quantified < total - EURO_TOLERANCE:
            remainder = total - quantified
            if unquantified:
                detail = "à la charge de co-financeurs nommés sans montant : " + ", ".join(unquantified)
            else:
                detail = "sans co-financeur identifié"
            yield Finding(
                sheet.id,
                "financing_vs_total",
                f"Fiche {sheet.id} : {_eur(remainder)} du coût global ({_eur(total)}) ne sont pas couverts par les financements chiffrés ({_eur(quantified)}), {detail}.",
                _num(total),
                _num(round(quantified, 2)),
            )


def check_cofinancing_share(plan: Plan) -> Iterable[Finding]:
    for sheet in plan.engagements:
        budget = sheet.budget
        total = budget.total_cost_eur
        parts = [(c.funder, c.amount_eur, c.share_pct) for c in budget.cofinancing]
        if budget.mel_total is not None:
            parts.append(("MEL", budget.mel_total.amount_eur, budget.mel_total.share_pct))
        for funder, amount, share in parts:
            if total is None or amount is None or share is None:
                continue
            expected = share / 100 * total
            if abs(expected - amount) > EURO_TOLERANCE:
                yield Finding(
                    sheet.id,
                    "cofinancing_share",
                    f"Fiche {sheet.id} : {funder} à {_num(share)} % de {_eur(total)} donne {_eur(expected)}, le plan écrit {_eur(amount)}.",
                    _num(round(expected, 2)),
                    _num(amount),
                    "error",
                )
        shares = [share for _f, _a, share in parts if share is not None]
        if sum(shares) > 100:
            yield Finding(
                sheet.id,
                "cofinancing_share",
                f"Fiche {sheet.id} : les parts de financement totalisent {_num(sum(shares))} %.",
                100,
                _num(sum(shares)),
                "error",
            )


def check_total_vs_parts(plan: Plan) -> Iterable[Finding]:
    for claim in plan.arithmetic:
        if isinstance(claim.stated, str):
            sheet_id = claim.stated.split(":")[1]
            stated = plan.engagement(sheet_id).budget.mel_financing_sum
            if stated is None:
                continue
            stated_text = f"la somme des financements annuels de la fiche {sheet_id} ({_eur(stated)})"
        else:
            stated = claim.stated
            stated_text = format_number(stated)
        computed = sum(claim.terms)
        if abs(stated - computed) > claim.tolerance + 1e-9:
            terms = " ".join(f"{'+' if t >= 0 else '−'} {format_number(abs(t))}" for t in claim.terms).removeprefix(
                "+ "
            )
            yield Finding(
                claim.engagement,
                "total_vs_parts",
                f"{claim.label} : le plan indique {stated_text}, ses composantes donnent {terms} = {format_number(computed)}.",
                _num(computed),
                _num(stated),
                claim.severity,
            )


# --------------------------------------------------------------------------------------------------
# Structure of the document


def check_announced_count(plan: Plan) -> Iterable[Finding]:
    if "priorities" in plan.announced:
        value, _source = plan.announced["priorities"]
        if value != len(plan.priorities):
            yield Finding(
                None,
                "announced_count",
                f"Le plan annonce {value} priorités, le corps en contient {len(plan.priorities)}.",
                value,
                len(plan.priorities),
                "error",
            )
    if "engagements" in plan.announced:
        value, _source = plan.announced["engagements"]
        numbered = [s for s in plan.engagements if s.is_numbered]
        if value != len(numbered):
            yield Finding(
                None,
                "announced_count",
                f"Le plan annonce {value} engagements, le corps en numérote {len(numbered)}.",
                value,
                len(numbered),
                "error",
            )
        by_priority = sum(p.announced_engagements for p in plan.priorities)
        if value != by_priority:
            yield Finding(
                None,
                "announced_count",
                f"Le plan annonce {value} engagements, les priorités en annoncent {by_priority} au total.",
                value,
                by_priority,
                "error",
            )
        if "transversal_axes" in plan.announced and plan.transversal.announced_engagements:
            extra = plan.transversal.announced_engagements
            yield Finding(
                None,
                "announced_count",
                f"L'introduction présente la gouvernance et l'évaluation comme {plan.announced['transversal_axes'][0]} axes transversaux hors des {value} engagements, "
                f"mais la section « {plan.transversal.title} » les annonce comme « {extra} engagements ».",
                value,
                value + extra,
            )
    for priority in plan.priorities:
        sheets = plan.engagements_of(priority.id)
        listed = len(priority.listed_engagements)
        if listed != priority.announced_engagements:
            yield Finding(
                None,
                "announced_count",
                f"{priority.id} « {priority.title} » annonce {priority.announced_engagements} engagements et en liste {listed}.",
                priority.announced_engagements,
                listed,
            )
        if len(sheets) != priority.announced_engagements:
            extra = [s for s in sheets if not s.is_numbered]
            detail = f" (dont les fiches rattachées {', '.join(s.number or s.id for s in extra)})" if extra else ""
            yield Finding(
                None,
                "announced_count",
                f"{priority.id} « {priority.title} » annonce {priority.announced_engagements} engagements, le corps contient {len(sheets)} fiches{detail}.",
                priority.announced_engagements,
                len(sheets),
            )


def check_announced_indicators(plan: Plan) -> Iterable[Finding]:
    if "indicators_in_every_engagement" not in plan.announced:
        return
    for sheet in plan.engagements:
        if sheet.priority is None:
            continue
        if not any(ind.is_quantitative for ind in sheet.indicators):
            kinds = sorted({ind.measure.value for ind in sheet.indicators}) or ["aucun"]
            yield Finding(
                sheet.id,
                "announced_indicators",
                f"Fiche {sheet.id} « {sheet.title} » : aucun indicateur chiffré (indicateurs : {', '.join(kinds)}), "
                "alors que le plan indique que ses engagements intègrent des indicateurs de mesure.",
                "au moins un indicateur avec une cible chiffrée",
                len(sheet.indicators),
            )


def check_priority_order(plan: Plan) -> Iterable[Finding]:
    body = [p.id for p in plan.priorities]
    intro = [p.id for p in sorted(plan.priorities, key=lambda p: p.intro_rank)]
    if body != intro:
        moved = [p for p in plan.priorities if p.intro_rank != body.index(p.id) + 1]
        detail = "; ".join(
            f"« {p.title} » : rang {body.index(p.id) + 1} dans le corps, rang {p.intro_rank} dans l'introduction"
            for p in moved
        )
        yield Finding(
            None,
            "priority_order",
            f"L'ordre des priorités de l'introduction diffère de celui du corps du plan : {detail}.",
            [p.title for p in plan.priorities],
            [p.intro_title for p in sorted(plan.priorities, key=lambda p: p.intro_rank)],
        )


def _title_findings(where: str, engagement: str | None, reference: str, other: str, what: str) -> Iterable[Finding]:
    if normalize_title(reference) != normalize_title(other):
        yield Finding(
            engagement,
            "title_mismatch",
            f"{where} : « {other} » ({what}) au lieu de « {reference} ».",
            reference,
            other,
        )


def check_title_mismatch(plan: Plan) -> Iterable[Finding]:
    sheets = {s.id: s for s in plan.engagements}
    priorities = {p.id: p for p in plan.priorities}
    for priority in plan.priorities:
        yield from _title_findings(priority.id, None, priority.title, priority.toc_title, "table des matières")
        yield from _title_findings(priority.id, None, priority.title, priority.intro_title, "introduction")
    for entry in plan.toc:
        if entry.ref in sheets:
            sheet = sheets[entry.ref]
            yield from _title_findings(f"Fiche {sheet.id}", sheet.id, sheet.title, entry.title, "table des matières")
        elif entry.ref not in priorities and entry.body_title is not None:
            yield from _title_findings(
                f"Section p. {entry.page}", None, entry.body_title, entry.title, "table des matières"
            )

    def listed(items: Iterable[ListedEngagement], where: str) -> Iterable[Finding]:
        for item in items:
            sheet = sheets.get(item.ref)
            if sheet is not None:
                yield from _title_findings(f"Fiche {sheet.id}", sheet.id, sheet.title, item.title, f"liste de {where}")

    for priority in plan.priorities:
        yield from listed(priority.listed_engagements, priority.id)
        named = {item.ref for item in priority.listed_engagements}
        for sheet in plan.engagements_of(priority.id):
            if sheet.id not in named:
                yield Finding(
                    sheet.id,
                    "title_mismatch",
                    f"Fiche {sheet.number or sheet.id} « {sheet.title} » absente de la liste des engagements de {priority.id}.",
                    sheet.title,
                    None,
                )
    yield from listed(plan.transversal.listed_engagements, "la section transversale")
    in_toc = {entry.ref for entry in plan.toc}
    for sheet in plan.engagements:
        if sheet.id not in in_toc:
            yield Finding(
                sheet.id,
                "title_mismatch",
                f"Fiche {sheet.id} « {sheet.title} » absente de la table des matières.",
                sheet.title,
                None,
            )


#: The checks in the order they are run and reported.
CHECKS: dict[str, Callable[[Plan], Iterable[Finding]]] = {
    "financing_vs_total": check_financing_vs_total,
    "cofinancing_share": check_cofinancing_share,
    "total_vs_parts": check_total_vs_parts,
    "announced_count": check_announced_count,
    "announced_indicators": check_announced_indicators,
    "priority_order": check_priority_order,
    "title_mismatch": check_title_mismatch,
}


def audit_plan(plan: Plan) -> list[Finding]:
    """Every discrepancy of the plan, check by check (see the module docstring for the rules)."""
    return [finding for check in CHECKS.values() for finding in check(plan)]


def findings_for(findings: Iterable[Finding], engagement: Engagement | str) -> list[Finding]:
    """The findings that concern one sheet."""
    wanted = engagement if isinstance(engagement, str) else engagement.id
    return [f for f in findings if f.engagement == wanted]
