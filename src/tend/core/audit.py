"""The audit log: who read as someone else, exported, or deleted personal data."""

from __future__ import annotations

from typing import Any

from tend.core.models import AuditEntry, User


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row. Kept forever; written in the caller's transaction, so the row
    exists exactly when the audited action happened. ``action`` is a short dotted name
    such as "crm.export" or "portal.view_as"."""
    return AuditEntry.objects.create(
        actor=actor, action=action[:64], target=target[:200], reason=reason, data=data or {}
    )
