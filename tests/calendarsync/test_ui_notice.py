"""{% calendar_sync_notice %}: the dashboard's warning when the user's calendar sync needs them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from shiftdesk.calendarsync.models import CalendarConnection
from tests.calendarsync.ui_factories import make_connection

pytestmark = pytest.mark.django_db
Status = CalendarConnection.Status
TEMPLATE = Template("{% load calendarsync_tags %}<p>before</p>{% calendar_sync_notice %}<p>after</p>")


def render_for(user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return TEMPLATE.render(Context({"request": request, "user": user}))


def test_it_asks_the_user_to_authorize_again(bob, django_assert_num_queries):
    make_connection(bob, status=Status.NEEDS_REAUTHORIZATION)
    with django_assert_num_queries(1):
        html = render_for(bob)
    assert 'role="alert"' in html and "can no longer reach your calendar" in html
    assert f'<a href="{reverse("calendar_sync")}#outlook-settings">Authorize again</a>' in html


def test_it_asks_the_user_to_review_a_paused_sync(bob):
    make_connection(bob, status=Status.PAUSED)
    html = render_for(bob)
    assert "paused" in html and f"{reverse('calendar_sync')}#calendar-sync-status" in html


@pytest.mark.parametrize("status", [Status.CONNECTED, Status.ERROR, None])
def test_it_says_nothing_when_the_user_has_nothing_to_do(bob, charlie, status):
    make_connection(charlie, status=Status.NEEDS_REAUTHORIZATION)  # someone else's problem
    if status is not None:
        make_connection(bob, status=status)
    assert render_for(bob) == "<p>before</p>\n<p>after</p>"


def test_it_says_nothing_to_anonymous_visitors(db):
    assert "alert" not in render_for(AnonymousUser())
