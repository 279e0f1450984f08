"""Why the engine refused a dashboard action, as the page's reader reads it (the API
keeps the English message: programs read it). Raised as `ActionRejected(message, key)`."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "refuse_not_staff": {"en": "only staff may act on cases", "zh": "只有员工可以处理工单"},
    "refuse_no_case": {"en": "no case #{id}", "zh": "没有工单 #{id}"},
    "refuse_no_chat": {"en": "case #{id} has no chat", "zh": "工单 #{id} 没有所属的群"},
    "refuse_priority": {
        "en": "priority must be P1, P2, P3 or P4",
        "zh": "优先级须为 P1、P2、P3 或 P4",
    },
    "refuse_followup": {
        "en": "a follow-up needs a due time and text",
        "zh": "跟进需要到期时间和内容",
    },
    "refuse_merge_into": {"en": "merge into?", "zh": "合并到哪个工单？"},
    "refuse_url": {
        "en": "url: not an issue link this desk knows",
        "zh": "链接：不是可识别的 issue 链接",
    },
    "refuse_unlink": {
        "en": "unlink needs the issue's URL or key",
        "zh": "取消关联需要 issue 的链接或编号",
    },
    "refuse_not_on_team": {"en": "{who} is not on the team", "zh": "{who} 不是团队成员"},
    "refuse_note": {"en": "a note needs text", "zh": "备注需要内容"},
    "refuse_reply": {"en": "a reply needs text", "zh": "回复需要内容"},
    "refuse_no_followup": {
        "en": "case #{id} has no follow-up {followup}",
        "zh": "工单 #{id} 没有跟进 {followup}",
    },
    "refuse_no_message": {
        "en": "case #{id} has no message {number}",
        "zh": "工单 #{id} 没有消息 {number}",
    },
    "refuse_move_to": {"en": "move to?", "zh": "移到哪个工单？"},
    "refuse_status": {"en": "unknown status {status}", "zh": "未知的状态 {status}"},
    "refuse_back_to_new": {"en": "a case cannot go back to new", "zh": "工单不能退回“新建”"},
    "refuse_reopen_first": {
        "en": "case #{id} is closed; reopen it first",
        "zh": "工单 #{id} 已结束，请先重新打开",
    },
    "refuse_number": {"en": "{name} must be a number", "zh": "{name} 须为数字"},
    "refuse_due_in": {
        "en": "due_in must be a duration such as 90m, 4h or 2d",
        "zh": "时长格式不对，例如 90m、4h、2d 或 2天",
    },
    "refuse_due_in_positive": {"en": "due_in must be positive", "zh": "时长须大于零"},
    "refuse_action": {"en": "unknown action {kind}", "zh": "未知的操作 {kind}"},
    "refuse_too_long": {
        "en": "text is longer than {max} characters",
        "zh": "内容超过 {max} 个字符",
    },
    "refuse_tag": {
        "en": "a tag is one word of up to 50 characters, without #",
        "zh": "标签须为一个词，最多 50 个字符，不含 #",
    },
    "refuse_field_name": {
        "en": "field: a name of lowercase letters, digits, _ . -",
        "zh": "字段名只能包含小写字母、数字、_ . -",
    },
    "refuse_incident_title": {"en": "an incident needs a title", "zh": "故障需要标题"},
    "refuse_incident_text": {"en": "an update needs text", "zh": "进展需要内容"},
    "refuse_incident_long": {"en": "the text is too long", "zh": "内容太长"},
    "refuse_incident_resolved": {"en": "{ref} is resolved already", "zh": "{ref} 已解决"},
    "refuse_incident_none": {"en": "no incident is open", "zh": "没有正在处理的故障"},
}
