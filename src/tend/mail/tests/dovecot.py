"""A private Dovecot IMAP server for tests, and a proxy that drops connections.

The server runs from a config in a temporary directory, listens on loopback on a
free port and accepts any user name with one password (a static passdb), so each
test logs in as a fresh user and gets an empty Maildir of its own. That keeps one
server per test session (and per xdist worker) without tests seeing each other's mail.
"""

from __future__ import annotations

import ctypes
import datetime
import grp
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from imap_tools import MailBoxUnencrypted

DOVECOT = Path("/usr/sbin/dovecot")
PASSWORD = "imap-test-password"
START_TIMEOUT = 15.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _free_ports(count: int) -> list[int]:
    # All bound at once, so the kernel hands out distinct ports.
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
    ports = [int(sock.getsockname()[1]) for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _certificates(root: Path) -> None:
    """A throwaway CA (ca.pem, for clients to trust) and a server certificate for 127.0.0.1.

    A separate CA rather than one self-signed certificate: Python's default context
    checks certificates strictly (X.509 key identifiers, CA flags) as real ones are.
    """
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tend test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (root / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (root / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (root / "key.pem").chmod(0o600)


def _config(root: Path, port: int, ssl_port: int) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to run its login processes or mail sessions as root, so as
        # root (CI, containers) it uses the users the Debian package creates.
        internal, login = "dovecot", "dovenull"
        mail_user = pwd.getpwnam("dovecot")
        chroot = ""  # the default chroots work when the master is root
    else:
        internal = login = pwd.getpwuid(os.geteuid()).pw_name
        mail_user = pwd.getpwuid(os.geteuid())
        # chroot() needs root; an unprivileged master must run everything unchrooted.
        chroot = "  chroot =\n"
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with a wrong password on purpose; no need to wait out the brute-force delay.
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = {mail_user.pw_uid}
first_valid_gid = {mail_user.pw_gid}
default_internal_user = {internal}
default_internal_group = {grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name}
default_login_user = {login}
login_trusted_networks = 127.0.0.0/8
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/mail/%u
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
}}
service anvil {{
{chroot}  # No growing delay after failed logins (all tests come from one address).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@dataclass
class Dovecot:
    """A running private Dovecot; every user name logs in with ``PASSWORD``."""

    root: Path
    port: int  # plain IMAP, with STARTTLS offered
    ssl_port: int  # IMAP over TLS
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    password: str = PASSWORD

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate, for clients to trust."""
        return self.root / "ca.pem"

    def new_user(self) -> str:
        return f"u{uuid.uuid4().hex[:12]}"

    def connect(self, user: str, folder: str | None = "INBOX") -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.host, self.port, timeout=10).login(
            user, self.password, initial_folder=folder
        )

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in a folder by IMAP APPEND, the way an MTA's LDA would."""
        with self.connect(user, folder=None) as box:
            box.append(raw, folder)

    def create_folder(self, user: str, folder: str) -> None:
        with self.connect(user, folder=None) as box:
            box.folder.create(folder)

    def delete_folder(self, user: str, folder: str) -> None:
        with self.connect(user, folder=None) as box:
            box.folder.delete(folder)

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.connect(user, folder=None) as box:
            return box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"]

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags of every message in the folder, read without changing them."""
        with self.connect(user, folder=None) as box:
            box.folder.set(folder, readonly=True)
            return {
                int(msg.uid or 0): set(msg.flags)
                for msg in box.fetch("ALL", mark_seen=False, headers_only=True, bulk=True)
            }

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _die_with_parent() -> None:
    # A test worker killed hard (xdist, CI timeouts) must not leave Dovecot running.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _ready(process: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    """Wait until the server greets on the port; False if the process died first."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    return True
        except OSError:
            time.sleep(0.05)  # not listening yet; poll again until the deadline
    return False


def dovecot_start() -> Dovecot:
    """Start a private Dovecot and return once it answers IMAP."""
    # Not pytest's tmp_path: its parents are private to this user, and as root the
    # mail processes run as the "dovecot" user, which must reach the Maildirs.
    root = Path(tempfile.mkdtemp(prefix="tend-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("dovecot")
        os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
    _certificates(root)
    errors = ""
    # Another process may grab the free port between choosing and binding it; try again.
    for _attempt in range(5):
        port, ssl_port = _free_ports(2)
        conf = root / "dovecot.conf"
        conf.write_text(_config(root, port, ssl_port))
        process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        if _ready(process, port, time.monotonic() + START_TIMEOUT):
            return Dovecot(root=root, port=port, ssl_port=ssl_port, process=process)
        process.kill()
        output = process.communicate()[0].decode(errors="replace")
        errors = output + (root / "dovecot.log").read_text(errors="replace")
        if "Address already in use" not in errors:
            break
    shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"dovecot did not start:\n{errors}")


@dataclass
class DroppingProxy:
    """A TCP proxy to the IMAP server that can cut connections mid-stream.

    With ``cut_after`` set, each connection is closed once that many bytes have gone
    from the server to the client, the way a flaky network drops a long FETCH.
    """

    upstream: tuple[str, int]
    cut_after: int | None = None
    port: int = 0
    _server: socket.socket = field(init=False)
    _sockets: list[socket.socket] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, upstream]
            limit = self.cut_after
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, limit), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and sent + len(data) >= limit:
                    sink.sendall(data[: limit - sent])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass  # the other direction closed the pair
        self._close((source, sink))

    def _close(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            with suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._server.close()
        with self._lock:
            self._close(self._sockets)
