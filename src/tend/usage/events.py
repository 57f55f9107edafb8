"""Signals usage sends, after the transaction commits."""

from django.dispatch import Signal

# account_ids: list[int] — accounts that received new (not replayed) events in one
# ingest request. Sent once per request, never per event, so receivers (risks on
# ingest) can batch their work.
events_ingested = Signal()
