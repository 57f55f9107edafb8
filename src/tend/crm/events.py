"""Signals crm sends, after the transaction commits."""

from django.dispatch import Signal

# account_id: int, contact_ids: list[int] — contacts that joined a new account by domain.
contacts_joined_account = Signal()

# contact_id: int, account_id: int, role: str (crm.models.Role: "champion" or
# "decision_maker") — the account lost that person in that role: the role was removed,
# the contact moved off the account, or the contact was deleted (then contact_id no
# longer exists).
contact_role_lost = Signal()

# account_id: int, subscription_id: int — a subscription was created, changed or deleted
# (seats, MRR, renewal date or status), e.g. for seat-use and renewal risks.
subscription_changed = Signal()

# account_id: int, contact_ids: list[int], ticket_ids: list[int] — an account was
# deleted (it no longer exists); its contacts and tickets stay, without it.
account_deleted = Signal()
