"""Routes of Google's OAuth 2.0 / OpenID Connect endpoints, as data. Google spreads them over
accounts.google.com, oauth2.googleapis.com, www.googleapis.com and openidconnect.googleapis.com; here they
share the /google prefix and keep Google's paths."""

from starlette.routing import Route

from googleemulator.oauth import pages, responses

routes = [
    Route("/.well-known/openid-configuration", responses.openid_configuration, methods=["GET"]),
    Route("/oauth2/v3/certs", responses.certs, methods=["GET"]),
    Route("/o/oauth2/v2/auth", pages.authorize, methods=["GET"]),
    Route("/o/oauth2/auth", pages.authorize, methods=["GET"]),
    Route("/signin/chooser", pages.chooser, methods=["POST"]),
    Route("/signin/identifier", pages.identifier, methods=["POST"]),
    Route("/signin/challenge", pages.challenge, methods=["POST"]),
    Route("/signin/oauth/consent", pages.consent, methods=["POST"]),
    Route("/token", responses.token, methods=["POST"]),
    Route("/o/oauth2/token", responses.token, methods=["POST"]),
    Route("/revoke", responses.revoke, methods=["POST", "GET"]),
    Route("/o/oauth2/revoke", responses.revoke, methods=["POST", "GET"]),
    Route("/v1/userinfo", responses.userinfo, methods=["GET", "POST"]),
    Route("/oauth2/v3/userinfo", responses.userinfo, methods=["GET", "POST"]),
]
