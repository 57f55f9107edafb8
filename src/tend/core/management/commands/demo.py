"""`tend demo`: from an empty data directory to a running Tend with sample data.

Steps: migrate, seed demo data once (the `seed_demo` command of app tend.demo),
make sure an `admin` login exists, print how to sign in, then run web + worker +
scheduler like `tend run`. Running it again reuses the data and the password.
"""

from __future__ import annotations

import os
import secrets
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from tend.core.management.commands.run import run_group, smtpd_host_default, smtpd_port_default
from tend.core.management.commands.web import add_bind_arguments
from tend.core.models import User
from tend.core.roles import Role, assign_role

ADMIN_USERNAME = "admin"


def admin_password_file() -> Path:
    return Path(settings.DATA_DIR) / "admin_password"


class Command(BaseCommand):
    help = "Set up a demo installation (migrate, sample data, admin login) and run it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_bind_arguments(parser)
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Prepare the database and print the login, but do not start the servers.",
        )
        parser.add_argument(
            "--size",
            choices=["small", "full"],
            default=os.environ.get("TEND_DEMO_SIZE", "full"),
            help="How much sample data to add (default: $TEND_DEMO_SIZE or %(default)s).",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_serve: bool, size: str, **options: Any
    ) -> None:
        self.migrate()
        self.seed(size)
        password = self.ensure_admin()
        self.announce(host, port, password, serving=not no_serve)
        if no_serve:
            return
        code = run_group(host=host, port=port, out=self.stdout)
        if code:
            raise CommandError("A Tend process exited unexpectedly.", returncode=code)

    def step(self, message: str) -> float:
        self.stdout.write(f"==> {message}")
        return time.monotonic()

    def done(self, started: float) -> None:
        self.stdout.write(f"    done in {time.monotonic() - started:.1f}s")

    def migrate(self) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        where = f"{connection.vendor} database {connection.settings_dict['NAME']}"
        if plan:
            started = self.step(f"Applying {len(plan)} migrations to the {where}")
            call_command("migrate", interactive=False, verbosity=0)
            self.done(started)
        else:
            self.stdout.write(f"==> The {where} is up to date")
        # The embedded default keeps its shared cache (rate limits) in a table that
        # migrations do not create; this is a no-op when it exists or with Redis.
        call_command("createcachetable", verbosity=0)

    def seed(self, size: str) -> None:
        if "seed_demo" not in get_commands():
            self.stdout.write("==> No demo data seeder is installed; skipping sample data.")
            return
        # Looked up by label: the platform layer (core) must not import the desk app.
        ticket_model = apps.get_model("desk", "Ticket")
        if ticket_model.objects.exists():
            self.stdout.write("==> The database already has tickets; not adding sample data.")
            return
        started = self.step(f"Adding {size} demo data (accounts, contacts, tickets)")
        call_command("seed_demo", size=size, stdout=self.stdout, stderr=self.stderr)
        self.done(started)

    def ensure_admin(self) -> str | None:
        """Create `admin` on first run and return its password; None if it was changed."""
        path = admin_password_file()
        first_time = not path.exists()
        if first_time:
            path.write_text(secrets.token_urlsafe(12) + "\n")
            path.chmod(0o600)
        password = path.read_text().strip()

        user, created = User.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com", "first_name": "Admin"}
        )
        if created or first_time:
            user.set_password(password)
            user.save(update_fields=["password"])
        assign_role(user, Role.ADMIN)
        if not user.check_password(password):
            # Someone changed it in the product; theirs wins over the stored one.
            return None
        return password

    def announce(self, host: str, port: int, password: str | None, *, serving: bool) -> None:
        shown_host = f"[{host}]" if ":" in host else host
        if host in {"0.0.0.0", "::"}:  # noqa: S104  (only deciding what to print)
            shown_host = "127.0.0.1"
        url = f"http://{shown_host}:{port}/"
        secret = password or "(changed since the first run: use the one you set)"
        lines = [
            "",
            "  Tend demo is ready." if not serving else "  Tend demo is starting.",
            f"  Open:      {url}",
            f"  Username:  {ADMIN_USERNAME}",
            f"  Password:  {secret}",
            f"  (the password is kept in {admin_password_file()})",
            "",
        ]
        smtpd_port = smtpd_port_default()
        if serving and smtpd_port:
            # The demo seeds support@tend-demo.example; mail to it becomes a ticket.
            lines.insert(
                -1,
                f"  Mail in:   SMTP {smtpd_host_default()}:{smtpd_port}"
                " for support@tend-demo.example",
            )
        if serving:
            lines.insert(-1, "  Press Ctrl-C to stop.")
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
