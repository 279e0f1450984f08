"""Issues in engineering trackers (GitHub, GitLab, Jira, Linear) that cases link to.

Standard library only. An issue is known by its tracker and a key that is the same
however its URL was written (`owner/repo#12`, `group/project#5`, `OPS-7`); one issue
may be linked from many cases of many accounts. Tracker clients and webhook routes
live outside `cases`; they hand the engine an `IssueUpdate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

TRACKERS = ("github", "gitlab", "jira", "linear")
OPEN = "open"
CLOSED = "closed"
KEY_MAX = 300  # storage's column: a longer GitHub/GitLab path names no issue we keep

_GITHUB = re.compile(r"^/([\w.-]+)/([\w.-]+)/(issues|pull)/([0-9]{1,12})/?$")
_GITLAB = re.compile(r"^/((?:[\w.-]+/)+[\w.-]+)/-/(issues|merge_requests)/([0-9]{1,12})/?$")
_JIRA = re.compile(r"^(?:/[\w.-]+)*/browse/([A-Z][A-Z0-9_]{0,30}-[0-9]{1,12})/?$")
_LINEAR = re.compile(r"^/([\w.-]+)/issue/([A-Za-z][A-Za-z0-9]{0,30}-[0-9]{1,12})(?:/[^/]*)?/?$")


@dataclass(frozen=True)
class IssueRef:
    """Where an issue lives: `tracker`, its canonical `key` and the URL as given."""

    tracker: str
    key: str
    url: str


def parse_issue_url(text: str) -> IssueRef:
    """The issue a URL names; ValueError when it names none of the four trackers'.

    GitHub and GitLab names are case-insensitive (their webhooks spell them as the
    project does, a pasted URL as the person typed it), so their keys are lower case.

    GitHub: `github.com/o/r/issues/N` and `/pull/N` (a pull request closes as an issue
    does); GitLab (any host): `/group/project/-/issues/N`; Jira (any host):
    `/browse/KEY-N`; Linear: `linear.app/team/issue/KEY-N/slug`."""
    ref = _parse_issue_url(text)
    if len(ref.key) > KEY_MAX:
        raise ValueError(f"issue key longer than {KEY_MAX} characters")
    return ref


def _parse_issue_url(text: str) -> IssueRef:
    url = text.strip().strip("<>")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    host, path = parts.hostname.lower(), parts.path
    if host in ("github.com", "www.github.com"):
        match = _GITHUB.match(path)
        if match:
            owner, repo, _, number = match.groups()
            return IssueRef("github", f"{owner}/{repo}#{number}".lower(), url)
    if host == "linear.app":
        match = _LINEAR.match(path)
        if match:
            return IssueRef("linear", match.group(2).upper(), url)
    match = _GITLAB.match(path)
    if match:
        project, kind, number = match.groups()
        mark = "!" if kind == "merge_requests" else "#"
        return IssueRef("gitlab", f"{project}{mark}{number}".lower(), url)
    match = _JIRA.match(path)
    if match:
        return IssueRef("jira", match.group(1), url)
    raise ValueError("not a GitHub, GitLab, Jira or Linear issue URL")


@dataclass
class IssueRecord:
    """What casebot knows of an issue: the last title and state its tracker told."""

    tracker: str
    key: str
    url: str
    title: str = ""
    state: str = OPEN
    state_at: datetime | None = None
    checked_at: datetime | None = None
    id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    @property
    def label(self) -> str:
        """How a chat names it: "OPS-7 Disk fills up" or the key alone."""
        return f"{self.key} {self.title}".strip() if self.title else self.key


@dataclass
class IssueLink:
    """One case's link to one issue, with the message drafted for the customer when
    the issue closed (sent only when staff say so)."""

    case_id: int
    issue_id: int
    linked_at: datetime
    linked_by: str | None = None
    draft: str | None = None
    drafted_at: datetime | None = None
    draft_sent_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class IssueUpdate:
    """What a tracker said of an issue (a webhook or a poll): its state, its title if
    known, and how it was heard (`via`: "webhook" or "poll")."""

    tracker: str
    key: str
    state: str
    at: datetime
    title: str | None = None
    via: str = "webhook"
