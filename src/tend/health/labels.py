"""Display names for measure kinds and override conditions (shown in the editor and in
score explanations)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tend.health import scoring

KIND_LABELS: dict[str, Promise] = {
    scoring.METRIC: _("Product metric"),
    scoring.URGENT_TICKETS: _("Open urgent tickets"),
    scoring.TICKET_VOLUME_30D: _("Tickets in the last 30 days"),
    scoring.NPS: _("NPS"),
    scoring.ONBOARDING: _("Onboarding progress"),
}

OVERRIDE_LABELS: dict[str, Promise] = {
    scoring.CHAMPION_GONE: _("Champion gone (none left, or none active for 30 days)"),
    scoring.NO_ACTIVITY_30D: _("No product activity for 30 days"),
    scoring.URGENT_TICKET_OPEN: _("An urgent ticket is open"),
}
