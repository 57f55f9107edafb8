"""Signals the surveys app sends, always after the transaction commits."""

from django.dispatch import Signal

# response_id, kind ("nps" | "csat" | "ces"), score, low: bool (a detractor, or a
# CSAT/CES in the bottom two), account_id (or None), contact_id, created: bool (False
# when the answer was changed within its 24-hour editing window).
response_recorded = Signal()
