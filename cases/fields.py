"""Case fields and tags: the declarations from config, checking a value, and the rules
for /tag, /untag, /field and the web's tags and fields actions. Standard library and
`cases` only.

A field is a named value on a case (`instance = i-7f3`). Fields declared in config
(`[[fields]]`) are checked by their type and may be required before a case resolves;
a name nobody declared is kept as free text. Tags are short lowercase words.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from cases.commands import Command
from cases.context import ActionRejected, Ctx
from cases.field_rules import MAX_VALUE, NAME, check_value, missing_required, plain
from cases.intake_questions import IntakeQuestions
from cases.model import StaffAction
from cases.records import CaseRecord, MessageRecord

TAG = re.compile(r"[^\s,#][^\s,]{0,49}")


def normal_tag(raw: str) -> str | None:
    tag = plain(raw).strip().removeprefix("#").lower()
    return tag if TAG.fullmatch(tag) else None


def split_tags(raw: str) -> list[str]:
    # a Chinese keyboard's ， and 、 separate as , does
    return [t for t in re.split(r"[\s,，、]+", raw) if t]


class CaseFields(IntakeQuestions):
    """/tag, /untag and /field, the required-fields check of /resolve, and the web's
    tags and fields actions. Tags and fields are the desk's own words about a case
    ("vip", "angry"): typed in a customer's group, they are confirmed in triage."""

    # `cases.chat_commands.Commands` provides it
    _target_case: Callable[[Ctx, Command], Awaitable[CaseRecord | None]]

    async def _cmd_tag(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        await self._tag_command(ctx, command, add=True)

    async def _cmd_untag(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        await self._tag_command(ctx, command, add=False)

    async def _tag_command(self, ctx: Ctx, command: Command, add: bool) -> None:
        raw = split_tags(command.args_without_ref)
        tags = [normal_tag(t) for t in raw]
        if not raw or None in tags:
            await self._reply(ctx, "usage_tag" if add else "usage_untag")
            return
        case = await self._target_case(ctx, command)
        if case is None:
            return
        wanted = [t for t in tags if t is not None]
        after = (
            list(dict.fromkeys(case.tags + wanted))
            if add
            else [t for t in case.tags if t not in wanted]
        )
        if not await self._set_tags(ctx, case, after, via="chat"):
            await self._staff_notice(ctx, "tags_unchanged", ref=case.ref)
            return
        await self._staff_notice(ctx, "tags_set", ref=case.ref, tags=self._tag_list(ctx, case))

    def _tag_list(self, ctx: Ctx, case: CaseRecord) -> str:
        if not case.tags:
            return self.texts.render("tags_none", self.settings.staff_locale)
        return " ".join(f"#{t}" for t in case.tags)

    async def _set_tags(self, ctx: Ctx, case: CaseRecord, tags: list[str], via: str) -> bool:
        """Give the case exactly `tags`, auditing what was added and removed; False when
        nothing changes."""
        added = [t for t in tags if t not in case.tags]
        removed = [t for t in case.tags if t not in tags]
        if not added and not removed:
            return False
        case.tags = tags
        if added:
            await ctx.uow.add_event(
                self._id(case), "tagged", ctx.now, ctx.actor_key, {"tags": added, "via": via}
            )
        if removed:
            await ctx.uow.add_event(
                self._id(case), "untagged", ctx.now, ctx.actor_key, {"tags": removed, "via": via}
            )
        await ctx.uow.save_case(case)
        ctx.outcome.case_id = case.id
        await self._touch(ctx, case)
        return True

    async def _cmd_field(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        # any space ends the name: a Chinese keyboard's is U+3000
        parts = command.args_without_ref.split(maxsplit=1)
        name = plain(parts[0]).lower() if parts else ""
        value = parts[1] if len(parts) > 1 else ""
        if not NAME.fullmatch(name):
            await self._reply(ctx, "usage_field")
            return
        case = await self._target_case(ctx, command)
        if case is None:
            return
        stored = await self._checked_field(ctx, case, name, value)
        if stored is None:
            return
        if not await self._set_field(ctx, case, name, stored, via="chat"):
            await self._staff_notice(ctx, "field_unchanged", ref=case.ref, field=name)
        elif stored:
            await self._staff_notice(ctx, "field_set", ref=case.ref, field=name, value=stored)
        else:
            await self._staff_notice(ctx, "field_cleared", ref=case.ref, field=name)

    async def _checked_field(
        self, ctx: Ctx, case: CaseRecord, name: str, value: str
    ) -> str | None:
        """The value to store ("" clears the field), or None after saying why it does
        not fit (from the web: ActionRejected)."""
        value = value.strip()
        spec = self._field_spec(ctx, case, name)
        if not value or spec is None:
            return value[:MAX_VALUE]
        stored = check_value(spec.type, value, spec.choices, spec.pattern)
        if stored is not None:
            return stored
        if ctx.quiet:
            raise ActionRejected(f"{name}: {self._field_hint('en', spec.type, spec.choices)}")
        hint = self._field_hint(ctx.chat.locale, spec.type, spec.choices)
        await self._reply(ctx, "field_invalid", field=name, hint=hint)
        return None

    def _field_hint(self, locale: str, kind: str, choices: Sequence[str]) -> str:
        if choices:
            return self.texts.render("field_hint_choice", locale, choices=", ".join(choices))
        if kind == "number":
            return self.texts.render("field_hint_number", locale)
        return self.texts.render("field_hint_pattern", locale)

    async def _set_field(
        self, ctx: Ctx, case: CaseRecord, name: str, value: str, via: str
    ) -> bool:
        """Set (or with "" clear) one field, audited; False when nothing changes."""
        old = case.fields.get(name)
        if (old or "") == value:
            return False
        if value:
            case.fields[name] = value
        else:
            case.fields.pop(name, None)
        await ctx.uow.add_event(
            self._id(case),
            "field_set",
            ctx.now,
            ctx.actor_key,
            {"field": name, "from": old, "to": value or None, "via": via},
        )
        await ctx.uow.save_case(case)
        ctx.outcome.case_id = case.id
        await self._touch(ctx, case)
        return True

    async def _fields_missing(self, ctx: Ctx, case: CaseRecord) -> bool:
        """Refuse to resolve a case whose required fields are unset, naming them."""
        account = self._account(ctx, case)
        missing = missing_required(self.settings.fields, case, account.name if account else None)
        if not missing:
            return False
        names = ", ".join(s.name for s in missing)
        await self._refuse(ctx, "resolve_fields_missing", ref=case.ref, fields=names)
        return True

    async def _act_tags(self, ctx: Ctx, case: CaseRecord, action: StaffAction) -> None:
        """The web's tags form: the case gets exactly the tags given."""
        raw = split_tags(action.value)
        tags = [normal_tag(t) for t in raw]
        if None in tags:
            raise ActionRejected(
                "a tag is one word of up to 50 characters, without #", "refuse_tag"
            )
        if not await self._set_tags(ctx, case, list(dict.fromkeys(t for t in tags if t)), "web"):
            await self._refuse(ctx, "tags_unchanged", ref=case.ref)

    async def _act_field(self, ctx: Ctx, case: CaseRecord, action: StaffAction) -> None:
        name = (action.field or "").strip().lower()
        if not NAME.fullmatch(name):
            raise ActionRejected(
                "field: a name of lowercase letters, digits, _ . -", "refuse_field_name"
            )
        stored = await self._checked_field(ctx, case, name, action.value)
        assert stored is not None  # quiet: a bad value raised
        if not await self._set_field(ctx, case, name, stored, via="web"):
            await self._refuse(ctx, "field_unchanged", ref=case.ref, field=name)
