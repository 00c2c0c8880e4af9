"""Routes of the Cloud console pages (/google/console/...), as data."""

from starlette.routing import Route

from googleemulator.console import pages

routes = [
    Route("/", pages.home, methods=["GET", "POST"]),
    Route("/signin", pages.signin, methods=["GET", "POST"]),
    Route("/signout", pages.signout, methods=["GET"]),
    Route("/projects/{project_id}", pages.dashboard, methods=["GET"]),
    Route("/projects/{project_id}/apis", pages.apis, methods=["GET", "POST"]),
    Route("/projects/{project_id}/consent", pages.consent, methods=["GET", "POST"]),
    Route("/projects/{project_id}/credentials", pages.credentials, methods=["GET", "POST"]),
]
