"""Routes of the identity platform (login.microsoftonline.com v2), as data. Mounted last: `{tenant}` would
otherwise swallow /portal, /v1.0 and the other fixed prefixes."""

from starlette.routing import Route

from m365emulator.identity import pages, responses

routes = [
    Route("/{tenant}/v2.0/.well-known/openid-configuration", responses.openid_configuration, methods=["GET"]),
    Route("/{tenant}/.well-known/openid-configuration", responses.openid_configuration, methods=["GET"]),
    Route("/{tenant}/discovery/v2.0/keys", responses.keys, methods=["GET"]),
    Route("/{tenant}/discovery/keys", responses.keys, methods=["GET"]),
    Route("/{tenant}/oauth2/v2.0/authorize", pages.authorize, methods=["GET", "POST"]),
    Route("/{tenant}/oauth2/v2.0/token", responses.token, methods=["POST"]),
    Route("/{tenant}/oauth2/v2.0/logout", pages.logout, methods=["GET", "POST"]),
    Route("/{tenant}/adminconsent", pages.adminconsent, methods=["GET"]),
    Route("/{tenant}/v2.0/adminconsent", pages.adminconsent, methods=["GET"]),
    Route("/{tenant}/login", pages.login, methods=["POST"]),
    Route("/{tenant}/Consent/Set", pages.consent, methods=["POST"]),
]
