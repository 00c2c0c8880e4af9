"""The status pages with a password connection synced through the emulator's EWS: the user's Sync Status box
and Admin > Accounts > Integration Status show its state and a refused password in words."""

from __future__ import annotations

from django.test import Client


def page(user, path):
    client = Client()
    client.force_login(user)
    return client.get(path).content.decode()


def test_the_sync_status_box_shows_a_healthy_password_connection(sync):
    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.step(bob)
    html = page(bob, "/account/calendar-sync/")
    assert 'data-sync-status="connected"' in html
    assert sync.upns[bob.pk] in html
    assert 'data-pending="0"' in html
    assert "Created" in html  # the sync log entry of the EWS create
    assert "<dt>Exchange account</dt>" in html and "<dt>Microsoft account</dt>" not in html


def test_a_refused_password_shows_on_both_status_pages(sync, alice):
    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.emulator.control.post(f"/users/{sync.upns[bob.pk]}/password", json={"password": "Changed-pw9"})
    sync.step(bob)
    mine = page(bob, "/account/calendar-sync/")
    assert "Needs reauthorization" in mine and "refused the saved password" in mine
    assert 'id="exchange-needs-reauthorization"' in mine  # the box asks for the password again
    admin = page(alice, "/admin/accounts/integration-status/")
    assert "Needs reauthorization" in admin and "refused the saved password" in admin
    assert "(Exchange, Password Authentication)" in admin
