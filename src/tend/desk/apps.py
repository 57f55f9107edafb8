from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "tend.desk"
    label = "desk"
    verbose_name = _("Desk")

    def ready(self) -> None:
        from tend.crm.events import account_deleted, contacts_joined_account
        from tend.desk import receivers

        account_deleted.connect(
            receivers.tickets_forget_account, dispatch_uid="desk-account-deleted"
        )

        contacts_joined_account.connect(
            receivers.tickets_follow_contacts_to_account, dispatch_uid="desk-contacts-joined"
        )
