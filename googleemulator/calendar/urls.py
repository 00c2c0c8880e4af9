"""Routes of the Calendar API v3 (www.googleapis.com/calendar/v3), its batch endpoint and its discovery
document, as data."""

from starlette.routing import Route

from googleemulator.calendar import batch, discovery, responses

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
routes = [
    Route("/discovery/v1/apis/{api}/{version}/rest", discovery.discovery, methods=["GET"]),
    Route("/batch/calendar/v3", batch.batch, methods=["POST"]),
    Route("/batch", batch.batch, methods=["POST"]),
    Route("/calendar/v3/{rest:path}", responses.endpoint, methods=METHODS),
]
