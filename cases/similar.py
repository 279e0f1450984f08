"""Similar past cases: what a new case is like, kept on the case for its triage card.

Standard library and `cases` only. The lookup is storage's (`UnitOfWork.similar_cases`,
a local full-text index; nothing goes to a cloud service); a case that is resolved
enters that index (`UnitOfWork.remember_resolved`). The three found at opening are
kept in `case.sla["similar"]`, so the card, edited many times, shows them without
asking again.
"""

from __future__ import annotations

from collections.abc import Sequence

from cases.context import Ctx
from cases.effects import Effects
from cases.records import CaseRecord, MessageRecord

SHOWN = 3


class SimilarCases(Effects):
    async def _remember_similar(
        self, ctx: Ctx, case: CaseRecord, messages: Sequence[MessageRecord]
    ) -> None:
        words = [case.title, *(m.text for m in messages)]
        found = await ctx.uow.similar_cases(words, exclude=case.id, limit=SHOWN)
        if found:
            case.sla["similar"] = [
                {"id": s.case_id, "title": s.title, "resolution": s.resolution} for s in found
            ]
            await ctx.uow.save_case(case)
