"""Shared helpers for the Graph tests: access tokens for seeded users and HTTPS clients on /v1.0."""

from __future__ import annotations

import ssl

import httpx

from m365emulator.tokens import issue_access_token

SCOPES = ["User.Read", "Calendars.ReadWrite"]
LINK_PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name ShiftDeskLink"


def token_for(
    emulator, login: str, scopes=SCOPES, client_id: str = "11111111-2222-3333-4444-555555555555"
) -> str:
    user = emulator.state.directory.user_by_login(login)
    raw, _ = issue_access_token(
        emulator.state,
        client_id=client_id,
        app_name="ShiftDesk",
        tenant_id=user.tenant_id,
        scopes=list(scopes),
        user=user,
    )
    return raw


def app_token(
    emulator, tenant_id: str, roles=("Calendars.ReadWrite",), client_id="99999999-2222-3333-4444-555555555555"
):
    raw, _ = issue_access_token(
        emulator.state,
        client_id=client_id,
        app_name="ShiftDesk daemon",
        tenant_id=tenant_id,
        scopes=[],
        roles=list(roles),
    )
    return raw


def client(emulator, token: str | None, **headers: str) -> httpx.Client:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    verify = ssl.create_default_context(cafile=emulator.ca_file)
    return httpx.Client(base_url=emulator.base_url + "/v1.0", verify=verify, timeout=15, headers=headers)


def shift(
    subject="Early shift", day="2026-12-01", start="07:00", end="15:00", zone="Europe/Paris", **extra
) -> dict:
    body = {
        "subject": subject,
        "body": {"contentType": "text", "content": "Ward 3"},
        "start": {"dateTime": f"{day}T{start}:00", "timeZone": zone},
        "end": {"dateTime": f"{day}T{end}:00", "timeZone": zone},
        "location": {"displayName": "Ward 3"},
        "showAs": "busy",
    }
    body.update(extra)
    return body


def assert_graph_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    return error
