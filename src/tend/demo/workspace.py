"""The demo's ready-made macros and saved views, made through the real services so they
pass the same validation as ones an admin creates in the product."""

from __future__ import annotations

from typing import Any

from tend.core.models import User
from tend.demo import names
from tend.desk.models import ProductArea, Team
from tend.desk.services import macro_create, saved_view_create


def macros_and_views_create(
    users: dict[str, User], teams: dict[str, Team], areas: dict[str, ProductArea]
) -> tuple[int, int, int]:
    """Shared and personal macros (with placeholders and actions) and saved views;
    returns how many shared macros, personal macros and views were made."""
    admin = next(u for u in users.values() if u.is_superuser)
    shared: list[tuple[str, str, dict[str, Any]]] = [
        (
            "Ask for a screenshot",
            "Hi {{ requester.first_name }},\n\nThanks for reaching out about "
            "“{{ ticket.subject }}”. Could you send a screenshot of what you see, and the time it "
            "happened? That helps us find it in our logs.\n\nBest,\n{{ agent.first_name }}",
            {"status": "pending", "add_tags": ["needs-info"]},
        ),
        (
            "Refund started",
            "Hi {{ requester.first_name }},\n\nI've started the refund for {{ account.name }}. It "
            "usually reaches the card in 5–10 business days; we'll send the credit note as soon "
            "as it's done.\n\n{{ agent.name }}",
            {"status": "pending", "add_tags": ["refund"], "team": teams[names.TEAM_BILLING].pk},
        ),
        (
            "Escalate to Tier 2",
            "Escalating #{{ ticket.number }} to Tier 2: reproduced, needs logs from engineering.",
            {
                "team": teams[names.TEAM_TIER2].pk,
                "status": "on_hold",
                "priority": "high",
                "add_tags": ["escalated"],
                "public": False,
            },
        ),
        (
            "回复：已重置两步验证",
            "{{ requester.name }}您好：\n\n已为您重置两步验证，请在下次登录时重新绑定验证器。"
            "如仍无法登录，请直接回复本邮件。\n\n{{ agent.name }}",
            {"status": "pending", "add_tags": ["security"]},
        ),
        (
            "Known issue: CSV export",
            "Hi {{ requester.first_name }}, this is a known issue with date filters in CSV "
            "exports. Until the fix ships, export without the date filter and filter in your "
            "spreadsheet. We'll update this ticket when it's live.",
            {"add_tags": ["known-issue", "workaround-given"], "status": "on_hold"},
        ),
    ]
    for name, body, actions in shared:
        macro_create(actor=admin, name=name, body=body, actions=actions, shared=True)
    personal: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "sam",
            "My sign-off: follow up Friday",
            "Thanks {{ requester.first_name }}! I'll check back with you on Friday.\n— Sam",
            {"status": "pending"},
        ),
        (
            "liwei",
            "我的模板：请提供日志",
            "{{ requester.name }}您好，麻烦提供出错时间和浏览器控制台日志，方便我们排查。谢谢！",
            {"status": "pending", "add_tags": ["needs-info"]},
        ),
    ]
    for username, name, body, actions in personal:
        macro_create(actor=users[username], name=name, body=body, actions=actions, shared=False)
    views: list[tuple[User, str, dict[str, Any], str, bool]] = [
        (
            admin,
            "Urgent & high, not solved",
            {"priority": ["urgent", "high"], "status": ["new", "open", "pending", "on_hold"]},
            "sla_due",
            True,
        ),
        (
            admin,
            "Billing backlog",
            {"team": [teams[names.TEAM_BILLING].pk], "status": ["new", "open"]},
            "-created_at",
            True,
        ),
        (
            admin,
            "Login problems",
            {"product_area": [areas["login"].pk], "status": ["new", "open", "pending"]},
            "-updated_at",
            True,
        ),
        (
            users["sam"],
            "My VIP tickets",
            {"tags": ["vip"], "assignee": [users["sam"].pk]},
            "-updated_at",
            False,
        ),
    ]
    for actor, name, filters, sort, is_shared in views:
        saved_view_create(actor=actor, name=name, filters=filters, sort=sort, shared=is_shared)
    return len(shared), len(personal), len(views)
