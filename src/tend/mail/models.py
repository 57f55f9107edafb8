from django.db import models
from django.utils.translation import gettext_lazy as _


class Via(models.TextChoices):
    IMAP = "imap", _("IMAP")
    SMTP = "smtp", _("SMTP")
    HTTP = "http", _("HTTP")


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")


class InboundMessage(models.Model):
    """One raw message as it arrived; stored before any parsing so nothing is lost."""

    # A file, not a BinaryField: messages with attachments are large and would bloat the DB.
    raw = models.FileField(upload_to="mail/raw/%Y/%m/")
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, unique=True)
    # Not unique: different messages with the same Message-ID exist in the wild.
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    received_via = models.CharField(max_length=10, choices=Via.choices)
    status = models.CharField(
        max_length=10, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    error = models.TextField(blank=True)
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
