"""The import in a real browser: upload, preview, confirm, and the progress bar that
htmx polls until the result shows; deleting a subscription from its edit page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import shot
from tend.core.models import AuditEntry
from tend.crm.csv_import import import_apply
from tend.crm.models import Account, Subscription
from tend.crm.services import account_create, subscription_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_shows_preview_then_progress_until_done(
    signed_in: Callable[..., Any], manager: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text("name,segment,lifecycle\nAcme,SMB,mature\n,SMB,\nBeta,SMB,nonsense\n")
    page = signed_in(manager)

    page.goto("/accounts/")
    page.click("text=Import CSV")
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("button:has-text('Upload and preview')")

    page.wait_for_selector("table.import-errors")
    assert page.inner_text("[data-count=new]") == "1"
    assert page.inner_text("[data-count=invalid]") == "2"
    shot(page, "crm-import-preview")
    page.click("button:has-text('Import 1 row')")

    page.wait_for_selector("#import-progress progress")
    token = page.url.rstrip("/").split("/")[-2]
    # The worker's part, run here; the page learns of it by polling.
    import_apply(token=token)
    page.wait_for_selector("text=The import is done.")
    shot(page, "crm-import-done")
    assert page.inner_text("[data-count=created]") == "1"
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme"]


def test_account_list_sorts_from_its_headers(signed_in: Callable[..., Any], manager: Any) -> None:
    import datetime as dt

    from tend.crm.services import account_create, subscription_create

    for name, mrr in (("Acme", 500), ("Zulu", 90_000), ("Mid", 5_000)):
        account = account_create(actor=None, name=name, segment="SMB", owner=manager)
        subscription_create(
            actor=None,
            account=account,
            plan="Pro",
            starts_on=dt.date(2026, 1, 1),
            renews_on=dt.date(2027, 1, 1),
            mrr_minor=mrr,
            currency="CNY",
        )
    page = signed_in(manager)

    page.goto("/accounts/")
    page.click("thead >> text=MRR")
    page.click("thead >> text=MRR")  # the second click sorts the other way

    names = page.locator("table.accounts tbody tr td:first-child a").all_inner_texts()
    assert names == ["Zulu", "Mid", "Acme"]
    assert page.get_attribute("th[aria-sort]", "aria-sort") == "descending"
    shot(page, "crm-accounts")


def test_a_manager_deletes_a_subscription_in_the_browser(
    signed_in: Callable[..., Any], manager: Any
) -> None:
    acme = account_create(actor=None, name="Acme")
    subscription_create(
        actor=None,
        account=acme,
        plan="Twice",
        starts_on=dt.date(2026, 1, 1),
        mrr_minor=19950,
        currency="CNY",
    )
    page = signed_in(manager)

    page.goto(f"/accounts/{acme.pk}/edit/")
    assert "¥199.50" in page.content()
    page.click("tr:has-text('Twice') >> text=Edit")
    assert page.input_value("input[name=mrr]") == "199.50"
    shot(page, "crm-subscription-edit")
    page.click("text=Delete subscription…")
    page.fill("input[name=reason]", "entered twice")
    shot(page, "crm-subscription-delete-confirm")
    page.click("button:has-text('Delete subscription')")

    page.wait_for_url(f"**/accounts/{acme.pk}/edit/")
    assert page.locator("text=Subscription Twice deleted.").count() == 1
    shot(page, "crm-subscription-deleted")
    assert not Subscription.objects.filter(account=acme).exists()
    assert AuditEntry.objects.get(action="crm.subscription_delete").reason == "entered twice"
