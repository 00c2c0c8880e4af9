"""The Cloud console (the admin's side) and the Calendar viewer (a person editing their own calendar),
driven over HTTP like a browser without JavaScript, and their results used by Google's own clients."""

from __future__ import annotations

import re
from urllib.parse import quote

from googleemulator.testing import CALENDAR_SCOPES, STANDARD_REDIRECT, sign_in
from tests.google_emulator.clients import make_flow
from tests.google_emulator.test_calendar_api import event, service_for


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def console_sign_in(google, http, email="alice@example.org", password="Alice-pw1"):
    response = http.post(
        google.gbase + "/console/signin", data={"email": email, "password": password}, follow_redirects=True
    )
    assert response.status_code == 200 and "Projects" in response.text
    return response


def test_an_admin_sets_up_a_web_client_that_google_auth_oauthlib_then_uses(google, gworld):
    with google.http() as http:
        home = console_sign_in(google, http)
        made = http.post(google.gbase + "/console/", data={"csrf": csrf(home.text), "name": "Library Rota"},
                         follow_redirects=True)  # fmt: skip
        assert made.status_code == 200 and "<h1>Library Rota</h1>" in made.text
        project_url = str(made.url)
        apis = http.get(project_url + "/apis")
        assert "Not enabled" in apis.text
        http.post(project_url + "/apis", data={"csrf": csrf(apis.text), "action": "enable"})
        consent = http.get(project_url + "/consent")
        token = csrf(consent.text)
        saved = http.post(project_url + "/consent", data={"csrf": token, "action": "save", "user_type": "external",
                          "app_name": "Library Rota", "support_email": "alice@example.org"})  # fmt: skip
        assert "Saved." in saved.text and "Publish app" in saved.text
        http.post(
            project_url + "/consent",
            data={"csrf": token, "action": "add_test_user", "test_user": "bob@example.org"},
        )
        creds_page = http.get(project_url + "/credentials")
        bad = http.post(project_url + "/credentials", data={"csrf": csrf(creds_page.text), "application_type": "web",
                        "name": "Web", "redirect_uris": "http://example.com/cb"})  # fmt: skip
        assert "must use https://" in bad.text
        created = http.post(project_url + "/credentials", data={"csrf": csrf(creds_page.text), "application_type": "web",
                            "name": "Web", "redirect_uris": STANDARD_REDIRECT})  # fmt: skip
        assert "OAuth client created" in created.text and "Copy client secret" in created.text
        client_id = re.search(r'id="client-id"[^>]*>([^<]+)<', created.text).group(1)
        secret = re.search(r'id="client-secret"[^>]*>([^<]+)<', created.text).group(1)
        assert client_id.endswith(".apps.googleusercontent.com") and secret.startswith("GOCSPX-")
        listing = http.get(project_url + "/credentials").text
        assert client_id in listing and secret not in listing  # shown in full only once
        # Without the form token, nothing changes.
        forged = http.post(project_url + "/apis", data={"action": "disable"}, follow_redirects=False)
        assert forged.status_code == 303
        assert "Enabled" in http.get(project_url + "/apis").text
    # Bob, a test user, authorizes the new client with Google's own Flow; the API is enabled.
    flow = make_flow(google, CALENDAR_SCOPES, client_id=client_id, secret=secret)
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    with google.http() as http:
        response = sign_in(http, url, "bob@example.org", "Bob-pw1")
    flow.fetch_token(authorization_response=response.headers["location"])
    assert flow.credentials.refresh_token
    with google.http() as http:
        refreshed = http.post(google.gbase + "/token", data={"grant_type": "refresh_token", "client_id": client_id,
                              "client_secret": secret, "refresh_token": flow.credentials.refresh_token}).json()  # fmt: skip
    assert refreshed["token_type"] == "Bearer"


def test_internal_needs_a_workspace_account(google, gworld):
    with google.http() as http:
        home = console_sign_in(google, http, "carol@gmail.com", "Carol-pw1")
        made = http.post(
            google.gbase + "/console/", data={"csrf": csrf(home.text), "name": "Mine"}, follow_redirects=True
        )
        page = http.get(str(made.url) + "/consent")
        answer = http.post(str(made.url) + "/consent", data={"csrf": csrf(page.text), "action": "save",
                           "user_type": "internal", "app_name": "Mine"})  # fmt: skip
    assert "Internal is only available to Google Workspace users" in answer.text


def test_a_person_edits_and_deletes_in_the_viewer_and_sync_sees_it(google, gworld):
    cal = service_for(google)
    cal.events().insert(calendarId="primary", body=event("Desk", id="edit00001")).execute()
    sync_token = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    base = f"{google.gbase}/calendar/view/{quote('alice@example.org')}"
    with google.http() as http:
        week = http.get(base + "/", params={"cal": "alice@example.org", "week": "2027-03-01"})
        assert "Desk" in week.text and "<h1>" in week.text
        form = http.get(base + "/event", params={"cal": "alice@example.org", "id": "edit00001"})
        assert 'value="2027-03-01T09:00"' in form.text  # Europe/London is UTC in March before the change
        saved = http.post(base + "/event", params={"cal": "alice@example.org", "id": "edit00001"},
                          data={"action": "save", "summary": "Desk (moved)", "start": "2027-03-01T10:00",
                                "end": "2027-03-01T13:00", "show_as": "busy", "description": ""})  # fmt: skip
        assert saved.status_code == 303
    changed = cal.events().list(calendarId="primary", syncToken=sync_token).execute()
    assert [(i["id"], i["summary"], i["start"]["dateTime"]) for i in changed["items"]] == [
        ("edit00001", "Desk (moved)", "2027-03-01T10:00:00Z")
    ]
    with google.http() as http:
        http.post(
            base + "/event", params={"cal": "alice@example.org", "id": "edit00001"}, data={"action": "delete"}
        )
        http.post(base + "/event", params={"cal": "alice@example.org"}, data={"action": "save", "summary": "Added",
                  "start": "2027-03-02T09:00", "end": "2027-03-02T10:00", "show_as": "free", "description": ""})  # fmt: skip
    after = cal.events().list(calendarId="primary", syncToken=changed["nextSyncToken"]).execute()["items"]
    assert {(i.get("summary"), i["status"]) for i in after} == {(None, "cancelled"), ("Added", "confirmed")}
    added = next(i for i in after if i["status"] == "confirmed")
    assert added["transparency"] == "transparent" and added["creator"]["email"] == "alice@example.org"


def test_a_person_moves_an_event_to_another_calendar_in_the_viewer(google, gworld):
    cal = service_for(google)
    cal.events().insert(calendarId="primary", body=event("Desk", id="move00001")).execute()
    sync_token = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    base = f"{google.gbase}/calendar/view/{quote('alice@example.org')}"
    with google.http() as http:
        form = http.get(base + "/event", params={"cal": "alice@example.org", "id": "move00001"})
        assert '<option value="rota@group.calendar.google.com">Rota</option>' in form.text
        http.post(base + "/event", params={"cal": "alice@example.org", "id": "move00001"},
                  data={"action": "save", "summary": "Desk", "start": "2027-03-01T09:00", "end": "2027-03-01T12:00",
                        "show_as": "busy", "description": "", "calendar": "rota@group.calendar.google.com"})  # fmt: skip
    gone = cal.events().list(calendarId="primary", syncToken=sync_token).execute()["items"]
    assert [(i["id"], i["status"]) for i in gone] == [("move00001", "cancelled")]
    assert (
        cal.events().get(calendarId="rota@group.calendar.google.com", eventId="move00001").execute()["status"]
        == "confirmed"
    )


def test_a_live_check_can_tell_unknown_client_wrong_secret_and_unregistered_redirect(google, gworld):
    """What an admin box's "Save Settings" check can ask Google without a user: the token endpoint with a
    dummy code tells the client apart (401 invalid_client "The OAuth client was not found." / "Unauthorized";
    a known client with the right secret gets 400 invalid_grant), and the authorization endpoint tells whether
    the redirect URI is registered (its error page) or not (the sign-in page)."""
    client = gworld["projects"][0]["clients"][0]

    def token_check(client_id, secret):
        with google.http() as http:
            return http.post(google.gbase + "/token", data={"grant_type": "authorization_code", "code": "dummy",
                             "client_id": client_id, "client_secret": secret, "redirect_uri": STANDARD_REDIRECT})  # fmt: skip

    unknown = token_check("000-none.apps.googleusercontent.com", "x")
    assert (unknown.status_code, unknown.json()["error_description"]) == (
        401,
        "The OAuth client was not found.",
    )
    wrong = token_check(client["client_id"], "GOCSPX-wrong")
    assert (wrong.status_code, wrong.json()["error_description"]) == (401, "Unauthorized")
    right = token_check(client["client_id"], client["client_secret"])
    assert right.status_code == 400 and right.json()["error"] == "invalid_grant"

    def redirect_check(uri):
        query = {
            "client_id": client["client_id"],
            "redirect_uri": uri,
            "response_type": "code",
            "scope": "openid",
        }
        with google.http() as http:
            return http.get(google.gbase + "/o/oauth2/v2/auth", params=query)

    assert redirect_check("https://other.example/cb").status_code == 400
    assert "redirect_uri_mismatch" in redirect_check("https://other.example/cb").text
    assert redirect_check(STANDARD_REDIRECT).status_code == 200
