from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    from tend.core.roles import ensure_role_groups

    ensure_role_groups()


class CoreConfig(AppConfig):
    name = "tend.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Role groups need every app's permissions, which exist only after migrate.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="tend-roles")
