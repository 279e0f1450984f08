"""Intake questions: when a case opens in a category, the bot asks that category's
questions one by one in the case's thread, checks each answer, stores it as a case
field, and stops as soon as staff speak in the case. Standard library and `cases` only.

The category comes from keywords in the opening message, else from the customer's
pick (a button, or a numbered text choice where the platform has none, or the
category's name typed as the answer). A customer may skip (`skip`, `跳过`, or the
Skip button). The progress is kept on the case (`CaseRecord.questions`):
`state` choosing | asking | done | skipped | stopped, `next` (the question asked),
`tries` (bad answers to it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from cases.commands import parse_number
from cases.context import Ctx
from cases.field_rules import (
    Category,
    FieldSpec,
    Question,
    by_answer,
    by_keywords,
    check_value,
    plain,
)
from cases.intake import Intake
from cases.model import Button, ChatKind, MessageRole, Outbound, OutboundKind
from cases.records import CaseRecord, MessageRecord

SKIP_WORDS = frozenset({"skip", "/skip", "跳过"})
# bad answers to one question before the bot moves on (it never nags without end)
MAX_TRIES = 3
ASKING = ("choosing", "asking")
BUTTONS = ("qcat", "qans", "qskip")


class IntakeQuestions(Intake):
    """Asking the category's questions and reading the answers."""

    # `cases.fields.CaseFields` provides these
    _set_field: Callable[[Ctx, CaseRecord, str, str, str], Awaitable[bool]]
    _field_hint: Callable[[str, str, Sequence[str]], str]

    def _field_spec(self, ctx: Ctx, case: CaseRecord, name: str) -> FieldSpec | None:
        """The declaration of `name` that holds for this case: one made for another
        account or category leaves the field free text here."""
        account = self._account(ctx, case)
        return next(
            (
                s
                for s in self.settings.fields
                if s.name == name and s.applies(account.name if account else None, case.category)
            ),
            None,
        )

    def _categories(self, ctx: Ctx, case: CaseRecord) -> list[Category]:
        account = self._account(ctx, case)
        return self.settings.intake.for_account(account.name if account else None)

    async def _start_questions(
        self, ctx: Ctx, case: CaseRecord, first: MessageRecord, context: list[MessageRecord]
    ) -> None:
        """Right after a case opens in a customer chat: find its category and ask."""
        if ctx.chat.kind is not ChatKind.CUSTOMER or ctx.quiet:
            return
        categories = self._categories(ctx, case)
        if not categories:
            return
        said = " ".join(m.text for m in [*context, first] if m.role is MessageRole.CUSTOMER)
        category = by_keywords(categories, said)
        if category is not None:
            await self._enter_category(ctx, case, category, by="keywords")
        elif self.settings.intake.ask_category:
            case.questions = {"state": "choosing", "tries": 0}
            await ctx.uow.save_case(case)
            await self._ask_category(ctx, case, categories, hint=False)

    async def _enter_category(
        self, ctx: Ctx, case: CaseRecord, category: Category, by: str
    ) -> None:
        case.category = category.name
        await ctx.uow.add_event(
            self._id(case), "category_set", ctx.now, ctx.actor_key,
            {"category": category.name, "by": by},
        )  # fmt: skip
        if category.questions:
            case.questions = {"state": "asking", "next": 0, "tries": 0}
        else:
            case.questions = {"state": "done"}
        await ctx.uow.save_case(case)
        await self._route_category(ctx, case)  # a category's route, if any (cases.assigning)
        await self._touch(ctx, case)
        if category.questions:
            await self._ask(ctx, case, category, hint=False)

    def _category_of(self, ctx: Ctx, case: CaseRecord) -> Category | None:
        return next((c for c in self._categories(ctx, case) if c.name == case.category), None)

    async def _ask_category(
        self, ctx: Ctx, case: CaseRecord, categories: Sequence[Category], hint: bool
    ) -> None:
        locale = ctx.chat.locale
        names = ", ".join(c.shown(locale) for c in categories)
        text = self.texts.render("intake_pick_category", locale, ref=case.ref, categories=names)
        if hint:
            text = self.texts.render("intake_bad_answer", locale, hint=text)
        buttons = tuple(
            Button(c.shown(locale), f"qcat:{case.id}:{i}") for i, c in enumerate(categories)
        )
        await self._question_out(ctx, case, text, (buttons, self._skip_row(ctx, case)))

    async def _ask(self, ctx: Ctx, case: CaseRecord, category: Category, hint: bool) -> None:
        locale = ctx.chat.locale
        number = int(case.questions.get("next", 0))
        question = category.questions[number]
        text = self.texts.render(
            "intake_question", locale, ref=case.ref, question=question.text(locale)
        )
        if hint:
            why = question.hint_text(locale) or self._question_hint(ctx, case, question)
            text = self.texts.render("intake_bad_answer", locale, hint=why) + "\n" + text
        rows: list[tuple[Button, ...]] = []
        if question.choices:
            rows.append(
                tuple(
                    Button(c, f"qans:{case.id}:{number}:{i}")
                    for i, c in enumerate(question.choices)
                )
            )
        rows.append(self._skip_row(ctx, case))
        await self._question_out(ctx, case, text, tuple(rows))

    def _skip_row(self, ctx: Ctx, case: CaseRecord) -> tuple[Button, ...]:
        """The Skip button, where the platform has buttons: as a numbered text choice it
        would make "1" (a fine answer to "how many?") mean skip; there the text's "or
        say skip" is the way."""
        if not self.settings.can(ctx.chat.key.platform).buttons:
            return ()
        return (Button(self.texts.render("button_skip", ctx.chat.locale), f"qskip:{case.id}"),)

    def _question_hint(self, ctx: Ctx, case: CaseRecord, question: Question) -> str:
        locale = ctx.chat.locale
        spec = self._field_spec(ctx, case, question.field)
        if question.choices or question.pattern or spec is None:
            return self._field_hint(locale, "pattern", question.choices)
        return self._field_hint(locale, spec.type, spec.choices)

    async def _question_out(
        self, ctx: Ctx, case: CaseRecord, text: str, buttons: tuple[tuple[Button, ...], ...]
    ) -> None:
        """A question goes to the case's own chat and thread, replying to its opening line."""
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.SEND,
                ctx.chat.key.platform,
                ctx.chat.key.chat,
                text=text,
                thread=case.thread,
                reply_to=case.source_message_id,
                buttons=tuple(row for row in buttons if row),
                case_id=case.id,
                purpose="intake_question",
                extra=self._topic_to_come(ctx, case),
            ),
        )

    def _topic_to_come(self, ctx: Ctx, case: CaseRecord) -> dict[str, str]:
        """A case opening in a `topics = "per_case"` chat has no topic yet: its first
        question is queued after the topic's creation, and the dispatcher sends it into
        the topic it has made by then (`storage.outbox.case_thread`)."""
        account = self._account(ctx, case)
        if case.thread is None and account is not None and account.topics == "per_case":
            return {"case_thread": "1"}
        return {}

    async def _questions_after(self, ctx: Ctx, case: CaseRecord) -> None:
        """After a message joined the case: staff speaking ends the questions; a
        customer's line is the answer to the one asked."""
        if case.questions.get("state") not in ASKING or ctx.message is None:
            return
        if ctx.role.is_staff:
            await self._stop_questions(ctx, case, "stopped", {"reason": "staff_spoke"})
            return
        if ctx.message.role is not MessageRole.CUSTOMER:
            return
        await self._take_answer(ctx, case, ctx.message.text, ctx.message.platform_message_id)

    async def _questions_edited(self, ctx: Ctx, case: CaseRecord, message: MessageRecord) -> None:
        """A customer who corrects an answer by editing it: the edit of a refused one
        answers the question again; the edit of a taken one, if it still fits, sets
        its field anew."""
        said = message.platform_message_id
        if said is None or message.role is not MessageRole.CUSTOMER:
            return
        if case.questions.get("state") in ASKING and said == case.questions.get("refused"):
            await self._take_answer(ctx, case, message.text, said)
            return
        field = (case.questions.get("answers") or {}).get(said)
        category = self._category_of(ctx, case)
        question = next(
            (q for q in (category.questions if category else ()) if q.field == field), None
        )
        if question is not None:
            stored = self._checked_answer(ctx, case, question, message.text)
            if stored is not None:
                await self._set_field(ctx, case, question.field, stored, "intake")

    async def _take_answer(
        self, ctx: Ctx, case: CaseRecord, answer: str, said: str | None
    ) -> None:
        if plain(answer).strip().casefold() in SKIP_WORDS:
            await self._skip_questions(ctx, case)
            return
        categories = self._categories(ctx, case)
        if case.questions.get("state") == "choosing":
            category = by_answer(categories, answer)
            if category is not None:
                await self._enter_category(ctx, case, category, by="answer")
            elif await self._bad_answer(ctx, case, said):
                await self._ask_category(ctx, case, categories, hint=True)
            return
        category = self._category_of(ctx, case)
        number = int(case.questions.get("next", 0))
        if category is None or number >= len(category.questions):
            await self._stop_questions(ctx, case, "done", {"reason": "no_questions"})
            return
        question = category.questions[number]
        stored = self._checked_answer(ctx, case, question, answer)
        if stored is None:
            if await self._bad_answer(ctx, case, said):
                await self._ask(ctx, case, category, hint=True)
            else:
                await self._next_question(ctx, case, category)
            return
        if said is not None:
            answers = {**(case.questions.get("answers") or {}), said: question.field}
            case.questions = {**case.questions, "answers": answers}
        await self._set_field(ctx, case, question.field, stored, "intake")
        await self._next_question(ctx, case, category)

    def _checked_answer(
        self, ctx: Ctx, case: CaseRecord, question: Question, answer: str
    ) -> str | None:
        spec = self._field_spec(ctx, case, question.field)
        if question.choices or question.pattern or spec is None:
            return check_value("text", answer, question.choices, question.pattern)
        return check_value(spec.type, answer, spec.choices, spec.pattern)

    async def _bad_answer(self, ctx: Ctx, case: CaseRecord, said: str | None) -> bool:
        """Count a bad answer (`said`: its message, which an edit may correct); True
        while the question may be asked again."""
        tries = int(case.questions.get("tries", 0)) + 1
        case.questions = {**case.questions, "tries": tries, "refused": said}
        if tries < MAX_TRIES:
            await ctx.uow.save_case(case)
            return True
        if case.questions.get("state") == "choosing":
            await self._stop_questions(ctx, case, "stopped", {"reason": "no_category"})
        return False

    async def _next_question(self, ctx: Ctx, case: CaseRecord, category: Category) -> None:
        number = int(case.questions.get("next", 0)) + 1
        if number >= len(category.questions):
            await self._stop_questions(ctx, case, "done", {"answered": number})
            await self._send(
                ctx,
                self.texts.render("intake_done", ctx.chat.locale, ref=case.ref),
                reply_to=None,
                purpose="intake_done",
                case=case,
            )
            return
        answers = case.questions.get("answers") or {}
        case.questions = {"state": "asking", "next": number, "tries": 0, "answers": answers}
        await ctx.uow.save_case(case)
        await self._ask(ctx, case, category, hint=False)

    async def _skip_questions(self, ctx: Ctx, case: CaseRecord) -> None:
        await self._stop_questions(
            ctx, case, "skipped", {"at_question": case.questions.get("next")}
        )
        await self._send(
            ctx,
            self.texts.render("intake_skipped", ctx.chat.locale, ref=case.ref),
            reply_to=None,
            purpose="intake_done",
            case=case,
        )

    async def _stop_questions(
        self, ctx: Ctx, case: CaseRecord, state: str, data: dict[str, object]
    ) -> None:
        case.questions = {**case.questions, "state": state}
        await ctx.uow.add_event(self._id(case), f"intake_{state}", ctx.now, ctx.actor_key, data)
        await ctx.uow.save_case(case)

    async def _end_questions(self, ctx: Ctx, case: CaseRecord, status: str) -> None:
        """A case resolved, closed or merged mid-intake asks no more: a later line (or
        the reopening one) is no answer to a question put before."""
        if case.questions.get("state") in ASKING:
            case.questions = {**case.questions, "state": "stopped"}
            await ctx.uow.add_event(
                self._id(case), "intake_stopped", ctx.now, ctx.actor_key, {"reason": status}
            )

    async def _intake_button(
        self, ctx: Ctx, case: CaseRecord, action: str, parts: list[str]
    ) -> None:
        """A press on a question's button, from the case's own chat."""
        if case.chat_id != ctx.chat.id or case.questions.get("state") not in ASKING:
            await self._intake_answered(ctx, "intake_not_asking")
            return
        numbers = [parse_number(p) for p in parts]
        state = case.questions.get("state")
        if action == "qskip":
            await self._skip_questions(ctx, case)
        elif action == "qcat" and state == "choosing" and numbers and numbers[0] is not None:
            categories = self._categories(ctx, case)
            if numbers[0] >= len(categories):
                await self._intake_answered(ctx, "button_unknown")
                return
            await self._enter_category(ctx, case, categories[numbers[0]], by="button")
        elif action == "qans" and state == "asking" and self._pressed_choice(ctx, case, numbers):
            category = self._category_of(ctx, case)
            assert category is not None  # _pressed_choice found it
            question = category.questions[int(case.questions.get("next", 0))]
            choice = question.choices[numbers[1] or 0]
            await self._set_field(ctx, case, question.field, choice, "intake")
            await self._next_question(ctx, case, category)
        else:
            await self._intake_answered(ctx, "intake_not_asking")
            return
        await self._intake_answered(ctx, "button_done")

    def _pressed_choice(self, ctx: Ctx, case: CaseRecord, numbers: list[int | None]) -> bool:
        """Whether a `qans:<case>:<question>:<choice>` press answers the question asked
        now with one of its choices (an old question's button answers nothing)."""
        category = self._category_of(ctx, case)
        asked = int(case.questions.get("next", 0))
        if category is None or asked >= len(category.questions) or len(numbers) != 2:
            return False
        question, choice = numbers
        return (
            question == asked
            and choice is not None
            and choice < len(category.questions[asked].choices)
        )

    async def _intake_answered(self, ctx: Ctx, key: str) -> None:
        # a typed number (no buttons on the platform) is answered by the next question
        if ctx.event.callback_id is not None or key != "button_done":
            await self._answer(ctx, key)

    # `cases.buttons.Buttons` provides it
    _answer: Callable[[Ctx, str], Awaitable[None]]
