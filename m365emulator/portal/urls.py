"""Routes of the app-registration portal, mounted at /portal."""

from starlette.routing import Route

from m365emulator.portal import responses as r

routes = [
    Route("/", r.app_list, methods=["GET"]),
    Route("/signin", r.signin_page, methods=["GET"]),
    Route("/signin", r.signin, methods=["POST"]),
    Route("/signout", r.signout, methods=["POST"]),
    Route("/register", r.register_page, methods=["GET"]),
    Route("/register", r.register, methods=["POST"]),
    Route("/apps/{client_id}", r.overview, methods=["GET"]),
    Route("/apps/{client_id}/authentication", r.authentication, methods=["GET", "POST"]),
    Route("/apps/{client_id}/credentials", r.credentials, methods=["GET"]),
    Route("/apps/{client_id}/credentials/new", r.new_secret, methods=["GET", "POST"]),
    Route("/apps/{client_id}/certificates", r.add_certificate, methods=["POST"]),
    Route("/apps/{client_id}/permissions", r.permissions, methods=["GET"]),
    Route("/apps/{client_id}/permissions/add", r.add_permission, methods=["GET", "POST"]),
    Route("/apps/{client_id}/permissions/consent", r.grant_admin_consent, methods=["POST"]),
]
