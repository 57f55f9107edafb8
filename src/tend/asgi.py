"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

django_app = get_asgi_application()

from tend.core.access_log import access_logged  # noqa: E402
from tend.usage.asgi import ingest_fast_path, lifespan  # noqa: E402  (needs the app registry)

# The tracking API (/ingest/v1/) skips Django's request cycle (and the access log: see
# tend.core.access_log); everything else is Django. At shutdown, ingestion stores what
# it has answered (tend.usage.asgi.lifespan).
application = ProtocolTypeRouter(
    {
        "http": ingest_fast_path(access_logged(django_app)),  # type: ignore[arg-type]
        "lifespan": lifespan,
    }
)
