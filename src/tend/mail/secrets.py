"""Encrypting mailbox passwords at rest.

The key is derived from SECRET_KEY, so a database dump alone does not reveal the
passwords. Rotating SECRET_KEY makes the stored tokens unreadable: the error says so,
and the fix is to enter the passwords again (or use environment variables).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Changing this label changes the key; it keeps this key apart from any other key
# derived from SECRET_KEY for another purpose.
_INFO = b"tend.mail.secrets.mailbox-password.v1"


class SecretUnreadable(ValidationError):
    """A stored secret cannot be decrypted (SECRET_KEY changed, or the value is damaged)."""


def _fernet() -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    key = hkdf.derive(str(settings.SECRET_KEY).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(plain: str) -> str:
    """A Fernet token (ASCII) for ``plain``."""
    return _fernet().encrypt(plain.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    """The plain text of a token made by secret_encrypt; SecretUnreadable if it cannot be."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretUnreadable(
            _(
                "A stored password cannot be decrypted; the secret key has probably changed "
                "since it was saved. Enter the password again."
            ),
            code="secret_unreadable",
        ) from None
