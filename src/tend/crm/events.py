"""Signals crm sends, after the transaction commits."""

from django.dispatch import Signal

# account_id: int, contact_ids: list[int] — contacts that joined a new account by domain.
contacts_joined_account = Signal()
