"""`m365emulator serve`: prints its CA, serves HTTPS on 127.0.0.1, applies a seed, saves on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time

import httpx

from m365emulator.testing import standard_world


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_prints_the_ca_serves_https_and_saves_on_shutdown(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(standard_world()))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "m365emulator.cli", "serve", "--port", str(port), "--state-dir", str(tmp_path / "st"),
         "--seed", str(seed), "--log-level", "warning"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].strip() == f"m365emulator: serving https://localhost:{port}"
        ca_file = lines[1].split("CA certificate ", 1)[1].strip()
        assert ca_file == str((tmp_path / "st" / "ca.pem").resolve())
        verify = ssl.create_default_context(cafile=ca_file)
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"https://localhost:{port}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
                    verify=verify,
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["issuer"].startswith(f"https://localhost:{port}/")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    saved = json.loads((tmp_path / "st" / "state.json").read_text())
    assert any(u["user_principal_name"] == "pat@outlook.com" for u in saved["directory"]["users"])


def test_serve_refuses_a_broken_seed(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"apps": [{"tenant": "nowhere", "name": "x"}]}))
    result = subprocess.run(
        [sys.executable, "-m", "m365emulator.cli", "serve", "--port", str(free_port()), "--state-dir",
         str(tmp_path / "st"), "--seed", str(seed)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot apply seed" in result.stderr
