"""The OpenAPI 3.1 document for /api/v1, served at /api/v1/openapi.json.

Standard library only. Kept beside the routes it describes (`web.api`); a test
calls every documented operation on the real server and validates the answers
against these schemas.
"""

from __future__ import annotations

from typing import Any

from cases.model import Status

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
INT = {"type": "integer"}
CASE_ID = {"type": "integer", "minimum": 1, "maximum": 2**62}

MESSAGE = {
    "type": "object",
    "required": ["platform_message_id", "sender", "role", "text", "at", "internal"],
    "properties": {
        "platform_message_id": NSTR,
        "sender": STR,
        "sender_name": STR,
        "role": {"enum": ["customer", "staff", "bot"]},
        "text": STR,
        "at": {"type": "string", "format": "date-time"},
        "internal": {"type": "boolean"},
    },
}
EVENT = {
    "type": "object",
    "required": ["type", "at", "actor", "data"],
    "properties": {
        "type": STR,
        "at": {"type": "string", "format": "date-time"},
        "actor": NSTR,
        "data": {"type": "object"},
    },
}
CASE_SUMMARY_REQUIRED = [
    "id", "ref", "account", "chat", "title", "status", "priority", "assignee",
    "created_at", "first_response_at", "resolved_at",
]  # fmt: skip
CASE_SUMMARY = {
    "type": "object",
    "required": CASE_SUMMARY_REQUIRED,
    "properties": {
        "id": INT,
        "ref": {"type": "string", "pattern": "^#[0-9]+$"},
        "account": NSTR,
        "chat": STR,
        "title": STR,
        "status": {"enum": [s.value for s in Status]},
        "priority": {"enum": ["P1", "P2", "P3", "P4"]},
        "assignee": NSTR,
        "created_at": {"type": "string", "format": "date-time"},
        "first_response_at": TIME,
        "resolved_at": TIME,
        "updated_at": TIME,
        "sla": {"type": "object"},
        "category": NSTR,
        "tags": {"type": "array", "items": STR},
        "fields": {"type": "object", "additionalProperties": STR},
    },
}
CASE = {
    "allOf": [
        {"$ref": "#/components/schemas/CaseSummary"},
        {
            "type": "object",
            "required": ["messages", "events"],
            "properties": {
                "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "followups": {"type": "array", "items": {"type": "object"}},
                "issues": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}},
            },
        },
    ]
}
ISSUE = {
    "type": "object",
    "required": ["tracker", "key", "url", "title", "state"],
    "properties": {
        "tracker": {"enum": ["github", "gitlab", "jira", "linear"]},
        "key": STR,
        "url": STR,
        "title": STR,
        "state": {"enum": ["open", "closed"]},
    },
}
ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {"error": STR, "status": INT},
}
ACCOUNT = {
    "type": "object",
    "required": ["name", "tier", "open_cases", "chats"],
    "properties": {
        "name": STR,
        "tier": STR,
        "locale": STR,
        "intake": STR,
        "owner": NSTR,
        "open_cases": INT,
        "chats": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "chat"],
                "properties": {"id": INT, "chat": STR, "title": NSTR},
            },
        },
    },
}
PERSON = {
    "type": "object",
    "required": ["key", "name", "role"],
    "properties": {
        "key": STR,
        "name": STR,
        "person": STR,
        "username": NSTR,
        "role": {"enum": ["customer", "engineer", "lead"]},
    },
}
COUNTS = {"type": "object", "additionalProperties": INT}
STATS = {
    "type": "object",
    "required": ["cases_by_status", "queues", "sla_breaches", "outbox"],
    "properties": {
        "cases_by_status": COUNTS,
        "queues": COUNTS,
        "sla_breaches": INT,
        "outbox": {
            "type": "object",
            "required": ["pending", "dead"],
            "properties": {"pending": INT, "dead": INT},
        },
    },
}
REVIEW = {
    "type": "object",
    "required": ["account", "since", "until", "opened", "resolved", "weeks",
                 "first_response", "sla", "csat", "top_open"],
    "properties": {
        "account": STR,
        "opened": INT,
        "resolved": INT,
        "weeks": {"type": "array", "items": {"type": "object"}},
        "first_response": {"type": "object"},
        "sla": {"type": "object"},
        "csat": {"type": "object"},
        "top_open": {"type": "array", "items": {"type": "object"}},
    },
}  # fmt: skip
HIT = {
    "type": "object",
    "required": ["case_id", "chat", "sender", "role", "text", "at", "internal"],
    "properties": {
        "case_id": {"type": ["integer", "null"]},
        "chat": STR,
        "sender": STR,
        "role": STR,
        "text": STR,
        "at": STR,
        "internal": {"type": "boolean"},
    },
}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


SNIPPET = {
    "type": "object",
    "required": ["name", "uses", "variants"],
    "properties": {
        "name": STR,
        "uses": {"type": "integer"},
        "variants": {"type": "object", "additionalProperties": STR},
    },
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


ERROR_TEXTS = {
    400: "Bad input",
    401: "Missing or wrong bearer token",
    403: "The actor is not staff",
    404: "Not found",
    413: "Body too large",
    415: "Not JSON",
    409: "The case's state refuses the action; nothing changed",
    422: "The engine refused the action",
}


def _responses(ok: dict[str, Any], *codes: int) -> dict[str, Any]:
    refs = {str(c): {"$ref": f"#/components/responses/E{c}"} for c in (401, *codes)}
    return {"200": ok, **refs}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or STR,
    }


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or STR}


PAGING = [
    _query(
        "limit",
        "page size, 1..1000 (default 100)",
        {"type": "integer", "minimum": 1, "maximum": 1000},
    ),
    _query(
        "offset", "cases to skip (default 0)", {"type": "integer", "minimum": 0, "maximum": 2**62}
    ),
]
# a case or message number, "12" or "#12"
NUMBER = {"type": "string", "pattern": "^#?[0-9]{1,18}$", "example": "12"}
# the server takes at most 4000 characters, not only spaces (web.actions.MAX_REPLY)
REPLY_TEXT = {"type": "string", "minLength": 1, "maxLength": 4000, "pattern": "\\S"}
ACTOR = {
    "name": "X-Casebot-Actor",
    "in": "header",
    "required": True,
    "description": "the staff person acting, as a person key such as telegram:1001",
    "schema": {"type": "string", "pattern": "\\S"},
}
ACTIONS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "assign": ("Assign the case", {"assignee": STR}, ["assignee"]),
    "priority": ("Set the priority", {"priority": {"enum": ["P1", "P2", "P3", "P4"]}},
                 ["priority"]),
    "status": ("Change the status (resolved runs the resolve rules)",
               {"status": {"enum": ["open", "waiting_on_customer", "on_hold", "waiting_on_issue",
                                    "resolved", "closed"]}}, ["status"]),
    "notes": ("Add an internal note (never shown to the customer)", {"text": STR}, ["text"]),
    "followups": ("Add a follow-up (the owner must be staff)",
                  {"due_in": {"type": "string", "example": "2d"}, "owner": STR, "text": STR},
                  ["due_in", "text"]),
    "reply": ("Reply to the customer: the bot posts the text in the case's chat and topic as "
              "this person's answer; it counts as the staff reply for the SLA",
              {"text": REPLY_TEXT}, ["text"]),
    "move": ("Move one message of this case (its id in `messages`) to another case of the "
             "same chat, as /move", {"message": NUMBER, "to": NUMBER}, ["message", "to"]),
    "merge": ("Merge this case into another case of the same account, as /merge",
              {"into": NUMBER}, ["into"]),
    "links": ("Link the case to a GitHub, GitLab, Jira or Linear issue, as /link",
              {"url": {"type": "string", "format": "uri"}}, ["url"]),
    "unlink": ("Unlink an issue (its URL or key), as /unlink",
               {"url": {"type": "string", "minLength": 1}}, ["url"]),
    "send_draft": ("Send the customer the message drafted when a linked issue closed, "
                   "as /send_draft", {}, []),
    "tags": ("Give the case exactly these tags (comma- or space-separated; empty clears)",
             {"tags": STR}, ["tags"]),
    "fields": ("Set one case field, checked by its [[fields]] declaration (an empty value "
               "clears it)", {"field": STR, "value": STR}, ["field", "value"]),
}  # fmt: skip
STATUS_VALUES = "new|open|waiting_on_customer|on_hold|waiting_on_issue|resolved|closed"


INCIDENT_SUMMARY = {
    "type": "object",
    "required": ["id", "ref", "title", "status", "scope", "started_at", "resolved_at",
                 "accounts"],
    "properties": {
        "id": INT,
        "ref": {"type": "string", "pattern": "^INC-[0-9]+$"},
        "title": STR,
        "status": {"enum": ["open", "resolved"]},
        "scope": {"type": "object"},
        "started_at": {"type": "string", "format": "date-time"},
        "started_by": NSTR,
        "resolved_at": TIME,
        "resolved_by": NSTR,
        "accounts": {"type": "array", "items": STR},
    },
}  # fmt: skip
INCIDENT = {
    "type": "object",
    "required": [*INCIDENT_SUMMARY["required"], "updates", "groups", "open_cases"],
    "properties": {
        **INCIDENT_SUMMARY["properties"],  # type: ignore[dict-item]
        "updates": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "kind", "text", "at", "actor"],
                "properties": {
                    "id": INT,
                    "kind": {"enum": ["start", "update", "resolve"]},
                    "text": STR,
                    "at": {"type": "string", "format": "date-time"},
                    "actor": NSTR,
                },
            },
        },
        "groups": {
            "description": "per customer group, per update id: delivery state and time",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["chat", "account", "told"],
                "properties": {"chat": STR, "title": NSTR, "account": NSTR,
                               "told": {"type": "object"}},
            },
        },
        "delivery": {"type": "object"},
        "open_cases": {"type": "array", "items": {"type": "object"}},
        "linked_cases": {"type": "array", "items": INT},
    },
}  # fmt: skip


def _incident_step(summary: str, body: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": "Goes through the engine exactly like /incident in the triage chat; "
        "every affected group's notice is queued in the same transaction.",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": required, "properties": body}
                }
            },
        },
        "responses": _responses(
            _json(_ref("Incident"), "The incident's war room after the step"),
            400, 403, 404, 415, 422,
        ),
    }  # fmt: skip


def incident_paths() -> dict[str, Any]:
    incident_id = _path("id", CASE_ID)
    return {
        "/incidents": {
            "get": {
                "operationId": "listIncidents",
                "summary": "Incidents, newest first",
                "responses": _responses(_json(_array("IncidentSummary"))),
            },
            "post": {
                "operationId": "startIncident",
                "parameters": [ACTOR],
                **_incident_step(
                    "Start an incident: tell every group of the affected accounts",
                    {"title": STR, "tier": STR, "accounts": {"type": "array", "items": STR}},
                    ["title"],
                ),
            },
        },
        "/incidents/{id}": {
            "get": {
                "operationId": "getIncident",
                "summary": "The war room: updates, who was told what and when, open cases",
                "parameters": [incident_id],
                "responses": _responses(_json(_ref("Incident")), 400, 404),
            }
        },
        "/incidents/{id}/updates": {
            "post": {
                "operationId": "updateIncident",
                "parameters": [incident_id, ACTOR],
                **_incident_step("Post an update to every affected group", {"text": STR},
                                 ["text"]),
            }
        },
        "/incidents/{id}/resolve": {
            "post": {
                "operationId": "resolveIncident",
                "parameters": [incident_id, ACTOR],
                **_incident_step("Resolve: tell every affected group", {"text": STR}, []),
            }
        },
    }  # fmt: skip


def document(public_url: str | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/cases": {
            "get": {
                "operationId": "listCases",
                "summary": "Cases with messages and events, oldest first",
                "parameters": [
                    _query("status", "one status or several, comma-separated",
                           {"type": "string",
                            "pattern": f"^({STATUS_VALUES})(,({STATUS_VALUES}))*$"}),
                    _query("account", "account name"),
                    _query("assignee", "person key such as telegram:1001"),
                    *PAGING,
                ],
                "responses": _responses(
                    {
                        **_json(_array("Case")),
                        "headers": {
                            "X-Total-Count": {"schema": INT, "description": "matching cases"}
                        },
                    },
                    400,
                ),
            }
        },
        "/cases/{id}": {
            "get": {
                "operationId": "getCase",
                "summary": "One case",
                "parameters": [_path("id", CASE_ID)],
                "responses": _responses(_json(_ref("Case")), 400, 404),
            }
        },
        "/queues/{name}": {
            "get": {
                "operationId": "listQueue",
                "summary": "Case summaries in a dashboard queue, soonest deadline first",
                "parameters": [
                    _path("name", {"enum": ["unassigned", "at_risk", "breached", "waiting",
                                            "active", "all"]}),
                    _query("account", "account name"),
                    *PAGING,
                ],
                "responses": _responses(_json(_array("CaseSummary")), 400, 404),
            }
        },
        "/accounts": {
            "get": {
                "operationId": "listAccounts",
                "summary": "Accounts with their chats and active-case counts",
                "responses": _responses(_json(_array("Account"))),
            }
        },
        "/accounts/{name}/review": {
            "get": {
                "operationId": "accountReview",
                "summary": "Service review figures for one week",
                "parameters": [
                    _path("name"),
                    _query("week", "a date in the week (YYYY-MM-DD); default last week",
                           {"type": "string", "format": "date"}),
                ],
                "responses": _responses(_json(_ref("Review")), 400, 404),
            }
        },
        "/people": {
            "get": {
                "operationId": "listPeople",
                "summary": "People casebot knows",
                "parameters": [
                    _query("role", "filter", {"enum": ["staff", "customer", "engineer", "lead"]})
                ],
                "responses": _responses(_json(_array("Person")), 400),
            }
        },
        "/stats": {
            "get": {
                "operationId": "stats",
                "summary": "Counts: cases by status, queues, SLA breaches, outbox",
                "responses": _responses(_json(_ref("Stats"))),
            }
        },
        "/search": {
            "get": {
                "operationId": "searchMessages",
                "summary": "Messages containing a text (case-insensitive), newest first",
                "parameters": [
                    # the server strips q first: two characters that are not spaces
                    {**_query("q", "at least 2 characters",
                              {"type": "string", "pattern": "\\S[\\s\\S]*\\S"}),
                     "required": True},
                    _query("limit", "1..500 (default 50)",
                           {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
                "responses": _responses(_json(_array("SearchHit")), 400),
            }
        },
        "/snippets": {
            "get": {
                "operationId": "snippets",
                "summary": "Saved answers (/save, 📖), each with its en/zh variants and use count",
                "responses": _responses(_json(_array("Snippet"))),
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": _responses(_json({"type": "object"})),
            }
        },
    }  # fmt: skip
    for action, (summary, properties, required) in ACTIONS.items():
        paths[f"/cases/{{id}}/{action}"] = {
            "post": {
                "operationId": f"case_{action}",
                "summary": summary,
                "description": "Goes through the engine exactly like the chat command.",
                "parameters": [_path("id", CASE_ID), ACTOR],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": required,
                                "properties": properties,
                                # the server takes only strings (other keys are ignored)
                                "additionalProperties": {"type": ["string", "null"]},
                            }
                        }
                    },
                },
                "responses": _responses(
                    _json(_ref("Case"), "The case after the action"),
                    400, 403, 404, 409, 413, 415, 422,
                ),
            }
        }  # fmt: skip
    paths["/cases/{id}/followups/{fid}/done"] = {
        "post": {
            "operationId": "case_followup_done",
            "summary": "Mark a follow-up of the case done, as /done",
            "description": "Goes through the engine exactly like the chat command.",
            "parameters": [_path("id", CASE_ID), _path("fid", CASE_ID), ACTOR],
            "responses": _responses(
                _json(_ref("Case"), "The case after the action"), 400, 403, 404, 409, 422
            ),
        }
    }
    paths.update(incident_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "casebot API",
            "version": "1",
            "description": "Support cases from customer group chats. Every operation needs "
            "`Authorization: Bearer <http.api_token>`. Times are ISO 8601 UTC.",
        },
        "servers": [{"url": (public_url or "").rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "CaseSummary": CASE_SUMMARY,
                "Case": CASE,
                "Message": MESSAGE,
                "Event": EVENT,
                "Account": ACCOUNT,
                "Person": PERSON,
                "Stats": STATS,
                "Review": REVIEW,
                "SearchHit": HIT,
                "IncidentSummary": INCIDENT_SUMMARY,
                "Incident": INCIDENT,
                "Snippet": SNIPPET,
                "Error": ERROR,
                "Issue": ISSUE,
            },
            "responses": {
                f"E{code}": _json(_ref("Error"), text) for code, text in ERROR_TEXTS.items()
            },
        },
    }
