"""The control API (/_emulator) is reachable by its own tools only (issue 11 item 7): JSON bodies only, its own
Host names, no other web origin, and a token when `m365emulator serve` listens beyond loopback."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from m365emulator.cli import is_loopback_address, main
from m365emulator.server import build_app
from m365emulator.state import EmulatorState


def tenants(emulator) -> int:
    return len(emulator.state.directory.tenants)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_json_is_refused_as_a_cross_site_form_would_send_it(emulator, world, content_type):
    before = tenants(emulator)
    response = emulator.control.post("/reset", content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupportedMediaType"
    assert tenants(emulator) == before  # nothing was reset


def test_json_and_bodiless_requests_still_work(emulator, world):
    seeded = tenants(emulator)
    assert emulator.control.post("/seed", json={"tenants": []}).status_code == 201
    assert emulator.control.post("/reset").status_code == 200  # no body, no Content-Type
    assert tenants(emulator) < seeded


@pytest.mark.parametrize("host", ["evil.example", "evil.example:443", "10.0.0.1", ""])
def test_a_foreign_host_header_is_refused(emulator, world, host):
    before = tenants(emulator)
    response = emulator.control.post("/reset", headers={"host": host})
    assert response.status_code == 403
    assert tenants(emulator) == before


def test_only_the_emulators_own_origin_may_send(emulator, world):
    own = f"https://127.0.0.1:{emulator.port}"
    assert emulator.control.post("/reset", headers={"origin": "https://evil.example"}).status_code == 403
    assert emulator.control.post("/reset", headers={"origin": "null"}).status_code == 403
    assert emulator.control.post("/reset", headers={"origin": own}).status_code == 200
    assert (
        emulator.control.get("/openapi.json", headers={"host": f"localhost:{emulator.port}"}).status_code
        == 200
    )


def test_with_a_token_every_control_request_must_carry_it(tmp_path):
    app = build_app(EmulatorState(None), control_hosts=("emulator.lan",), control_token="s3cret-token")
    client = TestClient(app, base_url="https://emulator.lan")
    assert client.post("/_emulator/reset").status_code == 403
    assert client.post("/_emulator/reset", headers={"x-emulator-control-token": "wrong"}).status_code == 403
    assert (
        client.post("/_emulator/reset", headers={"x-emulator-control-token": "s3cret-token"}).status_code
        == 200
    )
    other = TestClient(app, base_url="https://other.lan")
    assert (
        other.post("/_emulator/reset", headers={"x-emulator-control-token": "s3cret-token"}).status_code
        == 403
    )


def test_serve_refuses_a_non_loopback_address_without_a_token(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("M365EMULATOR_CONTROL_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--state-dir", str(tmp_path)]) == 2
    assert "--control-token" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # refused before anything was created
    assert [is_loopback_address(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "192.168.1.5", "::")] == [
        True, True, True, False, False, False]  # fmt: skip
