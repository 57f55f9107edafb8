"""What usage does when other apps' signals fire (connected in UsageConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone


def account_usage_forget_later(sender: Any, *, account_id: int, **kwargs: Any) -> None:
    """An account was deleted with its usage; ingestion may still add a little under its
    id for a moment (its writer's memory). A job clears that once it cannot any more."""
    from tend.usage.services import ACCOUNT_FORGET_AFTER
    from tend.usage.tasks import account_usage_forget

    account_usage_forget.using(run_after=timezone.now() + ACCOUNT_FORGET_AFTER).enqueue(account_id)
