"""Texts of issue links: /link, /unlink, /wait, the closed-issue follow-up and draft."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "status_waiting_on_issue": {"en": "waiting on engineering", "zh": "等待研发处理"},
    "usage_link": {
        "en": (
            "Usage: /link <issue URL> [wait] [#N]. GitHub, GitLab, Jira and Linear "
            "issue links are understood."
        ),
        "zh": (
            "用法：/link <issue 链接> [wait] [#N]。"
            "支持 GitHub、GitLab、Jira 和 Linear 的 issue 链接。"
        ),
    },
    "issue_linked": {
        "en": "Case {ref} is linked to {issue} ({state}).",
        "zh": "工单 {ref} 已关联 {issue}（{state}）。",
    },
    "issue_already_linked": {
        "en": "Case {ref} is already linked to {issue}.",
        "zh": "工单 {ref} 已经关联了 {issue}。",
    },
    "issue_unlinked": {
        "en": "Case {ref} is no longer linked to {issue}.",
        "zh": "工单 {ref} 已取消关联 {issue}。",
    },
    "issue_none_linked": {
        "en": "Case {ref} is linked to no such issue.",
        "zh": "工单 {ref} 没有关联该 issue。",
    },
    "issue_wait_needs_open": {
        "en": "Case {ref} has no open linked issue to wait on; /link one first.",
        "zh": "工单 {ref} 没有未关闭的关联 issue 可等待；请先用 /link 关联。",
    },
    "issue_waiting": {
        "en": "Case {ref} waits on {issue}; its resolution clock is paused.",
        "zh": "工单 {ref} 正在等待 {issue}；解决时限已暂停计时。",
    },
    "issue_state_open": {"en": "open", "zh": "未关闭"},
    "issue_state_closed": {"en": "closed", "zh": "已关闭"},
    "card_issue": {"en": "Issue: {issue} ({state}) {url}", "zh": "Issue：{issue}（{state}）{url}"},
    # the owner's follow-up when a linked issue closes, and the triage notice with the draft
    "issue_closed_followup": {
        "en": "Tell the customer: {issue} is closed.",
        "zh": "告知客户：{issue} 已关闭。",
    },
    "issue_closed_notice": {
        "en": (
            "{issue} is closed; case {ref} ({title}) can tell its customer. Draft:\n"
            "{draft}\n\nSend it with /send_draft {ref}."
        ),
        "zh": (
            "{issue} 已关闭；工单 {ref}（{title}）可以告知客户。草稿：\n"
            "{draft}\n\n发送请用 /send_draft {ref}。"
        ),
    },
    "issue_reopened_notice": {
        "en": "{issue}, linked to case {ref}, is open again.",
        "zh": "与工单 {ref} 关联的 {issue} 已重新打开。",
    },
    # the draft itself, in the account's locale; staff send it (never the bot on its own)
    "issue_closed_draft": {
        "en": (
            "Update on case {ref} ({title}): the engineering issue behind it ({issue}) "
            "has been fixed. Please check on your side and tell us if anything still "
            "looks wrong."
        ),
        "zh": (
            "工单 {ref}（{title}）进展：相关的研发问题（{issue}）已修复。"
            "请您确认一下，如仍有异常请告诉我们。"
        ),
    },
    "button_send_draft": {"en": "Send to customer", "zh": "发送给客户"},
    "draft_none": {
        "en": "Case {ref} has no unsent draft.",
        "zh": "工单 {ref} 没有待发送的草稿。",
    },
    "draft_sent": {
        "en": "The draft went to the customer of case {ref}.",
        "zh": "草稿已发送给工单 {ref} 的客户。",
    },
    # the customer status page (title and state only, where trackers.status_page allows)
    "page_issue": {"en": "Engineering: {title} ({state})", "zh": "研发进展：{title}（{state}）"},
    # the digest and the weekly review
    "digest_issues": {
        "en": "Waiting on engineering: {count} case(s) on {issues} open issue(s)",
        "zh": "等待研发：{count} 个工单，涉及 {issues} 个未关闭 issue",
    },
    "review_issues": {
        "en": "Linked engineering issues: {issues}",
        "zh": "关联的研发 issue：{issues}",
    },
    # the dashboard (staff.locale)
    "desk_state_waiting_on_issue": {"en": "waiting on engineering", "zh": "等待研发"},
    "desk_issues": {"en": "Linked issues", "zh": "关联的 issue"},
    "desk_no_issues": {"en": "No linked issues.", "zh": "没有关联的 issue。"},
    "desk_link": {"en": "Link issue URL", "zh": "关联 issue 链接"},
    "desk_link_button": {"en": "Link", "zh": "关联"},
    "desk_unlink_button": {"en": "Unlink", "zh": "取消关联"},
    "desk_draft": {"en": "Draft for the customer", "zh": "给客户的草稿"},
    "desk_send_draft": {"en": "Send to customer", "zh": "发送给客户"},
    "desk_draft_sent": {"en": "sent {at}", "zh": "已于 {at} 发送"},
    "desk_via_webhook": {"en": "by webhook", "zh": "来自 webhook"},
    "desk_via_poll": {"en": "by polling", "zh": "来自轮询"},
    "desk_ev_issue_linked": {
        "en": "{who} linked issue {issue} ({url})",
        "zh": "{who} 关联了 issue {issue}（{url}）",
    },
    "desk_ev_issue_unlinked": {
        "en": "{who} unlinked issue {issue}",
        "zh": "{who} 取消关联 issue {issue}",
    },
    "desk_ev_issue_closed": {
        "en": "Issue {issue} was closed (heard {via})",
        "zh": "Issue {issue} 已关闭（{via}）",
    },
    "desk_ev_issue_reopened": {
        "en": "Issue {issue} was reopened",
        "zh": "Issue {issue} 已重新打开",
    },
    "desk_ev_issue_draft_sent": {
        "en": "{who} sent the customer the drafted update",
        "zh": "{who} 向客户发送了草拟的进展",
    },
}
