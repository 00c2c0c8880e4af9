"""The shared server: routing order, the /v1.0 fast path, the request log, TLS."""

from __future__ import annotations

import ssl

import httpx
import pytest


def test_the_home_page_leads_to_the_portal(emulator):
    with emulator.http() as http:
        response = http.get(emulator.base_url + "/")
    assert response.status_code == 302 and response.headers["location"] == "/portal/"


def test_only_the_v1_0_prefix_itself_reaches_graph(emulator, world):
    with emulator.http() as http:
        graph = http.get(emulator.base_url + "/v1.0/me")
        lookalike = http.get(emulator.base_url + "/v1.0x/me")
    assert graph.status_code == 401 and graph.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert lookalike.status_code == 404  # the identity routes' {tenant} never sees /v1.0...


def test_every_request_lands_in_the_log_with_its_status_and_duration(emulator, world):
    with emulator.http() as http:
        http.get(emulator.base_url + "/v1.0/me")
        http.get(emulator.base_url + "/common/discovery/v2.0/keys")
    rows = emulator.control.get("/graph/requests", params={"path_prefix": "/"}).json()["value"]
    by_path = {r["path"]: r for r in rows}
    assert by_path["/v1.0/me"]["status"] == 401
    assert by_path["/common/discovery/v2.0/keys"]["status"] == 200
    assert all(r["ms"] is not None and r["ms"] >= 0 for r in rows)
    assert "/_emulator/graph/requests" not in by_path  # reading the log does not add to it


def test_a_wrong_method_is_405_not_500(emulator, world):
    with emulator.http() as http:
        assert http.delete(emulator.base_url + "/common/oauth2/v2.0/token").status_code == 405
        assert http.put(emulator.base_url + "/_emulator/seed").status_code == 405


def test_the_certificate_is_trusted_only_through_the_ca_file(emulator):
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=ssl.create_default_context()) as strict:
        strict.get(emulator.base_url + "/portal/")
    with httpx.Client(verify=ssl.create_default_context(cafile=emulator.ca_file)) as trusting:
        assert trusting.get(emulator.base_url + "/portal/signin").status_code == 200
    assert emulator.base_url.startswith("https://127.0.0.1:")
