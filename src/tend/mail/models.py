from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Via(models.TextChoices):
    IMAP = "imap", _("IMAP")
    SMTP = "smtp", _("SMTP")
    HTTP = "http", _("HTTP")


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")


class InboundMethod(models.TextChoices):
    # Mail pushed to Tend: the built-in SMTP receiver, or an MTA posting to /ingest/email.
    PUSH = "push", _("Forwarding (SMTP receiver or HTTP)")
    IMAP = "imap", _("IMAP polling")


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (loopback only)")


class Mailbox(models.Model):
    """An address customers write to (support@...), how its mail arrives and leaves."""

    address = models.EmailField(_("address"), max_length=254)
    name = models.CharField(_("display name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    inbound_method = models.CharField(
        _("inbound method"),
        max_length=10,
        choices=InboundMethod.choices,
        default=InboundMethod.PUSH,
    )
    imap_host = models.CharField(_("IMAP host"), max_length=253, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=10, choices=Security.choices, default=Security.SSL
    )
    imap_user = models.CharField(_("IMAP user"), max_length=254, blank=True)
    # Fernet token (tend.mail.secrets); never the plain password.
    imap_password_encrypted = models.TextField(blank=True)
    # Alternatively the name of an environment variable holding the password.
    imap_password_env = models.CharField(_("IMAP password variable"), max_length=100, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=200, default="INBOX")
    # Where the poller stands: a changed UIDVALIDITY means the folder was rebuilt and
    # every UID is new again.
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_last_uid = models.BigIntegerField(default=0)
    imap_last_polled_at = models.DateTimeField(null=True, blank=True)
    imap_last_error = models.TextField(blank=True)
    # Blank host: send through the global TEND_EMAIL_URL.
    smtp_host = models.CharField(_("SMTP host"), max_length=253, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_user = models.CharField(_("SMTP user"), max_length=254, blank=True)
    smtp_password_encrypted = models.TextField(blank=True)
    smtp_password_env = models.CharField(_("SMTP password variable"), max_length=100, blank=True)
    default_team = models.ForeignKey(
        "desk.Team",
        verbose_name=_("default team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    auto_acknowledge = models.BooleanField(_("acknowledge new tickets"), default=False)
    # Blank: the built-in, translated acknowledgement.
    auto_acknowledge_subject = models.CharField(
        _("acknowledgement subject"), max_length=255, blank=True
    )
    auto_acknowledge_body = models.TextField(_("acknowledgement text"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(Lower("address"), name="mailbox_unique_address_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


class InboundMessage(models.Model):
    """One raw message as it arrived; stored before any parsing so nothing is lost."""

    # A file, not a BinaryField: messages with attachments are large and would bloat the DB.
    raw = models.FileField(upload_to="mail/raw/%Y/%m/")
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, unique=True)
    # Not unique: different messages with the same Message-ID exist in the wild.
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    received_via = models.CharField(max_length=10, choices=Via.choices)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    # Processing attempts that started; a message that keeps crashing the worker is
    # marked failed after a few instead of being retried forever.
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # What processing made of it: a new ticket/comment, a bounce, an auto-reply...
    outcome = models.CharField(max_length=20, blank=True)
    ticket = models.ForeignKey(
        "desk.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.ForeignKey(
        "desk.Comment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        indexes = [models.Index(fields=["status", "created_at"], name="mail_inbound_status")]

    def __str__(self) -> str:
        return self.message_id or self.sha256[:12]


class MessageReference(models.Model):
    """A Message-ID Tend received or sent, and the ticket it belongs to (for threading)."""

    ticket = models.ForeignKey(
        "desk.Ticket", on_delete=models.CASCADE, related_name="mail_references"
    )
    message_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message reference")
        verbose_name_plural = _("message references")

    def __str__(self) -> str:
        return self.message_id


class OutboundKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    ACKNOWLEDGEMENT = "ack", _("Acknowledgement")
    NOTIFICATION = "notice", _("Notification")
    SURVEY = "survey", _("Survey")


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Retrying")
    FAILED = "failed", _("Failed")


class OutboundMessage(models.Model):
    """One email Tend sends, queued as a row before any attempt.

    The Message-ID is chosen when the row is made, so a retry after an uncertain
    failure sends the very same message and the recipient's server can drop the copy.
    """

    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbound"
    )
    ticket = models.ForeignKey(
        "desk.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        "desk.Comment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound_messages",
    )
    kind = models.CharField(max_length=10, choices=OutboundKind.choices)
    # Automatic mail (acknowledgements) counts against the per-sender loop limit and
    # carries Auto-Submitted: auto-replied.
    automatic = models.BooleanField(default=False)
    message_id = models.CharField(max_length=255, unique=True)
    from_email = models.CharField(max_length=320)
    # Lower-cased, for the per-recipient limit on automatic mail.
    to_email = models.EmailField(max_length=254, db_index=True)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998)
    body = models.TextField()
    # An HTML alternative (survey mails with one-click score buttons); plain mails leave
    # it empty and go out as text only.
    html_body = models.TextField(blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="mail_outbound_due"),
        ]

    def __str__(self) -> str:
        return f"{self.to_email}: {self.subject}"
