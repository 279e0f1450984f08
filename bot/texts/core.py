"""Core texts of the catalogue: acknowledgements, commands, cards, boards."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    # -- acknowledgements and case life
    "ack": {
        "en": "Thanks, we are on it: this is case {ref}.",
        "zh": "收到，我们正在处理：工单 {ref}。",
    },
    "ack_sla": {
        "en": "Thanks, we are on it: this is case {ref}. Expect a first answer within {within}.",
        "zh": "收到，我们正在处理：工单 {ref}。预计 {within}内首次回复。",
    },
    "ack_sla_by": {
        "en": "Thanks, we are on it: this is case {ref}. Expect a first answer by {by}.",
        "zh": "收到，我们正在处理：工单 {ref}。预计{by}前首次回复。",
    },
    # a due time in the account's time zone; the date only when a week or more away
    "due_local": {"en": "{time} {weekday}, {zone}", "zh": "{weekday} {time}（{zone} 时间）"},
    "due_local_date": {
        "en": "{time} {weekday} {date}, {zone}",
        "zh": "{date}（{weekday}）{time}（{zone} 时间）",
    },
    "weekday_0": {"en": "Mon", "zh": "周一"},
    "weekday_1": {"en": "Tue", "zh": "周二"},
    "weekday_2": {"en": "Wed", "zh": "周三"},
    "weekday_3": {"en": "Thu", "zh": "周四"},
    "weekday_4": {"en": "Fri", "zh": "周五"},
    "weekday_5": {"en": "Sat", "zh": "周六"},
    "weekday_6": {"en": "Sun", "zh": "周日"},
    "resolved": {
        "en": "Case {ref} ({title}) is resolved. How did we do?",
        "zh": "工单 {ref}（{title}）已解决。您对这次服务满意吗？",
    },
    "reopened": {"en": "Case {ref} is open again.", "zh": "工单 {ref} 已重新打开。"},
    "on_hold": {"en": "Case {ref} is on hold.", "zh": "工单 {ref} 已暂停。"},
    "already_case": {
        "en": "That message already belongs to case {ref} ({title}).",
        "zh": "该消息已属于工单 {ref}（{title}）。",
    },
    "already_case_move": {
        "en": (
            "That message belongs to case {ref} ({title}): it answers one of its messages. "
            "To put it on another case, reply /move #N to it."
        ),
        "zh": (
            "该消息属于工单 {ref}（{title}）：它是对该工单消息的回复。"
            "如需移到其他工单，请回复它并发送 /move #N。"
        ),
    },
    "split_off": {
        "en": "Case {ref} now tracks that message on its own, apart from case {old}.",
        "zh": "工单 {ref} 现单独跟踪该消息，已从工单 {old} 中移出。",
    },
    "already_resolved": {"en": "Case {ref} is already resolved.", "zh": "工单 {ref} 已经解决。"},
    "already_open": {"en": "Case {ref} is already open.", "zh": "工单 {ref} 仍在处理中。"},
    "assigned": {"en": "Case {ref} is now with {name}.", "zh": "工单 {ref} 已分配给 {name}。"},
    "already_assigned": {
        "en": "Case {ref} is already with {name}.",
        "zh": "工单 {ref} 已经由 {name} 负责。",
    },
    "already_priority": {
        "en": "Case {ref} is already {priority}.",
        "zh": "工单 {ref} 的优先级已经是 {priority}。",
    },
    "already_status": {
        "en": "Case {ref} is already {status}.",
        "zh": "工单 {ref} 已经是{status}。",
    },
    "already_there": {
        "en": "That message already belongs to case {ref}.",
        "zh": "该消息已属于工单 {ref}。",
    },
    "move_other_chat": {
        "en": "Case {ref} is in another chat; a message stays in its own chat.",
        "zh": "工单 {ref} 属于其他群聊；消息只能留在原群聊中。",
    },
    "merge_itself": {
        "en": "Case {ref} cannot merge into itself.",
        "zh": "工单 {ref} 不能合并到自身。",
    },
    "followup_already_done": {
        "en": "Follow-up {id} on case {ref} is already done.",
        "zh": "工单 {ref} 的跟进事项 {id} 已经完成。",
    },
    "reply_inactive": {
        "en": "Case {ref} is {status}; reopen it before replying.",
        "zh": "工单 {ref} 当前为{status}；请先重新打开再回复。",
    },
    # a staff reply written on the dashboard, posted by the bot in the customer chat
    "staff_reply_relay": {"en": "{name} ({ref}): {text}", "zh": "{name}（{ref}）：{text}"},
    "priority_set": {
        "en": "Case {ref} priority is now {priority}.",
        "zh": "工单 {ref} 优先级已设为 {priority}。",
    },
    "moved": {"en": "Moved that message to case {ref}.", "zh": "已将该消息移至工单 {ref}。"},
    "merged": {"en": "Case {ref} is merged into {into}.", "zh": "工单 {ref} 已合并到 {into}。"},
    "merged_reopened": {
        "en": "Case {ref} is merged into {into}, which is open again.",
        "zh": "工单 {ref} 已合并到 {into}，{into} 已重新打开。",
    },
    "followup_set": {
        "en": "Follow-up {id} on case {ref} is due {due}.",
        "zh": "工单 {ref} 的跟进事项 {id} 将于 {due} 到期。",
    },
    "followup_done": {
        "en": "Done: {count} follow-up(s) on case {ref}.",
        "zh": "已完成工单 {ref} 的 {count} 个跟进事项。",
    },
    "followup_none": {
        "en": "Case {ref} has no open follow-ups.",
        "zh": "工单 {ref} 没有待办的跟进事项。",
    },
    "login_link": {
        "en": "Sign in to the casebot dashboard (valid {minutes} minutes, once): {url}",
        "zh": "登录 casebot 控制台（{minutes} 分钟内有效，仅限一次）：{url}",
    },
    "login_sent": {
        "en": "I sent you a sign-in link by direct message.",
        "zh": "登录链接已私信发送给您。",
    },
    "login_unavailable": {
        "en": "The dashboard has no public address (http.public_url) yet.",
        "zh": "控制台尚未配置公开地址（http.public_url）。",
    },
    # -- refusals and usage
    "refused_staff_only": {
        "en": "Sorry, /{command} is for the support team.",
        "zh": "抱歉，/{command} 仅供支持团队使用。",
    },
    "refused_staff_only_button": {
        "en": "This button is for the support team.",
        "zh": "此按钮仅供支持团队使用。",
    },
    "not_in_triage": {
        "en": "Use this in a customer chat, or name a case: #12.",
        "zh": "请在客户群中使用，或指明工单号，例如 #12。",
    },
    "message_unknown": {
        "en": "I don't have that message on record.",
        "zh": "我没有该消息的记录。",
    },
    "case_nothing": {
        "en": "Reply /case to the customer's message, or give a title: /case Disk full.",
        "zh": "请回复客户的消息并发送 /case，或附上标题：/case 磁盘已满。",
    },
    "case_unknown": {"en": "There is no case {ref} here.", "zh": "这里没有工单 {ref}。"},
    "which_case": {
        "en": "Which case? Reply to one of its messages or name it, e.g. #12.",
        "zh": "是哪个工单？请回复该工单的消息，或写明工单号，例如 #12。",
    },
    "usage_assign": {
        "en": "Usage: /assign @user or /assign me",
        "zh": "用法：/assign @用户 或 /assign me",
    },
    "usage_priority": {
        "en": "Usage: /priority P1, P2, P3 or P4",
        "zh": "用法：/priority P1、P2、P3 或 P4",
    },
    "usage_followup": {
        "en": "Usage: /followup 2d [@owner] what to do",
        "zh": "用法：/followup 2d [@负责人] 待办内容",
    },
    "usage_move": {
        "en": "Reply to the message with /move #12.",
        "zh": "请回复要移动的消息并发送 /move #12。",
    },
    "usage_merge": {
        "en": "Usage: /merge #12 (in or about the case to merge away).",
        "zh": "用法：/merge #12（在要合并的工单中使用）。",
    },
    "merge_other_account": {
        "en": "Cases of different customers cannot be merged.",
        "zh": "不同客户的工单不能合并。",
    },
    "unknown_command": {
        "en": "Unknown command /{command}; see /help.",
        "zh": "未知命令 /{command}，请查看 /help。",
    },
    "person_unknown": {"en": "I don't know {name} on the team.", "zh": "团队中没有 {name}。"},
    # -- help
    "help_customer": {
        "en": (
            "I keep track of your requests.\n"
            "/new <text> opens a new case\n"
            "/status lists your open cases\n"
            "Reply to a message of a case to add to it."
        ),
        "zh": (
            "我会跟踪您的每个请求。\n"
            "/new <内容> 新建工单\n"
            "/status 查看未结工单\n"
            "回复工单中的消息即可补充信息。"
        ),
    },
    "help_staff": {
        "en": (
            "/case [title] (reply) open a case, /new <text>, /status [#N]\n"
            "/assign @user|me, /priority P1..P4, /resolve, /reopen\n"
            "/hold (pause; /reopen resumes), /followup 2d [@owner] text, /done\n"
            "/note text (internal), "
            "/move #N (reply), /merge #N\n"
            "/tag word, /untag word, /field name value\n"
            "/link <issue URL> [wait], /unlink, /wait, /send_draft\n"
            "/incident start|update|resolve (triage chat: tell every affected group)\n"
            "/take, /save name (reply; or react 📖), /snip name"
        ),
        "zh": (
            "/case [标题]（回复）建单，/new <内容>，/status [#N]\n"
            "/assign @用户|me，/priority P1..P4，/resolve，/reopen\n"
            "/hold（暂停；/reopen 恢复），/followup 2d [@负责人] 内容，/done\n"
            "/note 内容（内部），"
            "/move #N（回复），/merge #N\n"
            "/tag 标签，/untag 标签，/field 字段名 值\n"
            "/link <issue 链接> [wait]，/unlink，/wait，/send_draft\n"
            "/incident start|update|resolve（分诊群：通知所有受影响的群）\n"
            "/take，/save 名称（回复；或添加 📖），/snip 名称"
        ),
    },
    # -- status lists, boards and cards
    "status_none": {"en": "No open cases.", "zh": "没有未结工单。"},
    "status_title": {"en": "Open cases ({count}):", "zh": "未结工单（{count}）："},
    "status_line": {
        "en": "{ref} {title} · {status} · {priority}",
        "zh": "{ref} {title} · {status} · {priority}",
    },
    "status_followup": {
        "en": "  ↳ follow-up {owner} due {due}: {text}",
        "zh": "  ↳ 跟进 {owner} 截止 {due}：{text}",
    },
    "status_link": {"en": "Status page: {url}", "zh": "状态页面：{url}"},
    "board_empty": {"en": "📋 Support board: no open cases.", "zh": "📋 支持看板：没有未结工单。"},
    "board_title": {"en": "📋 Support board: {count} open", "zh": "📋 支持看板：{count} 个未结"},
    "board_line": {
        "en": "{ref} {title} · {status} · {owner}",
        "zh": "{ref} {title} · {status} · {owner}",
    },
    "board_more": {
        "en": "… and {more} more: /status lists them all",
        "zh": "…… 另有 {more} 个：/status 列出全部",
    },
    "card": {
        "en": (
            "{ref} {title}\n"
            "Customer: {customer} ({chat})\n"
            "Status: {status} · {priority} · Owner: {assignee}\n"
            "{due}\n{link}"
        ),
        "zh": (
            "{ref} {title}\n"
            "客户：{customer}（{chat}）\n"
            "状态：{status} · {priority} · 负责人：{assignee}\n"
            "{due}\n{link}"
        ),
    },
    "card_due_first_response": {
        "en": "First response due {at}",
        "zh": "首次响应截止：{at}",
    },
    "card_due_next_response": {
        "en": "Reply to the customer due {at}",
        "zh": "回复客户截止：{at}",
    },
    "card_due_resolution": {"en": "Resolution due {at}", "zh": "解决截止：{at}"},
    "card_due_none": {"en": "No SLA due", "zh": "无 SLA 截止时间"},
    "button_take": {"en": "Take", "zh": "接手"},
    "button_resolve": {"en": "Resolve", "zh": "解决"},
    "nobody": {"en": "nobody", "zh": "无"},
    "someone_on_team": {"en": "our team", "zh": "支持团队"},
    "status_new": {"en": "new", "zh": "新建"},
    "status_open": {"en": "open", "zh": "处理中"},
    "status_waiting_on_customer": {"en": "waiting on you", "zh": "等待客户回复"},
    "status_on_hold": {"en": "on hold", "zh": "已暂停"},
    "status_resolved": {"en": "resolved", "zh": "已解决"},
    "status_closed": {"en": "closed", "zh": "已关闭"},
    # -- buttons
    "button_done": {"en": "Done.", "zh": "已完成。"},
    "button_unknown": {"en": "That no longer applies.", "zh": "该操作已失效。"},
    "csat_thanks": {"en": "Thank you for your rating!", "zh": "感谢您的评价！"},
    # buttons on a platform without them: the choices as text, answered by the number
    "choose_by_number": {
        "en": "Reply with a number (1–{last}): {choices}",
        "zh": "请回复数字（1–{last}）：{choices}",
    },
    "opening_limited": {
        "en": "Many new requests have come in from here at once. Please wait {window} "
        "before opening another, or add the details to a request already open.",
        "zh": "此处短时间内提交了大量新请求。请等待 {window}后再提交新请求，"
        "或将详情补充到已有的请求中。",
    },
    "opening_limited_triage": {
        "en": "⚠️ {chat} ({account}): {count} cases opened within {window}; further "
        "openings there (last tried by {name}) are held back until it calms down. "
        "Staff can still open cases with /case.",
        "zh": "⚠️ {chat}（{account}）：{window} 内已开启 {count} 个工单；"
        "该处后续开启请求（最近由 {name} 发起）将暂缓，直到恢复正常。员工仍可用 /case 开启工单。",
    },
    "csat_not_asked": {
        "en": "This case is not asking for a rating now.",
        "zh": "此工单当前不需要评价。",
    },
    "csat_customers_only": {
        "en": "Only the customer can rate this case.",
        "zh": "只有客户可以评价此工单。",
    },
    # -- staff notices
    "note_triage": {
        "en": "📝 {ref} note by {name}: {text}",
        "zh": "📝 {ref} {name} 的备注：{text}",
    },
    "bot_membership": {
        "en": "Bot is now '{status}' in {title} ({chat}), account {account}.",
        "zh": "机器人在 {title}（{chat}）中的状态：{status}，客户：{account}。",
    },
    "setup_missing": {
        "en": (
            "Hello! To track support requests here I still need: {missing}. "
            "Please make me an admin with those rights."
        ),
        "zh": "您好！为了在此跟踪支持请求，我还需要：{missing}。请将我设为具备这些权限的管理员。",
    },
}
