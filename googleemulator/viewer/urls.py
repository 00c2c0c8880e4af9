"""Routes of the Google Calendar viewer (/google/calendar/view/...), as data."""

from starlette.routing import Route

from googleemulator.viewer import pages

routes = [
    Route("/", pages.home, methods=["GET"]),
    Route("/{email}/", pages.week, methods=["GET"]),
    Route("/{email}/event", pages.event, methods=["GET", "POST"]),
]
