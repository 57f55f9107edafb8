"""KB analytics: views, helpful %, deflections per article, searches that found
nothing, and the "worth writing" list (asked more than once, answered nowhere)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.desk.models import Feature, ProductArea, Ticket
from tend.desk.services import ticket_create
from tend.kb.selectors import kb_analytics, no_result_terms, worth_writing
from tend.kb.services import (
    DEFLECTION_WINDOW,
    article_update,
    article_view_record,
    article_vote,
    deflections_count,
    search_record,
    suggestion_open_record,
)

pytestmark = pytest.mark.django_db


def ticket(subject: str, **kwargs) -> Ticket:  # type: ignore[no-untyped-def]
    return ticket_create(
        actor=None, subject=subject, description="", requester_email="li@acme.test", **kwargs
    )


def test_analytics_per_article_views_helpful_share_and_deflections(publish) -> None:
    refunds, passwords = publish("Refunds"), publish("Passwords")
    for _ in range(3):
        article_view_record(article=refunds, locale="en")
    article_view_record(article=passwords, locale="zh-hans")
    for n, helpful in enumerate([True, True, True, False]):
        article_vote(article=refunds, locale="en", visitor=f"{n:064d}", helpful=helpful)
    suggestion_open_record(article=refunds, locale="en", visitor="v" * 64, query="refund")
    deflections_count(now=timezone.now() + DEFLECTION_WINDOW * 2)

    rows = kb_analytics(days=30)

    assert [(r.title, r.views, r.helpful_pct, r.deflections) for r in rows] == [
        ("Refunds", 3, 75.0, 1),
        ("Passwords", 1, None, 0),
    ]
    assert [r.title for r in kb_analytics(days=30, locale="zh-hans")] == ["Passwords"]


def test_no_result_terms_are_ranked_by_misses(db) -> None:
    for _ in range(3):
        search_record(term="sso", locale="en", source="help", hits=0)
    search_record(term="sso", locale="en", source="support", hits=0)
    search_record(term="发票", locale="zh-hans", source="help", hits=0)
    search_record(term="refund", locale="en", source="help", hits=4)

    terms = no_result_terms(days=30)

    assert [(t.term, t.searches, t.no_results) for t in terms] == [("sso", 4, 4), ("发票", 1, 1)]


def test_similar_subjects_asked_twice_are_worth_writing(db) -> None:
    first = ticket("Cannot export report to CSV")
    second = ticket("CSV export of report is empty")
    ticket("Change my billing address")

    groups = worth_writing(days=30)

    assert [(g.kind, sorted(g.ticket_ids)) for g in groups] == [
        ("subject", sorted([first.pk, second.pk]))
    ]
    assert "csv" in groups[0].terms and "export" in groups[0].terms


def test_chinese_subjects_group_too(db) -> None:
    a = ticket("如何申请退款")
    b = ticket("申请退款一直失败")
    ticket("修改登录密码")

    groups = worth_writing(days=30)

    assert [sorted(g.ticket_ids) for g in groups] == [sorted([a.pk, b.pk])]


def test_a_published_article_answers_the_group(db, publish) -> None:
    ticket("Cannot export report to CSV")
    ticket("CSV export of report is empty")

    publish("Export a report to CSV", "Reports export to CSV from the menu.")

    assert worth_writing(days=30) == []


def test_asked_once_is_not_worth_writing(db) -> None:
    ticket("Cannot export report to CSV")

    assert worth_writing(days=30) == []


def test_same_feature_without_an_article_is_a_group_until_one_covers_it(db, publish, agent) -> None:
    area = ProductArea.objects.create(name="Billing", slug="billing")
    invoices = Feature.objects.create(product_area=area, name="Invoices", slug="invoices")
    a = ticket("Where is my document?", product_area=area, feature=invoices)
    b = ticket("PDF looks odd", product_area=area, feature=invoices)

    groups = worth_writing(days=30)

    assert [(g.kind, g.label, g.ticket_ids) for g in groups] == [
        ("feature", "Billing / Invoices", sorted([a.pk, b.pk]))
    ]
    assert groups[0].feature == invoices and groups[0].product_area == area

    article = publish("Invoices explained", "x")
    article_update(actor=agent, article=article, feature=invoices)

    assert worth_writing(days=30) == []


def test_same_tag_groups_tickets(db) -> None:
    a = ticket("Question one", tags=["gdpr"])
    b = ticket("Something else", tags=["gdpr"])

    groups = worth_writing(days=30)

    assert [(g.kind, g.label, g.ticket_ids) for g in groups] == [
        ("tag", "gdpr", sorted([a.pk, b.pk]))
    ]


def test_old_tickets_do_not_count(db) -> None:
    first = ticket("Cannot export report to CSV")
    ticket("CSV export of report is empty")
    Ticket.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=40))

    assert worth_writing(days=30) == []


def test_each_group_is_checked_against_the_articles_on_its_own(db, publish) -> None:
    ticket("Cannot export report to CSV")
    ticket("CSV export of report is empty")
    sso_a = ticket("Okta login loops")
    sso_b = ticket("Okta login fails")

    publish("Export a report to CSV", "Reports export to CSV from the menu.")

    groups = worth_writing(days=30)

    assert [(g.kind, g.ticket_ids) for g in groups] == [("subject", sorted([sso_a.pk, sso_b.pk]))]


def test_a_tag_on_a_large_share_of_the_tickets_is_not_a_topic(db) -> None:
    # Given 12 recent tickets, 10 of them tagged "vip" (a workflow tag) and two "gdpr"
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    gdpr = [ticket(word, tags=["vip", "gdpr"]) for word in ("india", "juliett")]
    for word in words:
        ticket(word, tags=["vip"])
    ticket("kilo")
    ticket("lima")

    groups = worth_writing(days=30)

    # Then "vip" is left out and "gdpr" stays
    assert [(g.kind, g.label, g.ticket_ids) for g in groups] == [
        ("tag", "gdpr", sorted(t.pk for t in gdpr))
    ]


def test_a_common_tag_on_few_tickets_still_counts(db) -> None:
    # Two of three tickets is a large share, but of a quiet period: still a topic.
    a = ticket("Question one", tags=["gdpr"])
    b = ticket("Something else", tags=["gdpr"])
    ticket("Change my billing address")

    groups = worth_writing(days=30)

    assert [(g.kind, g.label, g.ticket_ids) for g in groups] == [
        ("tag", "gdpr", sorted([a.pk, b.pk]))
    ]
