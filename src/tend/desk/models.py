"""The support desk: tickets, their conversation and timeline, teams, macros, SLAs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import BusinessCalendar, TimeStampedModel
from tend.crm.models import Account, Contact


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On-hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


# The SLA clock does not run while we wait on the customer or a third party.
PAUSED_STATUSES = frozenset({Status.PENDING, Status.ON_HOLD})
UNRESOLVED_STATUSES = frozenset({Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD})


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class TicketType(models.TextChoices):
    QUESTION = "question", _("Question")
    INCIDENT = "incident", _("Incident")
    PROBLEM = "problem", _("Problem")
    TASK = "task", _("Task")
    FEATURE_REQUEST = "feature_request", _("Feature request")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social")
    PHONE = "phone", _("Phone")
    API = "api", _("API")


class AssignmentMethod(models.TextChoices):
    MANUAL = "manual", _("Manual")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_OPEN = "least_open", _("Least open tickets")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )
    assignment = models.CharField(
        _("assignment"),
        max_length=20,
        choices=AssignmentMethod.choices,
        default=AssignmentMethod.MANUAL,
    )
    # Round-robin remembers who got the last ticket so the next goes to the one after.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProductArea(models.Model):
    """Controlled tag family: the part of the product a ticket is about."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("product area")
        verbose_name_plural = _("product areas")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Feature(models.Model):
    """Controlled tag family: a feature inside a product area."""

    product_area = models.ForeignKey(
        ProductArea,
        verbose_name=_("product area"),
        on_delete=models.CASCADE,
        related_name="features",
    )
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100)

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        ordering = ["product_area__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["product_area", "slug"], name="feature_unique_slug")
        ]

    def __str__(self) -> str:
        return f"{self.product_area.name} / {self.name}"


class SLAPolicy(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    calendar = models.ForeignKey(
        BusinessCalendar, verbose_name=_("business calendar"), on_delete=models.PROTECT
    )
    is_default = models.BooleanField(_("default policy"), default=False)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="slapolicy_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SLATarget(models.Model):
    """Targets for one priority, in business minutes of the policy's calendar."""

    policy = models.ForeignKey(SLAPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (business minutes)"))

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="slatarget_unique_priority")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.priority}"


class Ticket(TimeStampedModel):
    number = models.PositiveIntegerField(_("number"), unique=True)
    subject = models.CharField(_("subject"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    type = models.CharField(
        _("type"), max_length=20, choices=TicketType.choices, default=TicketType.QUESTION
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB
    )
    requester = models.ForeignKey(
        Contact, verbose_name=_("requester"), on_delete=models.PROTECT, related_name="tickets"
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="tickets")
    product_area = models.ForeignKey(
        ProductArea,
        verbose_name=_("product area"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    feature = models.ForeignKey(
        Feature, verbose_name=_("feature"), null=True, blank=True, on_delete=models.SET_NULL
    )
    follow_up_of = models.ForeignKey(
        "self",
        verbose_name=_("follow-up of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
    )
    # Bumped by every change; the composer sends the version it saw so a reply made
    # on a stale view can be stopped and shown what changed (collision guard).
    version = models.PositiveIntegerField(default=1)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, db_index=True)

    # Solving: confirmed by the customer, or solved with a stated reason.
    confirmation_requested_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True, db_index=True)
    solve_confirmed_at = models.DateTimeField(null=True, blank=True)
    unconfirmed_solve_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    # SLA: due times are stored so queues can sort and filter on them.
    sla_policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(
        _("first response due"), null=True, blank=True, db_index=True
    )
    resolution_due_at = models.DateTimeField(
        _("resolution due"), null=True, blank=True, db_index=True
    )
    # Business seconds the resolution clock has run before the current running stretch.
    sla_elapsed_seconds = models.PositiveIntegerField(default=0)
    sla_clock_started_at = models.DateTimeField(null=True, blank=True)
    first_response_breached = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-number"]
        permissions = [("view_all_tickets", "Can see tickets of every team")]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="ticket_status_recent"),
            # Newest-first lists, and the "anything changed?" probe of cached counts.
            models.Index(fields=["-updated_at", "-number"], name="ticket_recent"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["team", "status"], name="ticket_team_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    @property
    def sla_breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached


class Comment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    public = models.BooleanField(_("public"), default=True)
    body = models.TextField(_("body"))
    # Sanitised HTML for display when the comment came in as HTML (email, API).
    body_html = models.TextField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    # The ticket version this comment produced (see Ticket.version).
    ticket_version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.author_name}: {self.body[:40]}"

    @property
    def author_name(self) -> str:
        if self.author_user is not None:
            return str(self.author_user.display_name)
        if self.author_contact is not None:
            return self.author_contact.display_name
        return str(_("System"))

    @property
    def is_from_customer(self) -> bool:
        return self.author_contact_id is not None and self.author_user_id is None


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    # An email part's Content-ID (without <>), so HTML bodies can show inline images
    # that refer to it as "cid:...".
    content_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    STATUS = "status", _("Status changed")
    PRIORITY = "priority", _("Priority changed")
    TYPE = "type", _("Type changed")
    ASSIGNEE = "assignee", _("Assignee changed")
    TEAM = "team", _("Team changed")
    TAGS = "tags", _("Tags changed")
    PRODUCT_AREA = "product_area", _("Product area changed")
    FEATURE = "feature", _("Feature changed")
    SUBJECT = "subject", _("Subject changed")
    CONFIRMATION_REQUESTED = "confirmation_requested", _("Customer asked to confirm")
    CONFIRMED = "confirmed", _("Customer confirmed the solution")
    SOLVED_UNCONFIRMED = "solved_unconfirmed", _("Solved without confirmation")
    REOPENED = "reopened", _("Reopened by customer reply")
    FOLLOW_UP = "follow_up", _("Follow-up created")
    MACRO = "macro", _("Macro applied")
    SLA_BREACH = "sla_breach", _("SLA breached")
    FLAGGED = "flagged", _("Flagged for review")
    BOUNCED = "bounced", _("Email bounced")


class TicketEvent(models.Model):
    """One line of a ticket's system timeline: what changed, who did it, when."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    old_value = models.CharField(max_length=300, blank=True)
    new_value = models.CharField(max_length=300, blank=True)
    # The ticket version this change produced; the collision guard lists events
    # newer than the version an agent saw.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.old_value} → {self.new_value}"


class Macro(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100)
    body = models.TextField(
        _("reply"),
        blank=True,
        help_text=_(
            "Placeholders: {{ requester.name }}, {{ requester.first_name }}, "
            "{{ ticket.number }}, {{ ticket.subject }}, {{ agent.name }}, {{ account.name }}"
        ),
    )
    # {"status": "pending", "priority": "high", "assignee": <user id>, "team": <team id>,
    #  "add_tags": ["billing"], "remove_tags": ["triage"], "public": true}
    actions: models.JSONField[dict[str, Any]] = models.JSONField(
        _("actions"), default=dict, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="macros",
        help_text=_("Empty for a shared macro; set for a personal one."),
    )
    usage_count = models.PositiveIntegerField(_("times used"), default=0)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["name"]
        permissions = [("manage_shared_macros", "Can create and edit shared macros")]

    def __str__(self) -> str:
        return self.name


class SavedView(models.Model):
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="saved_views",
        help_text=_("Empty for a view shared with everyone."),
    )
    # {"status": [...], "priority": [...], "tags": [...], "product_area": [...],
    #  "assignee": [...], "team": [...], "account": [...]}
    filters: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    sort = models.CharField(max_length=40, default="-updated_at")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["position", "name"]
        permissions = [("manage_shared_views", "Can create and edit shared views")]

    def __str__(self) -> str:
        return self.name
