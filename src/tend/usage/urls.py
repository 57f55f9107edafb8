"""/ingest/v1/…: the Segment-compatible tracking API (see tend.usage.ingest)."""

from django.urls import path

from tend.usage import ingest

urlpatterns = [
    path("batch", ingest.ingest_batch, name="usage_ingest_batch"),
    path("import", ingest.ingest_batch, name="usage_ingest_import"),
    path("track", ingest.ingest_track, name="usage_ingest_track"),
    path("identify", ingest.ingest_identify, name="usage_ingest_identify"),
    path("group", ingest.ingest_group, name="usage_ingest_group"),
    path("page", ingest.ingest_page, name="usage_ingest_page"),
    path("screen", ingest.ingest_screen, name="usage_ingest_screen"),
    path("alias", ingest.ingest_alias, name="usage_ingest_alias"),
]
