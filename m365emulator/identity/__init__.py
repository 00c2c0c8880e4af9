"""The identity platform surface (login.microsoftonline.com v2): discovery, authorize, token, pages."""
