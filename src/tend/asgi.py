"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

django_app = get_asgi_application()

from tend.usage.asgi import ingest_fast_path  # noqa: E402  (needs the app registry ready)

# The tracking API (/ingest/v1/) skips Django's request cycle; everything else is Django.
application = ProtocolTypeRouter({"http": ingest_fast_path(django_app)})  # type: ignore[arg-type]
