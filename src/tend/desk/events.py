"""Signals the desk sends, always after the transaction commits.

Receivers get ``ticket_id`` (and ``comment_id`` where relevant) and load what they need.
"""

from django.dispatch import Signal

ticket_created = Signal()  # ticket_id
ticket_solved = Signal()  # ticket_id, confirmed: bool
ticket_closed = Signal()  # ticket_id
comment_added = Signal()  # ticket_id, comment_id, public: bool, from_customer: bool
# Sent INSIDE the transaction (the outbox row must commit with the reply):
# ticket_id, comment_id (None for notices), kind ("reply" | "notice"), subject, body.
customer_email = Signal()
