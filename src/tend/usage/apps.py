from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    name = "tend.usage"
    label = "usage"
    verbose_name = _("Product usage")

    def ready(self) -> None:
        from tend.crm.events import account_deleted
        from tend.usage import receivers

        account_deleted.connect(
            receivers.account_usage_forget_later, dispatch_uid="usage-account-deleted"
        )
