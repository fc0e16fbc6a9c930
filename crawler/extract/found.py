"""What an extraction rule found, and where from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Where a field came from, in the order they are tried: schema.org JSON-LD, microdata,
# OpenGraph and other <meta> tags, the page's embedded JSON state, and the visible page
# (attributes and text). "default" marks a field no rule found (availability only).
SOURCES = ("jsonld", "microdata", "og", "state-json", "dom")


@dataclass(frozen=True)
class Found:
    """One field's value with its source, a confidence in 0..1 and the rule that found it."""

    value: object
    source: str
    confidence: float
    rule: str = ""

    def as_dict(self) -> dict:
        return {"source": self.source, "confidence": round(self.confidence, 2), "rule": self.rule}


@dataclass(frozen=True)
class PriceCandidate:
    """An amount a rule saw, with how much that rule trusts it (``score``: higher is better)."""

    amount: Decimal
    currency: str  # an ISO code or a symbol as written ("$", "zł"); "" when the carrier did not say
    source: str
    score: float
    rule: str
    why: str = ""  # what the position scoring saw, for the provenance record


def price_vote(candidates: list[PriceCandidate]) -> tuple[PriceCandidate, float] | None:
    """The amount the candidates agree on, and a confidence in 0..1.

    Candidates are grouped by amount. A group counts its best candidate's score, plus a
    little for every other rule showing the same amount (script state, a meta tag and the
    visible text agreeing) and less for the same rule on another element (a page shows its
    own price more than once: title block, sticky bar, buy box). The confidence grows with
    the winner's score and with its lead over the runner-up.
    """
    groups: dict[Decimal, list[PriceCandidate]] = {}
    for candidate in candidates:
        if candidate.score > 0 and candidate.amount > 0:
            groups.setdefault(candidate.amount, []).append(candidate)
    if not groups:
        return None

    def group_score(members: list[PriceCandidate]) -> float:
        best = max(c.score for c in members)
        rules = len({(c.source, c.rule) for c in members}) - 1
        repeats = len([c for c in members if c.score >= best / 2]) - 1 - rules
        return best + 0.5 * min(rules, 4) + 0.25 * min(max(repeats, 0), 2)

    ranked = sorted(groups.values(), key=group_score, reverse=True)
    winner = ranked[0]
    score = group_score(winner)
    lead = score - (group_score(ranked[1]) if len(ranked) > 1 else 0.0)
    best = max(winner, key=lambda c: c.score)
    currency = next((c.currency for c in sorted(winner, key=lambda c: -c.score) if c.currency), "")
    confidence = min(0.9, 0.15 * score + 0.1 * min(lead, 3.0))
    return PriceCandidate(best.amount, currency, best.source, score, best.rule, best.why), max(
        confidence, 0.05
    )
