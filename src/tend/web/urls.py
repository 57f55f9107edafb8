"""Staff UI routes. views_queue.py (queues, saved views, bulk, search, account/profile
pages) and views_ticket.py (the ticket page and its composer) each expose `urlpatterns`."""

from django.urls import include, path

app_name = "web"

urlpatterns = [
    path("", include("tend.web.views_queue")),
    path("", include("tend.web.views_ticket")),
]
