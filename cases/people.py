"""One person across platforms: the key a staff person is recorded under, and which of
their platforms a direct message to them goes to. Standard library and `cases` only.

A person listed in `[[staff.people]]` writes from several platforms under several
keys; the engine records them (assignee, follow-up owner, sign-in) under one key,
their first listed id, through `UnitOfWork.person`, and every role and name lookup
answers any of their keys as that person.
"""

from __future__ import annotations

from collections.abc import Sequence

from cases.ports import UnitOfWork


async def recorded_key(uow: UnitOfWork, key: str) -> str:
    """The key the person behind `key` is recorded under (itself for most people)."""
    person = await uow.person(key)
    return person.key if person is not None else key


# the language tags that mean the catalogue's Simplified Chinese; Traditional ("zh-tw",
# "zh-hant", "zh-hk") is another language, which the catalogue does not have
_SIMPLIFIED = {"zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg", "zh-hans-sg", "zh-my"}


def spoken_locale(tag: str | None) -> str | None:
    """A language tag (a platform's hint, a browser's choice, "zh-CN", "en-US") as the
    catalogue's locale ("zh", "en"), or None when the catalogue has no such language."""
    tag = (tag or "").strip().lower().replace("_", "-")
    if tag in _SIMPLIFIED:
        return "zh"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def dm_key(identities: Sequence[str], prefer: str | None, direct: frozenset[str] | None) -> str:
    """Where a DM to a person goes: their key on `prefer` (the platform of the chat the
    case lives on) if the bot can DM there, else their first key on a platform it can,
    else their first key. `direct` holds the platforms that take DMs (None: every one)."""
    can = [k for k in identities if direct is None or k.partition(":")[0] in direct]
    on_prefer = [k for k in can if k.partition(":")[0] == prefer]
    return (on_prefer or can or list(identities))[0]
