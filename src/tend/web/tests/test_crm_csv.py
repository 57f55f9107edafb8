"""CSV import (upload → preview → background apply with progress → result) and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import make_staff
from tend.core.models import AuditEntry, User
from tend.core.roles import Role
from tend.crm.models import Account, Contact, Lifecycle
from tend.crm.services import account_create, contact_create
from tend.mail.tests.jobs import Jobs, recorded_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    # Uploaded files wait in the default storage between preview and apply.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def csm(db: None) -> User:
    return make_staff("casey", Role.CSM, first_name="Casey")


@pytest.fixture
def jobs() -> Iterator[Jobs]:
    with recorded_jobs() as recorded:
        yield recorded


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client: Client, kind: str, text: str, encoding: str = "utf-8") -> Any:
    upload = SimpleUploadedFile("people.csv", text.encode(encoding), content_type="text/csv")
    return client.post(reverse("web:crm_import_upload", args=[kind]), {"file": upload})


def _token(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return str(response["Location"].rstrip("/").rsplit("/", 1)[-1])


def _confirm_and_run(client: Client, token: str, jobs: Jobs, capture: Any) -> dict[str, Any]:
    with capture(execute=True):
        response = client.post(reverse("web:crm_import", args=[token]))
    assert response["Location"] == reverse("web:crm_import_status", args=[token])
    jobs.run()
    return dict(client.get(response["Location"]).context["state"])


CONTACTS_CSV = (
    "email,name,roles,account,evangelist_stage,phones\n"
    "li@acme.cn,Li Wei,champion;user,Acme,evangelist,+86 138 0000 0000\n"
    "not-an-email,Broken,,Acme,,\n"
    "wang@acme.cn,Wang,,Nowhere Inc,,\n"
    "zhang@acme.cn,Zhang Updated,decision maker,,,\n"
    "li@acme.cn,Li Wei,,,,\n"
)


def test_preview_counts_rows_and_lists_errors_by_row_number(
    csm: User, django_capture_on_commit_callbacks: Any
) -> None:
    account_create(actor=None, name="Acme", domains=["acme.cn"])
    contact_create(actor=None, email="zhang@acme.cn", name="Zhang")
    client = _client(csm)

    token = _token(_upload(client, "contacts", CONTACTS_CSV))
    response = client.get(reverse("web:crm_import", args=[token]))

    preview = response.context["preview"]
    # The file's second row about li@ updates the contact its first row creates.
    assert (preview.total, preview.new, preview.updated, preview.invalid_count) == (5, 1, 2, 2)
    errors = {plan.number: plan.errors for plan in preview.invalid}
    assert set(errors) == {3, 4}
    assert "not-an-email" in errors[3][0]
    assert "Nowhere Inc" in errors[4][0]
    html = response.content.decode()
    assert "Nowhere Inc" in html and "Li Wei" in html
    # Nothing is written before the confirmation.
    assert not Contact.objects.filter(email="li@acme.cn").exists()


def test_confirmed_import_applies_good_rows_and_reports_bad_ones(
    csm: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    acme = account_create(actor=None, name="Acme", domains=["acme.cn"])
    contact_create(actor=None, email="zhang@acme.cn", name="Zhang")
    client = _client(csm)
    token = _token(_upload(client, "contacts", CONTACTS_CSV))

    state = _confirm_and_run(client, token, jobs, django_capture_on_commit_callbacks)

    assert state["status"] == "done"
    assert (state["done"], state["total"]) == (5, 5)
    assert (state["created"], state["updated"], state["failed"]) == (1, 2, 2)
    assert [f["row"] for f in state["failures"]] == [3, 4]
    li = Contact.objects.get(email="li@acme.cn")
    assert (li.name, li.account, li.roles, li.evangelist_stage) == (
        "Li Wei",
        acme,
        ["user", "champion"],
        "evangelist",
    )
    assert li.phones == ["+86 138 0000 0000"]
    zhang = Contact.objects.get(email="zhang@acme.cn")
    assert (zhang.name, zhang.roles) == ("Zhang Updated", ["decision_maker"])


def test_status_page_shows_progress_and_polls_until_done(
    csm: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(csm)
    token = _token(_upload(client, "accounts", "name,segment\nAcme,SMB\nBeta,SMB\n"))
    status_url = reverse("web:crm_import_status", args=[token])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:crm_import", args=[token]))

    waiting = client.get(status_url, headers={"hx-request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in waiting
    assert "0 of 2 rows" in waiting

    jobs.run()
    done = client.get(status_url, headers={"hx-request": "true"}).content.decode()
    assert "hx-trigger" not in done
    assert "2 of 2 rows" in done
    assert set(Account.objects.values_list("name", flat=True)) == {"Acme", "Beta"}


def test_a_second_confirm_does_not_import_twice(
    csm: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(csm)
    token = _token(_upload(client, "accounts", "name\nAcme\n"))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:crm_import", args=[token]))
        client.post(reverse("web:crm_import", args=[token]))
    jobs.run()

    assert Account.objects.filter(name="Acme").count() == 1


def test_accounts_upsert_by_external_id_then_name_with_parent_and_csm(
    csm: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    old = account_create(actor=None, name="Old Name", external_id="a-1")
    named = account_create(actor=None, name="Beta")
    client = _client(csm)
    text = (
        "External ID,Name,Domains,Parent,CSM,Lifecycle stage,Tier\n"
        "a-1,New Name,new.cn; new.com,,casey,mature,\n"
        ",Beta,,a-1,casey@tend.test,at risk,Gold\n"
        "c-1,Child,,Beta,,Onboarding,\n"
        "c-2,Orphan,,Missing Parent,,,\n"
    )
    token = _token(_upload(client, "accounts", text))

    state = _confirm_and_run(client, token, jobs, django_capture_on_commit_callbacks)

    assert (state["created"], state["updated"], state["failed"]) == (1, 2, 1)
    old.refresh_from_db()
    named.refresh_from_db()
    assert (old.name, old.lifecycle, old.owner) == ("New Name", "mature", csm)
    assert sorted(old.domains.values_list("domain", flat=True)) == ["new.cn", "new.com"]
    assert (named.parent, named.lifecycle, named.tier, named.owner) == (old, "at_risk", "Gold", csm)
    assert Account.objects.get(external_id="c-1").parent == named
    assert state["failures"][0]["row"] == 5


def test_gb18030_file_from_chinese_excel_imports(
    csm: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(csm)
    with translation.override("zh-hans"):
        adopting = str(Lifecycle.ADOPTING.label)  # what a Chinese export of Tend says
    text = (
        "名称,外部ID,细分,生命周期\r\n"
        f"华为技术,hw-1,企业,{adopting}\r\n"
        "腾讯,tx-1,企业,onboarding\r\n"
        "坏行,bad-1,企业,不存在\r\n"
    )

    response = _upload(client, "accounts", text, encoding="gb18030")
    state = _confirm_and_run(client, _token(response), jobs, django_capture_on_commit_callbacks)

    assert Account.objects.get(external_id="tx-1").name == "腾讯"
    huawei = Account.objects.get(external_id="hw-1")
    assert (huawei.segment, huawei.lifecycle) == ("企业", "adopting")
    assert (state["created"], state["failed"]) == (2, 1)
    assert state["failures"][0]["row"] == 4
    assert "不存在" in state["failures"][0]["errors"][0]


def test_utf8_with_bom_and_semicolons_imports(
    csm: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(csm)
    text = "\ufeffname;external_id\nMüller GmbH;m-1\n"

    response = _upload(client, "accounts", text)
    _confirm_and_run(client, _token(response), jobs, django_capture_on_commit_callbacks)

    assert Account.objects.get(external_id="m-1").name == "Müller GmbH"


def test_unreadable_or_unknown_files_are_refused_at_upload(csm: User) -> None:
    client = _client(csm)

    unknown = _upload(client, "accounts", "colour,size\nred,L\n")
    empty = _upload(client, "accounts", "")

    assert unknown.status_code == 400
    assert "No known column" in unknown.content.decode()
    assert empty.status_code == 400


def test_import_needs_write_permission_and_is_private(
    agent: User, csm: User, django_capture_on_commit_callbacks: Any
) -> None:
    # Agents may change contacts but not accounts.
    assert (
        _client(agent).get(reverse("web:crm_import_upload", args=["accounts"])).status_code == 403
    )
    token = _token(_upload(_client(agent), "contacts", "email\nli@acme.cn\n"))

    # Someone else cannot see or confirm another person's import.
    other = _client(csm)
    assert other.get(reverse("web:crm_import", args=[token])).status_code == 404
    assert other.post(reverse("web:crm_import", args=[token])).status_code == 404
    assert other.get(reverse("web:crm_import_status", args=[token])).status_code == 404


def _read_csv(response: Any) -> tuple[bytes, list[dict[str, str]]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_account_export_is_the_filtered_list_with_bom_and_audit_row(csm: User) -> None:
    account_create(actor=None, name="华为", segment="Enterprise", domains=["huawei.cn"])
    account_create(actor=None, name="=HYPERLINK(1)", segment="Enterprise")
    account_create(actor=None, name="Small", segment="SMB")

    response = _client(csm).get(reverse("web:crm_accounts_export"), {"segment": "Enterprise"})

    assert response["Content-Type"].startswith("text/csv")
    body, rows = _read_csv(response)
    assert body.startswith(b"\xef\xbb\xbf")
    assert {r["name"] for r in rows} == {"华为", "'=HYPERLINK(1)"}
    assert next(r for r in rows if r["name"] == "华为")["domains"] == "huawei.cn"
    entry = AuditEntry.objects.get(action="crm.export")
    assert (entry.actor, entry.target, entry.data["rows"]) == (csm, "accounts", 2)
    assert entry.data["filters"]["segment"] == "Enterprise"


def test_contact_export_round_trips_through_import(
    agent: User, jobs: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    account_create(actor=None, name="Acme", external_id="acme", domains=["acme.cn"])
    contact_create(
        actor=None,
        email="li@acme.cn",
        name="李伟",
        roles=["champion"],
        phones=["+86 138 0000 0000"],
        social={"wechat": "li_wei"},
    )
    client = _client(agent)

    response = client.get(reverse("web:crm_contacts_export"))
    body, rows = _read_csv(response)
    assert body.startswith(b"\xef\xbb\xbf")
    assert rows[0]["phones"] == "+86 138 0000 0000"  # a phone number is not a formula
    assert AuditEntry.objects.get(action="crm.export").data["rows"] == 1

    Contact.objects.all().delete()
    upload = SimpleUploadedFile("export.csv", body, content_type="text/csv")
    token = _token(
        client.post(reverse("web:crm_import_upload", args=["contacts"]), {"file": upload})
    )
    state = _confirm_and_run(client, token, jobs, django_capture_on_commit_callbacks)

    assert state["created"] == 1
    li = Contact.objects.get(email="li@acme.cn")
    assert (li.name, li.roles, li.social, li.account.external_id) == (
        "李伟",
        ["champion"],
        {"wechat": "li_wei"},
        "acme",
    )


def test_unconfirmed_uploads_are_pruned_after_a_week(csm: User, settings: Any) -> None:
    import os
    import time

    from tend.crm.tasks import crm_imports_prune

    client = _client(csm)
    old = _token(_upload(client, "accounts", "name\nOld\n"))
    fresh = _token(_upload(client, "accounts", "name\nFresh\n"))
    folder = Path(settings.MEDIA_ROOT) / "crm-imports"
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(folder / f"{old}.csv", (eight_days_ago, eight_days_ago))

    assert crm_imports_prune.call() == 1

    assert sorted(p.name for p in folder.iterdir()) == [f"{fresh}.csv"]
