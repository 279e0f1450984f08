"""Parsing chat commands such as `/case@casebot Disk full` or `/followup 2d @ann text`.

Standard library only. Platform-neutral: any adapter passes the message text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from cases.durations import parse_duration
from cases.fullwidth import ascii_forms

# after the name: a space (any, the ideographic one too), a colon (a Chinese keyboard
# types "：") or the end
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@[A-Za-z0-9_]+)?(?:\s+|[:：]\s*|$)(.*)$", re.DOTALL)
# ASCII digits: "\d" takes any script's digits, which are no case numbers here; the
# full-width ones a Chinese keyboard types are the same digits and are read as ASCII
# after Chinese text too ("见工单#12"), which has no space before the mark
_CASE_REF = re.compile(r"(?<![A-Za-z0-9_#])#([0-9０-９]+)(?![0-9０-９A-Za-z_])")
# after Chinese text too ("请@erin 看看": Chinese puts no space before the mark), but not
# inside an address ("ann@example.com")
_MENTION = re.compile(r"(?<![A-Za-z0-9_.+-])@([A-Za-z0-9_]{2,64})")
# the marks a Chinese input method types in full width where a command needs ASCII
_MARKS = str.maketrans({"＃": "#", "＠": "@", "\u3000": " "})


def _command_line(text: str) -> str:
    """A command as a Chinese keyboard types it, with ASCII where the syntax needs it:
    "／ｃａｓｅ＠casebot" is "/case@casebot". Only the command word is folded;
    the arguments keep their own characters but for `＃`, `＠` and the ideographic
    space, so a note or a title is stored as written."""
    text = text.strip()
    if not text.startswith(("/", "／")):
        return text
    word = re.match(r"[/／][^\s:：]*", text)
    assert word is not None  # the pattern matches the slash alone
    head = ascii_forms(word.group())
    return head + text[word.end() :].translate(_MARKS)


def plain(text: str) -> str:
    """A token as ASCII where it has an ASCII twin ("Ｐ１" is "P1", "２ｄ" is "2d")."""
    return ascii_forms(text)


# the largest id a 64-bit integer column holds on every database; a number past it
# names nothing (and would overflow the query)
MAX_NUMBER = 2**63 - 1


def parse_number(text: str) -> int | None:
    """A case, follow-up or message number: ASCII digits within MAX_NUMBER, else None.
    ("²".isdigit() is true, yet int() refuses it.)"""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_NUMBER else None


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
        "link",
        "unlink",
        "wait",
        "send_draft",
        "take",
        "save",
        "snip",
        "tag",
        "untag",
        "field",
        "incident",
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
        """The `#N` the command names; 0 (no case has it) when N is past MAX_NUMBER,
        so the command answers "no case" rather than acting on another one."""
        match = _CASE_REF.search(self.args)
        if match is None:
            return None
        return parse_number(plain(match.group(1))) or 0

    @property
    def ref_text(self) -> str:
        """The `#N` the command names, for answers that name it."""
        match = _CASE_REF.search(self.args)
        return f"#{plain(match.group(1))}" if match else ""

    @property
    def args_without_ref(self) -> str:
        return _CASE_REF.sub("", self.args, count=1).strip()


def parse_command(text: str) -> Command | None:
    """A Command if `text` starts with a known /command, else None."""
    match = _COMMAND.match(_command_line(text))
    if not match:
        return None
    name = match.group(1).lower()
    if name not in KNOWN_COMMANDS:
        return None
    return Command(name, match.group(2).strip())


def unknown_command(text: str) -> str | None:
    """The name of a /command that casebot does not know (`/reslove`), else None."""
    match = _COMMAND.match(_command_line(text))
    if not match or match.group(1).lower() in KNOWN_COMMANDS:
        return None
    return match.group(1).lower()


def mentions(text: str) -> list[str]:
    """The @names in `text`, a full-width "＠ｅｒｉｎ" as "erin"."""
    return _MENTION.findall(ascii_forms(text))


@dataclass(frozen=True)
class FollowUpSpec:
    delay: timedelta
    owner: str | None  # a username without "@", or "me"
    text: str


def parse_followup(args: str) -> FollowUpSpec:
    """`2d @owner text` or `4h text`; raises ValueError with a usage hint."""
    parts = args.translate(_MARKS).split(None, 1)
    if not parts:
        raise ValueError("usage: /followup <duration> [@owner] text")
    delay = parse_duration(plain(parts[0]))
    rest = parts[1].strip() if len(parts) > 1 else ""
    owner = None
    if rest.startswith("@"):
        head, _, tail = rest.partition(" ")
        owner = plain(head[1:]) or None
        rest = tail.strip()
    elif rest.split(" ", 1)[0].lower() == "me":
        owner, rest = "me", rest[2:].strip()
    if not rest:
        raise ValueError("usage: /followup <duration> [@owner] text")
    return FollowUpSpec(delay, owner, rest)
