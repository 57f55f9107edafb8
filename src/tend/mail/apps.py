from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "tend.mail"
    label = "mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from tend.desk import events
        from tend.mail import receivers

        events.customer_email.connect(
            receivers.customer_email_queue, dispatch_uid="tend.mail.customer_email_queue"
        )
