"""Parsing chat commands such as `/case@casebot Disk full` or `/followup 2d @ann text`.

Standard library only. Platform-neutral: any adapter passes the message text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from cases.durations import parse_duration

_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@[A-Za-z0-9_]+)?(?:\s+|$)(.*)$", re.DOTALL)
_CASE_REF = re.compile(r"(?<![\w#])#(\d+)\b")
_MENTION = re.compile(r"(?<!\w)@([A-Za-z0-9_]{2,64})")

STAFF_COMMANDS = frozenset(
    {
        "case",
        "assign",
        "priority",
        "resolve",
        "reopen",
        "followup",
        "note",
        "move",
        "merge",
        "done",
        "hold",
        "login",
    }
)
CUSTOMER_COMMANDS = frozenset({"new", "status", "help", "start"})
KNOWN_COMMANDS = STAFF_COMMANDS | CUSTOMER_COMMANDS
# what the bot answers in a person's private chat with it
PRIVATE_COMMANDS = frozenset({"login", "start", "help"})


@dataclass(frozen=True)
class Command:
    name: str
    args: str

    @property
    def case_ref(self) -> int | None:
        match = _CASE_REF.search(self.args)
        return int(match.group(1)) if match else None

    @property
    def args_without_ref(self) -> str:
        return _CASE_REF.sub("", self.args, count=1).strip()


def parse_command(text: str) -> Command | None:
    """A Command if `text` starts with a known /command, else None."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    name = match.group(1).lower()
    if name not in KNOWN_COMMANDS:
        return None
    return Command(name, match.group(2).strip())


def unknown_command(text: str) -> str | None:
    """The name of a /command that casebot does not know (`/reslove`), else None."""
    match = _COMMAND.match(text.strip())
    if not match or match.group(1).lower() in KNOWN_COMMANDS:
        return None
    return match.group(1).lower()


def mentions(text: str) -> list[str]:
    return _MENTION.findall(text)


@dataclass(frozen=True)
class FollowUpSpec:
    delay: timedelta
    owner: str | None  # a username without "@", or "me"
    text: str


def parse_followup(args: str) -> FollowUpSpec:
    """`2d @owner text` or `4h text`; raises ValueError with a usage hint."""
    parts = args.split(None, 1)
    if not parts:
        raise ValueError("usage: /followup <duration> [@owner] text")
    delay = parse_duration(parts[0])
    rest = parts[1].strip() if len(parts) > 1 else ""
    owner = None
    if rest.startswith("@"):
        head, _, tail = rest.partition(" ")
        owner = head[1:] or None
        rest = tail.strip()
    elif rest.split(" ", 1)[0].lower() == "me":
        owner, rest = "me", rest[2:].strip()
    if not rest:
        raise ValueError("usage: /followup <duration> [@owner] text")
    return FollowUpSpec(delay, owner, rest)
