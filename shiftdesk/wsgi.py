"""WSGI entry point for production servers (gunicorn shiftdesk.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
application = get_wsgi_application()

# WSGI servers run no system checks: refuse here, as manage.py commands do, to serve with the demo's secrets.
from shiftdesk.ops.checks import refuse_unsafe_start  # noqa: E402 -- needs the settings loaded above

refuse_unsafe_start()
