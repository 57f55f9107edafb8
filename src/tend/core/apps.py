from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    from django.apps import apps

    # post_migrate fires once per app, and each app's permissions exist only after its
    # own signal; grant roles once, after the last app has its permissions.
    with_models = [c for c in apps.get_app_configs() if c.models_module is not None]
    if sender.label != with_models[-1].label:
        return
    from django.db import connections

    from tend.core.roles import ensure_role_groups
    from tend.core.search.schema import schema_create

    ensure_role_groups()
    # A later migration that alters SearchDocument makes SQLite rebuild the table,
    # which drops the full-text sync triggers; put back whatever is missing.
    schema_create(connections[kwargs.get("using", "default")])


class CoreConfig(AppConfig):
    name = "tend.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Role groups need every app's permissions, which exist only after migrate.
        post_migrate.connect(_ensure_roles, dispatch_uid="tend-roles")
