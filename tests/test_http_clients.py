"""The HTTP clients of shiftdesk/lib/http.py share one verifying SSL context per CA bundle, and a changed
bundle file is read again: a context cached past a change would trust the old certificates."""

import shutil

import certifi
import httpx
import pytest

from shiftdesk.lib.http import graph_client, ssl_context


def test_clients_share_the_context_until_the_bundle_file_changes(emulator_server, settings, tmp_path):
    bundle = tmp_path / "ca.pem"
    shutil.copyfile(emulator_server.ca_file, bundle)
    settings.MICROSOFT_CA_BUNDLE = str(bundle)
    settings.MICROSOFT_GRAPH_URL = emulator_server.base_url

    first = ssl_context()
    assert ssl_context() is first
    with graph_client() as client:
        assert client.get("/me").status_code == 401  # the emulator's certificate verified; no token sent

    shutil.copyfile(certifi.where(), bundle)  # public CAs only: the emulator's CA is gone
    assert ssl_context() is not first
    with graph_client() as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get("/me")
