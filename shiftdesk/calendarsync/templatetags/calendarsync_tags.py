"""Template tags other apps' pages may use without importing calendarsync: {% calendar_sync_notice %}.

The dashboard shows `{% load calendarsync_tags %}{% calendar_sync_notice %}`: a warning when the logged-in
user's calendar sync needs them (authorize again, or confirm a paused sync), nothing otherwise. One query.
"""

from __future__ import annotations

from django import template

from shiftdesk.calendarsync.models import CalendarConnection

register = template.Library()

NEEDS_THE_USER = (CalendarConnection.Status.NEEDS_REAUTHORIZATION, CalendarConnection.Status.PAUSED)


@register.inclusion_tag("calendarsync/notice.html", takes_context=True)
def calendar_sync_notice(context: template.Context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None or not user.is_authenticated:
        return {"connection": None}
    connection = (
        CalendarConnection.objects.filter(user=user, status__in=NEEDS_THE_USER)
        .only("status", "last_error")
        .first()
    )
    return {"connection": connection}
