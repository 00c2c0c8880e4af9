"""Who can open a feed and the Regenerate URL button: the token is the only key, and regenerating kills it."""

from __future__ import annotations

from shiftdesk.feeds import actions
from shiftdesk.feeds.models import FeedToken, hash_token


def test_the_token_is_stored_hashed_and_encrypted(bob):
    feed = actions.do_get_or_create_feed_token(bob)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT token_hash, token FROM feeds_feedtoken WHERE id = %s", [feed.pk])
        stored_hash, stored_token = cursor.fetchone()
    assert stored_hash == hash_token(feed.token)
    assert feed.token not in stored_token
    assert feed.token not in repr(feed)


def test_regenerate_url_kills_the_old_url(bob_client, bob, shift):
    old = actions.do_get_or_create_feed_token(bob).token
    assert bob_client.get(f"/feeds/{old}/shifts.ics").status_code == 200
    response = bob_client.post("/account/calendar-sync/feed/regenerate/")
    assert response.status_code == 302
    new = FeedToken.objects.get(user=bob).token
    assert new != old
    assert bob_client.get(f"/feeds/{old}/shifts.ics").status_code == 404
    assert bob_client.get(f"/feeds/{new}/shifts.ics").status_code == 200


def test_regenerate_only_touches_the_callers_feed(bob_client, bob, charlie):
    charlies = actions.do_get_or_create_feed_token(charlie).token
    bob_client.post("/account/calendar-sync/feed/regenerate/")
    assert FeedToken.objects.get(user=charlie).token == charlies


def test_regenerate_needs_login(client, bob):
    old = actions.do_get_or_create_feed_token(bob).token
    response = client.post("/account/calendar-sync/feed/regenerate/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert FeedToken.objects.get(user=bob).token == old


def test_regenerate_needs_post(bob_client, bob):
    old = actions.do_get_or_create_feed_token(bob).token
    assert bob_client.get("/account/calendar-sync/feed/regenerate/").status_code == 405
    assert FeedToken.objects.get(user=bob).token == old


def test_a_deactivated_users_feed_is_gone(client, bob):
    token = actions.do_get_or_create_feed_token(bob).token
    bob.is_active = False
    bob.save()
    assert client.get(f"/feeds/{token}/shifts.ics").status_code == 404


def test_the_calendar_sync_tab_shows_the_owners_url_with_copy_and_regenerate(bob_client, bob):
    response = bob_client.get("/account/calendar-sync/")
    assert response.status_code == 200
    token = FeedToken.objects.get(user=bob).token
    page = response.content.decode()
    assert f"/feeds/{token}/shifts.ics" in page
    assert 'data-copy="#ical-feed-url"' in page
    assert "Regenerate URL" in page


def test_the_calendar_sync_tab_needs_login(client):
    response = client.get("/account/calendar-sync/")
    assert response.status_code == 302
