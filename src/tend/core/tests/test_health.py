"""/healthz: what load balancers and `tend run` smoke checks poll."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_needs_no_login_and_sets_no_session(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "sessionid" not in response.cookies
