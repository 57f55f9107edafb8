"""`tend web`: serve Tend's ASGI application with uvicorn."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_bind_arguments(parser: ArgumentParser) -> None:
    """--host and --port, shared by `tend web`, `tend run` and `tend demo`."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="Address to bind (default: %(default)s)."
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="Port to listen on (default: %(default)s)."
    )


class Command(BaseCommand):
    help = "Serve the web application (HTTP and websockets) with uvicorn."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_bind_arguments(parser)
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Number of uvicorn worker processes on this port (default: %(default)s).",
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        import uvicorn

        # WhiteNoise serves app static files straight from their finders; it only
        # warns at start-up when `collectstatic` was never run, so make the folder.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        # The worker processes read it (tend.usage.asgi spreads ingest connections).
        os.environ["TEND_WEB_WORKERS"] = str(workers)
        uvicorn.run(
            "tend.asgi:application",
            host=host,
            port=port,
            workers=workers,
            # tend.asgi answers lifespan events: at shutdown, ingestion stores what it
            # has answered before the process exits.
            lifespan="on",
            # A stop signal should not wait forever on idle keep-alive or websocket
            # connections: systemd and `tend run` both expect a prompt exit.
            timeout_graceful_shutdown=10,
            # X-Forwarded-* are trusted from FORWARDED_ALLOW_IPS (uvicorn's own
            # variable; default 127.0.0.1), i.e. a reverse proxy on the same machine.
            proxy_headers=True,
            # tend.asgi logs each request that reaches Django (tend.core.access_log);
            # uvicorn's log would also format a line per tracking-API request.
            access_log=False,
        )
