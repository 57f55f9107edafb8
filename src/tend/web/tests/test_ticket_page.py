"""The ticket page as an agent uses it: read the conversation, reply, note, use macros,
and never send a duplicate answer because a teammate answered first."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tend.core.models import User
from tend.crm.models import Account, AccountDomain
from tend.desk import services
from tend.desk.models import Attachment, Comment, Macro, Status, Tag, Ticket

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ticket(agent, team) -> Ticket:  # type: ignore[no-untyped-def]
    account = Account.objects.create(name="Acme Ltd")
    AccountDomain.objects.create(account=account, domain="acme.test")
    return services.ticket_create(
        actor=agent,
        subject="Cannot export invoices",
        description="The export button does nothing.",
        requester_email="li.wei@acme.test",
        requester_name="Li Wei",
        team=team,
    )


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def page_url(ticket: Ticket) -> str:
    return reverse("web:ticket", args=[ticket.number])


def comment_url(ticket: Ticket) -> str:
    return reverse("web:ticket_comment", args=[ticket.number])


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def send(client: Client, ticket: Ticket, body: str, *, version: int | None = None, **extra: object):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "body": body,
        "mode": "public",
        "action": "send",
        "expected_version": version if version is not None else fresh(ticket).version,
    }
    data.update(extra)
    return client.post(comment_url(ticket), data)


# ---------------------------------------------------------------- reading


def test_conversation_shows_public_replies_and_internal_notes_differently(client, agent, ticket):
    # Given a ticket with a customer message and an internal note
    services.comment_add_customer(
        ticket=ticket, contact=ticket.requester, body="Still broken today."
    )
    services.comment_add_agent(
        actor=agent,
        ticket=fresh(ticket),
        body="Checked the logs, export job crashed.",
        public=False,
    )

    # When the agent opens it
    html = login(client, agent).get(page_url(ticket)).content.decode()

    # Then the customer message is styled public and the note as a labelled note
    assert 'class="comment public customer"' in html
    assert 'class="comment note"' in html
    assert "Internal note" in html
    assert "Checked the logs, export job crashed." in html
    # and the system timeline is interleaved
    assert 'class="event kind-created"' in html
    # and the sidebar links the requester and the account
    assert reverse("web:contact", args=[ticket.requester_id]) in html
    assert reverse("web:account", args=[ticket.account_id]) in html


def test_html_bodies_are_shown_sanitised_and_text_bodies_keep_line_breaks(client, agent, ticket):
    contact = ticket.requester
    services.comment_add_customer(
        ticket=ticket,
        contact=contact,
        body="fallback",
        body_html="<p>Hi <b>there</b><script>alert(1)</script></p>",
    )
    services.comment_add_agent(actor=agent, ticket=fresh(ticket), body="line one\nline two")

    html = login(client, agent).get(page_url(ticket)).content.decode()

    assert "<b>there</b>" in html
    assert "alert(1)" not in html
    assert "line one<br>line two" in html


def test_outsider_gets_404_for_another_teams_ticket(client, outsider, ticket):
    login(client, outsider)
    assert client.get(page_url(ticket)).status_code == 404
    assert send(client, ticket, "hi", version=1).status_code == 404


def test_readonly_user_sees_the_page_without_controls_and_cannot_write(
    client, readonly, team, ticket
):
    # Given a read-only member of the ticket's team
    team.members.add(readonly)
    login(client, readonly)

    page = client.get(page_url(ticket))
    assert page.status_code == 200
    assert 'id="composer-form"' not in page.content.decode()
    assert 'id="ticket-fields"' not in page.content.decode()

    response = send(client, ticket, "I should not be able to say this")
    assert response.status_code == 403
    assert not Comment.objects.filter(body__contains="should not").exists()
    fields = client.post(
        reverse("web:ticket_fields", args=[ticket.number]),
        {"priority": "urgent", "expected_version": fresh(ticket).version},
    )
    assert fields.status_code == 403
    assert fresh(ticket).priority == "normal"


def test_page_queries_do_not_grow_with_the_conversation(
    client, agent, ticket, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, agent)
    with CaptureQueriesContext(connection) as small:
        client.get(page_url(ticket))
    # More comments with attachments, events and other tickets of the same requester
    for i in range(5):
        services.comment_add_agent(
            actor=agent,
            ticket=fresh(ticket),
            body=f"reply {i}",
            public=i % 2 == 0,
            attachments=[SimpleUploadedFile(f"n{i}.txt", b"hello", content_type="text/plain")],
        )
        services.ticket_update(actor=agent, ticket=fresh(ticket), priority=["low", "high"][i % 2])
        services.ticket_create(
            actor=agent, subject=f"other {i}", description="x", requester_email="li.wei@acme.test"
        )
    with CaptureQueriesContext(connection) as big:
        response = client.get(page_url(ticket))
    assert response.content.decode().count('class="comment ') == 6
    assert len(big) <= len(small) + 2  # a prefetch or two may kick in, never one per row


# ---------------------------------------------------------------- writing


def test_reply_posts_a_public_comment(client, agent, ticket):
    response = send(login(client, agent), ticket, "Please try again now.")

    assert response.status_code == 302
    comment = Comment.objects.get(body="Please try again now.")
    assert comment.public is True
    assert comment.author_user == agent
    assert fresh(ticket).status == Status.OPEN


def test_note_posts_an_internal_comment(client, agent, ticket):
    send(login(client, agent), ticket, "Customer is on the legacy plan.", mode="note")

    comment = Comment.objects.get(body="Customer is on the legacy plan.")
    assert comment.public is False


def test_submit_as_pending_sets_the_status(client, agent, ticket):
    send(login(client, agent), ticket, "Could you send a screenshot?", status="pending")

    assert fresh(ticket).status == Status.PENDING


def test_htmx_reply_returns_the_refreshed_page_body(client, agent, ticket):
    login(client, agent)
    response = client.post(
        comment_url(ticket),
        {
            "body": "Via htmx",
            "mode": "public",
            "action": "send",
            "expected_version": ticket.version,
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="ticket-main"' in html
    assert "Via htmx" in html
    # The fresh composer carries the new version, so the next send is not a "collision"
    assert f'id="composer-version" value="{fresh(ticket).version}"' in html


def test_empty_reply_is_refused_with_a_message(client, agent, ticket):
    response = send(login(client, agent), ticket, "   ")

    assert response.status_code == 400
    assert "Write a message before sending." in response.content.decode()
    assert Comment.objects.filter(ticket=ticket).count() == 1


def test_attachment_is_saved_and_downloadable_only_by_those_who_see_the_ticket(
    client, agent, outsider, ticket
):
    login(client, agent)
    upload = SimpleUploadedFile("notes.txt", b"export log", content_type="text/plain")
    send(client, ticket, "Log attached.", attachments=[upload])
    attachment = Attachment.objects.get(filename="notes.txt")
    url = reverse("web:attachment_download", args=[ticket.number, attachment.pk])
    assert url in client.get(page_url(ticket)).content.decode()

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"export log"

    login(client, outsider)
    assert client.get(url).status_code == 404


def test_too_large_attachment_is_refused_clearly_and_nothing_is_saved(
    client, agent, ticket, settings
):
    settings.MAX_ATTACHMENT_BYTES = 10
    login(client, agent)
    upload = SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")

    response = send(client, ticket, "Here is the big file.", attachments=[upload])

    assert response.status_code == 400
    html = response.content.decode()
    assert "big.txt" in html and "at most" in html
    assert "Here is the big file." in html  # the draft is kept
    assert not Comment.objects.filter(body="Here is the big file.").exists()
    assert not Attachment.objects.exists()


def test_too_large_attachment_via_htmx_answers_into_the_alert_box(client, agent, ticket, settings):
    settings.MAX_ATTACHMENT_BYTES = 10
    login(client, agent)
    upload = SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")
    response = client.post(
        comment_url(ticket),
        {
            "body": "big",
            "mode": "public",
            "action": "send",
            "expected_version": ticket.version,
            "attachments": [upload],
        },
        **HTMX,
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#composer-alerts"
    assert "at most" in response.content.decode()


# ---------------------------------------------------------------- collision guard


def test_collision_warns_lists_the_teammates_reply_and_sends_nothing(
    client, agent, teammate, ticket
):
    # Given the agent opened the page at version v
    login(client, agent)
    page = client.get(page_url(ticket)).content.decode()
    seen = fresh(ticket).version
    assert f'id="composer-version" value="{seen}"' in page
    # and meanwhile a teammate answered the customer
    services.comment_add_agent(actor=teammate, ticket=fresh(ticket), body="Fixed it, please retry.")

    # When the agent sends their own answer written against version v
    response = send(client, ticket, "Try clearing your cache.", version=seen)

    # Then nothing is sent and the warning says who replied what
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed while you were writing" in html
    assert "Bob" in html and "Fixed it, please retry." in html
    assert "Send anyway" in html
    assert "Try clearing your cache." in html  # draft preserved
    assert not Comment.objects.filter(body="Try clearing your cache.").exists()

    # When the agent confirms with "Send anyway"
    response = send(
        client,
        ticket,
        "Try clearing your cache.",
        version=seen,
        confirm_version=fresh(ticket).version,
        confirm_action="send",
    )

    # Then it is sent
    assert response.status_code == 302
    assert Comment.objects.filter(body="Try clearing your cache.").count() == 1


def test_collision_via_htmx_only_replaces_the_alert_box(client, agent, teammate, ticket):
    login(client, agent)
    seen = fresh(ticket).version
    services.comment_add_agent(
        actor=teammate, ticket=fresh(ticket), body="Teammate note", public=False
    )

    response = client.post(
        comment_url(ticket),
        {"body": "mine", "mode": "public", "action": "send", "expected_version": seen},
        **HTMX,
    )

    assert response.status_code == 409
    assert response["HX-Retarget"] == "#composer-alerts"
    html = response.content.decode()
    assert "added an internal note" in html and "Teammate note" in html
    assert f'name="confirm_version" value="{fresh(ticket).version}"' in html
    assert not Comment.objects.filter(body="mine").exists()


def test_activity_poll_says_who_replied_meanwhile_but_not_my_own_changes(
    client, agent, teammate, ticket
):
    login(client, agent)
    seen = fresh(ticket).version
    url = reverse("web:ticket_activity", args=[ticket.number])
    services.comment_add_agent(actor=agent, ticket=fresh(ticket), body="my own", public=False)
    assert "While you were here" not in client.get(url, {"expected_version": seen}).content.decode()

    services.comment_add_agent(actor=teammate, ticket=fresh(ticket), body="from bob")
    html = client.get(url, {"expected_version": seen}).content.decode()
    assert "While you were here" in html and "Bob" in html


def test_field_edit_saves_and_refuses_on_a_stale_version(client, agent, teammate, ticket):
    login(client, agent)
    url = reverse("web:ticket_fields", args=[ticket.number])
    seen = fresh(ticket).version

    response = client.post(
        url, {"priority": "high", "tags": "export, Billing", "expected_version": seen}
    )
    assert response.status_code == 302
    t = fresh(ticket)
    assert t.priority == "high"
    assert sorted(t.tags.values_list("name", flat=True)) == ["billing", "export"]

    services.comment_add_agent(actor=teammate, ticket=fresh(ticket), body="bob was here")
    stale = client.post(url, {"priority": "urgent", "expected_version": t.version}, **HTMX)
    assert stale.status_code == 409
    assert stale["HX-Retarget"] == "#header-alerts"
    assert "bob was here" in stale.content.decode()
    assert fresh(ticket).priority == "high"


def test_field_edit_via_htmx_keeps_the_composer_in_step(client, agent, ticket):
    login(client, agent)
    response = client.post(
        reverse("web:ticket_fields", args=[ticket.number]),
        {"priority": "urgent", "expected_version": ticket.version},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="ticket-header"' in html
    # the composer's version moves with the agent's own change (out-of-band swap)
    assert f'id="composer-version" value="{fresh(ticket).version}" hx-swap-oob="true"' in html
    assert 'id="conversation" class="conversation"' in html


# ---------------------------------------------------------------- macros


@pytest.fixture
def macro(agent) -> Macro:  # type: ignore[no-untyped-def]
    Tag.objects.create(name="triage")
    return services.macro_create(
        actor=agent,
        name="Need logs",
        body="Hi {{ requester.first_name }}, about #{{ ticket.number }}: please send logs. — {{ agent.name }}",
        actions={"status": "pending", "priority": "high", "add_tags": ["needs_logs"]},
        shared=False,
    )


def test_macro_preview_shows_rendered_text_and_the_changes_it_will_make(
    client, agent, ticket, macro
):
    login(client, agent)
    response = client.get(
        reverse("web:ticket_macro_preview", args=[ticket.number]), {"macro_id": macro.pk}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Hi Li, about #{ticket.number}: please send logs. — Alice" in html
    assert "Priority" in html and "Normal" in html and "High" in html
    assert "needs_logs" in html
    assert 'id="composer-body"' in html and 'hx-swap-oob="true"' in html
    # Nothing changed yet
    assert fresh(ticket).priority == "normal"
    assert Macro.objects.get(pk=macro.pk).usage_count == 0


def test_macro_text_goes_after_the_draft_and_a_new_pick_replaces_the_old_one(
    client, agent, ticket, macro
):
    other = services.macro_create(
        actor=agent, name="Thanks", body="Thanks for waiting!", actions={}, shared=False
    )
    url = reverse("web:ticket_macro_preview", args=[ticket.number])
    login(client, agent)

    first = client.get(url, {"macro_id": macro.pk, "body": "My own words."}).content.decode()
    assert "My own words.\n\nHi Li" in first

    # The browser sends the box back with CRLF line ends and what the macro inserted
    inserted = f"Hi Li, about #{ticket.number}: please send logs. — Alice"
    typed = f"My own words.\r\n\r\n{inserted}"
    second = client.get(
        url, {"macro_id": other.pk, "body": typed, "macro_inserted": inserted}
    ).content.decode()
    assert "My own words.\n\nThanks for waiting!</textarea>" in second
    assert "please send logs" not in second

    # Choosing "no macro" takes the macro's text out again
    none = client.get(
        url,
        {
            "macro_id": "",
            "body": "My own words.\n\nThanks for waiting!",
            "macro_inserted": "Thanks for waiting!",
        },
    ).content.decode()
    assert ">My own words.</textarea>" in none


def test_sending_with_a_macro_applies_its_actions_and_counts_the_use(client, agent, ticket, macro):
    send(login(client, agent), ticket, "Hi Li, please send logs.", macro_id=macro.pk)

    t = fresh(ticket)
    assert t.status == Status.PENDING
    assert t.priority == "high"
    assert "needs_logs" in t.tags.values_list("name", flat=True)
    assert Macro.objects.get(pk=macro.pk).usage_count == 1
    assert Comment.objects.filter(body="Hi Li, please send logs.").exists()


def test_someone_elses_personal_macro_cannot_be_used(client, teammate, ticket, macro):
    login(client, teammate)
    preview = client.get(
        reverse("web:ticket_macro_preview", args=[ticket.number]), {"macro_id": macro.pk}
    )
    assert preview.status_code == 404
    response = send(client, ticket, "hello", macro_id=macro.pk)
    assert response.status_code == 400
    assert Macro.objects.get(pk=macro.pk).usage_count == 0


def test_macros_page_lists_creates_and_edits(client, agent, manager, macro):
    login(client, agent)
    assert "Need logs" in client.get(reverse("web:macros")).content.decode()
    # An agent cannot share: the option is absent and a forged field is ignored
    form = client.get(reverse("web:macro_new")).content.decode()
    assert 'name="shared"' not in form
    response = client.post(
        reverse("web:macro_new"),
        {
            "name": "Thanks",
            "body": "Thank you!",
            "public": "1",
            "status": "",
            "priority": "",
            "shared": "on",
        },
    )
    assert response.status_code == 302
    assert Macro.objects.get(name="Thanks").owner == agent

    response = client.post(
        reverse("web:macro_edit", args=[macro.pk]),
        {
            "name": "Need logs v2",
            "body": "Send logs",
            "public": "0",
            "status": "on_hold",
            "priority": "",
        },
    )
    assert response.status_code == 302
    macro.refresh_from_db()
    assert macro.name == "Need logs v2"
    assert macro.actions == {"public": False, "status": "on_hold"}

    login(client, manager)
    response = client.post(
        reverse("web:macro_new"),
        {"name": "Shared hello", "body": "Hello", "public": "1", "shared": "on"},
    )
    assert response.status_code == 302
    assert Macro.objects.get(name="Shared hello").owner is None
    # the manager cannot edit the agent's personal macro (it is not even listed to them)
    assert client.get(reverse("web:macro_edit", args=[macro.pk])).status_code == 404


# ---------------------------------------------------------------- solving


def test_ask_customer_to_confirm_sets_pending_and_can_carry_a_reply(client, agent, ticket):
    login(client, agent)
    response = send(client, ticket, "This is fixed in 4.2.", action="confirm")

    assert response.status_code == 302
    t = fresh(ticket)
    assert t.status == Status.PENDING
    assert t.confirmation_requested_at is not None
    assert Comment.objects.filter(body="This is fixed in 4.2.", public=True).exists()


def test_ask_customer_to_confirm_without_a_message(client, agent, ticket):
    response = send(login(client, agent), ticket, "", action="confirm")

    assert response.status_code == 302
    assert fresh(ticket).status == Status.PENDING


def test_solve_without_a_reason_is_refused_with_a_message(client, agent, ticket):
    response = send(
        login(client, agent), ticket, "Closing this.", action="solve", solve_reason="  "
    )

    assert response.status_code == 400
    assert "without the customer" in response.content.decode()
    assert fresh(ticket).status != Status.SOLVED
    # the reply that came with it was not sent on its own either
    assert not Comment.objects.filter(body="Closing this.").exists()


def test_solve_with_a_reason_solves(client, agent, ticket):
    send(login(client, agent), ticket, "", action="solve", solve_reason="Confirmed on the phone")

    t = fresh(ticket)
    assert t.status == Status.SOLVED
    assert t.unconfirmed_solve_reason == "Confirmed on the phone"


def test_closed_ticket_is_read_only_and_explains_follow_ups(client, agent, ticket):
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    login(client, agent)

    html = client.get(page_url(ticket)).content.decode()
    assert 'id="composer-form"' not in html
    assert "follow-up ticket" in html

    response = send(client, ticket, "too late")
    assert response.status_code == 409
    assert not Comment.objects.filter(body="too late").exists()


# ---------------------------------------------------------------- new ticket


def test_agent_logs_a_phone_call_as_a_new_ticket(client, agent, team):
    login(client, agent)
    assert client.get(reverse("web:ticket_new")).status_code == 200

    response = client.post(
        reverse("web:ticket_new"),
        {
            "requester_email": "caller@example.test",
            "requester_name": "Cal Ler",
            "subject": "Phone: billing question",
            "description": "Caller asked about the March invoice.",
            "channel": "phone",
            "priority": "normal",
            "type": "question",
            "team": team.pk,
            "tags": "billing",
        },
    )

    ticket = Ticket.objects.get(subject="Phone: billing question")
    assert response.status_code == 302
    assert response["Location"] == page_url(ticket)
    assert ticket.channel == "phone"
    assert ticket.requester.email == "caller@example.test"
    assert list(ticket.tags.values_list("name", flat=True)) == ["billing"]


def test_readonly_cannot_open_the_new_ticket_page(client, readonly):
    assert login(client, readonly).get(reverse("web:ticket_new")).status_code == 403


def test_anonymous_visitor_is_sent_to_login(client, ticket):
    response = Client().get(page_url(ticket))
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]
    assert not mail.outbox
