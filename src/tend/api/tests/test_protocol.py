"""What every API client relies on: the OpenAPI document and one JSON error shape."""

from __future__ import annotations

from django.test import Client

from conftest import make_staff
from tend.core.roles import Role


def test_openapi_document_is_served_without_a_token_and_lists_the_paths(db):
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/comments",
        "/api/v1/accounts",
        "/api/v1/accounts/{account_id}",
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/search",
    ]:
        assert path in doc["paths"], path
    assert set(doc["paths"]["/api/v1/tickets/{ticket_id}"]) == {"get", "patch"}
    schemes = doc["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]


def test_unknown_path_under_api_is_json_404(api_as, agent):
    response = api_as(agent).get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_trailing_slash_gets_a_hint(api_as, agent):
    response = api_as(agent).get("/api/v1/tickets/")

    assert response.status_code == 404
    assert "/api/v1/tickets" in response.json()["detail"]


def test_wrong_method_is_json_405(api_as, agent):
    client = api_as(agent)

    response = client.client.delete("/api/v1/tickets", headers=client.headers)

    assert response.status_code == 405
    assert "detail" in response.json()
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}


def test_body_that_is_not_json_is_400(api_as, agent):
    client = api_as(agent)

    response = client.client.post(
        "/api/v1/tickets", "{oops", content_type="application/json", headers=client.headers
    )

    assert response.status_code == 400
    assert response.json()["detail"]


def test_non_integer_id_is_422(api_as, agent):
    response = api_as(agent).get("/api/v1/tickets/abc")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "ticket_id"]


def test_no_csrf_token_needed_with_a_bearer_token(api_as, agent):
    client = api_as(agent)
    client.client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/v1/tickets", {"subject": "Hi", "description": "", "requester_email": "a@b.cn"}
    )

    assert response.status_code == 201


def test_session_login_alone_does_not_authenticate(agent):
    browser = Client()
    browser.force_login(agent)

    response = browser.get("/api/v1/tickets")

    assert response.status_code == 401


def test_errors_speak_the_token_owners_language(api_as, db):
    user = make_staff("li", Role.AGENT, language="zh-hans")

    response = api_as(user).get("/api/v1/tickets/999999")

    assert response.status_code == 404
    assert response.json() == {"detail": "未找到。"}
