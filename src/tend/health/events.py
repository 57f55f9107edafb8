"""Signals health sends, after the transaction commits."""

from django.dispatch import Signal

# account_id: int, old: str, new: str (health.models.Band values; "" = no score) — the
# account's band differs from its previous snapshot. Not sent for an account's first
# snapshot (there is nothing to differ from).
band_changed = Signal()
