from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "tend.surveys"
    label = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from tend.surveys import receivers

        receivers.connect()
