"""A customer answers an NPS email in a real browser: clicks a score in the mail, sees it
selected, changes their mind, adds a comment and saves (issue 5, point 10)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from conftest import shot
from tend.surveys.models import Response, SurveyKind
from tend.surveys.services import invitation_send
from tend.surveys.tests.helpers import account, contact, invited, survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_answers_an_nps_email_link(
    new_page: Callable[..., Any],
    live_server: Any,
    settings: Any,
    deliver_mail: Callable[[], list[Any]],
) -> None:
    # Given an NPS invitation emailed to a customer
    settings.BASE_URL = live_server.url
    person = contact(account("Acme"), name="Li Wei")
    invitation_send(invitation=invited(survey(SurveyKind.NPS), person))
    [message] = deliver_mail()
    html, _mimetype = message.alternatives[0]
    links = dict(
        (int(score), url.replace("&amp;", "&"))
        for url, score in re.findall(r'<a href="([^"]+\?score=(\d+))"', html)
    )
    assert sorted(links) == list(range(11))

    # When they click "8" in the email, on a phone
    page = new_page(
        viewport={"width": 390, "height": 844},
        locale="en-US",
        timeout_ms=30_000,  # a loaded CI machine
    )
    page.goto(links[8])
    shot(page, "survey-clicked")

    # Then the answer is recorded and shown selected, with room for a comment
    page.wait_for_selector("text=Your answer is saved")
    assert page.is_checked("input[name=score][value='8']")
    assert Response.objects.get().score == 8
    assert "score=" not in page.url

    # When they change their mind to 10 and explain why
    page.click("label.survey-option:has(input[value='10'])")
    page.fill("textarea[name=comment]", "Support solved it in one reply.")
    page.click("button.primary")

    # Then the one answer holds the new score and the comment
    page.wait_for_selector("text=Thank you! Your answer is saved.")
    assert page.is_checked("input[name=score][value='10']")
    shot(page, "survey-saved")
    answer = Response.objects.get()
    assert (answer.score, answer.comment) == (10, "Support solved it in one reply.")
    # the page fits the phone: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_identified_user_answers_inside_the_product(
    new_page: Callable[..., Any], live_server: Any
) -> None:
    # Given the snippet on the customer's product page, for a user Tend knows
    from tend.surveys.models import SurveySettings, Trigger
    from tend.surveys.services import in_app_user_hash

    SurveySettings.objects.update_or_create(pk=1, defaults={"in_app_secret": "product-secret"})
    survey(SurveyKind.NPS, Trigger.IN_APP)
    person = contact(account("Acme"), external_id="u-7")
    user_hash = in_app_user_hash("u-7", "product-secret")
    page = new_page(viewport={"width": 1200, "height": 800}, timeout_ms=30_000)
    # The product's page: another origin than Tend's (127.0.0.1 against localhost; both
    # loopback, as Chromium refuses public pages calling into localhost).
    port = live_server.url.rsplit(":", 1)[1]
    page.goto(f"http://127.0.0.1:{port}/healthz")
    assert page.evaluate("location.origin") != live_server.url

    # When the product's page loads the snippet
    page.set_content(
        "<!DOCTYPE html><html lang='zh-CN'><body><h1>Dashboard</h1>"
        f"<script src='{live_server.url}/s/embed.js' async data-user-id='u-7' "
        f"data-user-hash='{user_hash}'></script></body></html>"
    )

    # Then the question appears in the page's language, and a click answers it
    page.wait_for_selector("[data-tend-survey] >> text=您有多大可能向朋友推荐我们？")
    shot(page, "survey-in-app")
    page.click("[data-tend-survey] .scale button:text-is('9')")
    page.wait_for_selector("[data-tend-survey] textarea")
    page.fill("[data-tend-survey] textarea", "很好用")
    page.click("[data-tend-survey] .send")
    page.wait_for_selector("[data-tend-survey] >> text=感谢您的回答！")
    answer = Response.objects.get()
    assert (answer.score, answer.comment, answer.contact) == (9, "很好用", person)
