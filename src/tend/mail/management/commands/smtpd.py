"""`tend smtpd`: receive mail for the configured mailboxes over SMTP until stopped."""

from __future__ import annotations

import logging
import os
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tend.mail.smtpd import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    MAX_MESSAGE_BYTES,
    make_controller,
    stop_gracefully,
)


class Command(BaseCommand):
    help = "Receive email for the configured mailboxes over SMTP (runs until SIGTERM/SIGINT)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host",
            default=os.environ.get("TEND_SMTPD_HOST", DEFAULT_HOST),
            help="Address to bind (default: $TEND_SMTPD_HOST or %(default)s).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("TEND_SMTPD_PORT", "").strip() or DEFAULT_PORT),
            help="Port to listen on (default: $TEND_SMTPD_PORT or %(default)s).",
        )
        parser.add_argument(
            "--max-bytes",
            type=int,
            default=MAX_MESSAGE_BYTES,
            help="Largest message accepted, in bytes (default: %(default)s).",
        )

    def handle(self, *args: Any, host: str, port: int, max_bytes: int, **options: Any) -> None:
        if options["verbosity"] < 2:
            # aiosmtpd logs every command of every session at INFO; keep its warnings only.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        controller = make_controller(host=host, port=port, max_bytes=max_bytes)
        try:
            try:
                controller.start()
            except OSError as exc:
                raise CommandError(f"Cannot listen for SMTP on {host}:{port}: {exc}") from exc
            shown = f"[{host}]" if ":" in host else host
            self.stdout.write(f"SMTP receiver listening on {shown}:{port}")
            self.stdout.flush()
            stop.wait()
            self.stdout.write("Stopping the SMTP receiver")
            stop_gracefully(controller)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
