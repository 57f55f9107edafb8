from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuccessConfig(AppConfig):
    name = "tend.success"
    label = "success"
    verbose_name = _("Customer success")

    def ready(self) -> None:
        from tend.success import receivers  # noqa: F401  (connects the signal receivers)
