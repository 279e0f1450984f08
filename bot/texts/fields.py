"""Texts of case fields, tags and the intake questions."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "usage_tag": {
        "en": "Usage: /tag word [word ...] (one word per tag, no #).",
        "zh": "用法：/tag 标签 [标签 ...]（每个标签一个词，不带 #）。",
    },
    "usage_untag": {
        "en": "Usage: /untag word [word ...]",
        "zh": "用法：/untag 标签 [标签 ...]",
    },
    "tags_set": {"en": "Case {ref} tags: {tags}", "zh": "工单 {ref} 标签：{tags}"},
    "tags_none": {"en": "none", "zh": "无"},
    "tags_unchanged": {
        "en": "Case {ref} tags are already so.",
        "zh": "工单 {ref} 的标签没有变化。",
    },
    "usage_field": {
        "en": "Usage: /field name value (without a value the field is cleared).",
        "zh": "用法：/field 字段名 值（不写值则清除该字段）。",
    },
    "field_set": {"en": "Case {ref}: {field} = {value}", "zh": "工单 {ref}：{field} = {value}"},
    "field_cleared": {"en": "Case {ref}: {field} cleared.", "zh": "工单 {ref}：已清除 {field}。"},
    "field_unchanged": {
        "en": "Case {ref}: {field} is already so.",
        "zh": "工单 {ref}：{field} 没有变化。",
    },
    "field_invalid": {
        "en": "{field} was not set: {hint}",
        "zh": "未设置 {field}：{hint}",
    },
    "field_hint_choice": {
        "en": "please answer with one of: {choices}.",
        "zh": "请从以下选项中选择：{choices}。",
    },
    "field_hint_number": {"en": "please answer with a number.", "zh": "请输入一个数字。"},
    "field_hint_pattern": {
        "en": "that does not look right; please check the format.",
        "zh": "格式似乎不对，请检查后重新输入。",
    },
    "resolve_fields_missing": {
        "en": "Case {ref} cannot be resolved yet: set {fields} first (/field name value).",
        "zh": "工单 {ref} 暂不能解决：请先填写 {fields}（/field 字段名 值）。",
    },
    "card_category": {"en": "Category: {category}", "zh": "类别：{category}"},
    # intake questions, in the customer's chat
    "intake_pick_category": {
        "en": "To route case {ref} to the right engineer: what is it about? {categories} "
        "(or say skip)",
        "zh": "为了把工单 {ref} 转给合适的工程师：请问是哪类问题？{categories}（或回复“跳过”）",
    },
    "intake_question": {
        "en": "Case {ref}: {question} (or say skip)",
        "zh": "工单 {ref}：{question}（或回复“跳过”）",
    },
    "intake_bad_answer": {
        "en": "Sorry, that answer does not fit: {hint}",
        "zh": "抱歉，这个回答不符合要求：{hint}",
    },
    "intake_done": {
        "en": "Thank you, that is all we need for case {ref}. An engineer will take it from here.",
        "zh": "谢谢，工单 {ref} 所需信息已齐全，工程师会接手处理。",
    },
    "intake_skipped": {
        "en": "No problem, we skip the questions; an engineer will look at case {ref}.",
        "zh": "好的，跳过这些问题；工程师会查看工单 {ref}。",
    },
    "intake_not_asking": {
        "en": "That question is no longer open.",
        "zh": "该问题已不再需要回答。",
    },
    "button_skip": {"en": "Skip", "zh": "跳过"},
}

# the dashboard (staff.locale): the case page's fields card, the timeline, the review
TEXTS.update(
    {
        "desk_fields": {"en": "Fields and tags", "zh": "字段与标签"},
        "desk_category": {"en": "Category", "zh": "类别"},
        "desk_tags": {"en": "Tags", "zh": "标签"},
        "desk_tags_help": {
            "en": "space- or comma-separated; empty clears",
            "zh": "以空格或逗号分隔；留空则清除",
        },
        "desk_required": {"en": "required before resolving", "zh": "解决前必填"},
        "desk_field_new": {"en": "New field", "zh": "新字段"},
        "desk_field_name": {"en": "name", "zh": "名称"},
        "desk_save": {"en": "Save", "zh": "保存"},
        "desk_labels": {"en": "Categories, tags and fields", "zh": "类别、标签与字段"},
        "desk_labels_none": {
            "en": "No categories, tags or fields on this period's cases.",
            "zh": "本期工单没有类别、标签或字段。",
        },
        "desk_labels_cases": {"en": "{name}: {count}", "zh": "{name}：{count}"},
        "desk_labels_field": {
            "en": "{name} filled: {count}",
            "zh": "已填 {name}：{count}",
        },
        "desk_ev_tagged": {"en": "{who} tagged the case {tags}", "zh": "{who} 添加了标签 {tags}"},
        "desk_ev_untagged": {"en": "{who} removed tags {tags}", "zh": "{who} 移除了标签 {tags}"},
        "desk_ev_field_set": {
            "en": "{who} set {field} to {value}",
            "zh": "{who} 将 {field} 设为 {value}",
        },
        "desk_ev_field_cleared": {"en": "{who} cleared {field}", "zh": "{who} 清除了 {field}"},
        "desk_ev_field_answered": {
            "en": "The customer answered {field}: {value}",
            "zh": "客户回答了 {field}：{value}",
        },
        "desk_ev_category_keywords": {
            "en": "Category {category}, from keywords in the opening message",
            "zh": "类别 {category}（根据首条消息的关键词）",
        },
        "desk_ev_category_button": {
            "en": "The customer chose category {category}",
            "zh": "客户选择了类别 {category}",
        },
        "desk_ev_category_answer": {
            "en": "The customer named category {category}",
            "zh": "客户回答的类别为 {category}",
        },
        "desk_ev_intake_done": {
            "en": "The customer answered the intake questions",
            "zh": "客户已回答全部接单问题",
        },
        "desk_ev_intake_skipped": {
            "en": "The customer skipped the intake questions",
            "zh": "客户跳过了接单问题",
        },
        "desk_ev_intake_stopped": {
            "en": (
                "Intake questions stopped (staff answered, the case was resolved or"
                " closed, or no category was given)"
            ),
            "zh": "接单问题已停止（工作人员已回复、工单已解决或关闭，或未选定类别）",
        },
    }
)
