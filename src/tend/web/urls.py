"""Staff UI routes. views_queue.py (queues, saved views, bulk, search, account/profile
pages), views_ticket.py (the ticket page and its composer), views_mailboxes.py (mailbox
settings) and views_email.py (an emailed comment's original) each expose `urlpatterns`."""

from django.urls import include, path

app_name = "web"

urlpatterns = [
    # First: its accounts/<pk>/ (the account 360 page) replaces views_queue.account_detail.
    path("", include("tend.web.views_cockpit")),
    path("", include("tend.web.views_queue")),
    path("", include("tend.web.views_ticket")),
    path("", include("tend.web.views_mailboxes")),
    path("", include("tend.web.views_writekeys")),
    path("", include("tend.web.views_email")),
    path("", include("tend.web.views_health")),
    path("", include("tend.web.views_crm")),
    path("", include("tend.web.views_tasks")),
    path("", include("tend.web.views_metrics")),
    path("", include("tend.web.views_kb")),
    path("", include("tend.web.views_surveys")),
]
