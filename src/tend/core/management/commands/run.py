"""`tend run`: web + worker + scheduler + SMTP receiver as one supervised group of processes.

This is the whole of Tend on one machine. The supervisor starts each part as a
child process, prefixes its output with the part's name, forwards SIGINT/SIGTERM
as one SIGTERM to each child, and if any part exits on its own it stops the
others and exits non-zero, so systemd (or whatever started it) sees the failure
and restarts the group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from argparse import ArgumentParser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

from django.core.management.base import BaseCommand, CommandError

from tend.core.management.commands.web import add_bind_arguments

# How long children get to finish their current request or job after SIGTERM.
GRACE_SECONDS = 15.0

# The SMTP receiver (`tend smtpd`, in the mail app) listens here unless told otherwise;
# port 0 leaves it out of the group (mail arrives by IMAP or HTTP only).
SMTPD_DEFAULT_HOST = "127.0.0.1"
SMTPD_DEFAULT_PORT = 2525


def smtpd_host_default() -> str:
    return os.environ.get("TEND_SMTPD_HOST", "").strip() or SMTPD_DEFAULT_HOST


def smtpd_port_default() -> int:
    value = os.environ.get("TEND_SMTPD_PORT", "").strip()
    return int(value) if value else SMTPD_DEFAULT_PORT


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a hook that makes a child receive SIGTERM when the supervisor dies.

    Children live in their own process group (so a terminal's Ctrl-C reaches only the
    supervisor, which then stops them in order); without this hook a SIGKILLed
    supervisor would leave them running. It is looked up here, before any fork,
    because the forked child must not import or load libraries.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the process group still lets an operator stop all
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = field(default=None, repr=False)


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...
    def flush(self) -> Any: ...


class Supervisor:
    def __init__(self, children: Sequence[Child], out: Writer) -> None:
        self.children = list(children)
        self.out = out
        self.width = max(len(child.name) for child in self.children)
        self.stopping = False
        self.lock = threading.Lock()

    def say(self, name: str, line: str) -> None:
        with self.lock:
            self.out.write(f"{name:<{self.width}} | {line}\n")
            self.out.flush()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        hook = _parent_death_signal()
        # Every fork happens before the first output thread starts: forking while
        # other threads run is what makes preexec hooks unsafe.
        for child in self.children:
            child.process = subprocess.Popen(  # noqa: S603  (our own interpreter and argv)
                child.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                process_group=0,
                preexec_fn=hook,
            )
        for child in self.children:
            assert child.process is not None
            self.say(child.name, f"started (pid {child.process.pid})")
            child.pump = threading.Thread(target=self._pump, args=(child,), daemon=True)
            child.pump.start()

    def _pump(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        for raw in child.process.stdout:
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            self.say("tend", f"received {signal.Signals(signum).name}, stopping")
        self.stopping = True

    def wait(self) -> int:
        """Block until asked to stop or a child exits; return the exit code for the group."""
        failed: Child | None = None
        while not self.stopping:
            for child in self.children:
                assert child.process is not None
                if child.process.poll() is not None:
                    failed = child
                    break
            if failed:
                break
            time.sleep(0.2)
        if failed is not None and failed.process is not None:
            code = failed.process.returncode
            self.say(failed.name, f"exited with code {code}; stopping the others")
        self.stop()
        return 1 if failed is not None else 0

    def stop(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in self.children:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(child.name, "did not stop in time; killing")
                child.process.kill()
                child.process.wait()
            if child.pump is not None:
                child.pump.join(timeout=2)
            self.say(child.name, f"stopped ({child.process.returncode})")


def tend_argv(*args: str) -> list[str]:
    """The command line that runs `tend <args>` with this very interpreter."""
    return [sys.executable, "-m", "tend.cli", *args]


def group_children(
    *, host: str, port: int, smtpd_host: str | None = None, smtpd_port: int | None = None
) -> list[Child]:
    """The parts of `tend run`; the SMTP receiver only when it has a port."""
    smtpd_host = smtpd_host_default() if smtpd_host is None else smtpd_host
    smtpd_port = smtpd_port_default() if smtpd_port is None else smtpd_port
    children = [
        Child("web", tend_argv("web", "--host", host, "--port", str(port))),
        Child("worker", tend_argv("worker")),
        Child("scheduler", tend_argv("scheduler")),
    ]
    if smtpd_port:
        children.append(
            Child("smtpd", tend_argv("smtpd", "--host", smtpd_host, "--port", str(smtpd_port)))
        )
    return children


def run_group(
    *,
    host: str,
    port: int,
    out: Writer,
    smtpd_host: str | None = None,
    smtpd_port: int | None = None,
) -> int:
    """Run the group; the SMTP receiver's address defaults to $TEND_SMTPD_HOST/_PORT."""
    supervisor = Supervisor(
        group_children(host=host, port=port, smtpd_host=smtpd_host, smtpd_port=smtpd_port), out
    )
    previous = {
        sig: signal.signal(sig, supervisor.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        supervisor.start()
        return supervisor.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Command(BaseCommand):
    help = "Run web, worker, scheduler and the SMTP receiver together as one supervised group."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_bind_arguments(parser)
        parser.add_argument(
            "--smtpd-host",
            default=smtpd_host_default(),
            help="Address the SMTP receiver binds (default: $TEND_SMTPD_HOST or %(default)s).",
        )
        parser.add_argument(
            "--smtpd-port",
            type=int,
            default=smtpd_port_default(),
            help="Port of the SMTP receiver; 0 leaves it out (default: $TEND_SMTPD_PORT or "
            "%(default)s).",
        )

    def handle(
        self, *args: Any, host: str, port: int, smtpd_host: str, smtpd_port: int, **options: Any
    ) -> None:
        code = run_group(
            host=host, port=port, out=self.stdout, smtpd_host=smtpd_host, smtpd_port=smtpd_port
        )
        if code:
            raise CommandError("A Tend process exited unexpectedly.", returncode=code)
