"""WSGI entry point for production servers (gunicorn shiftdesk.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
application = get_wsgi_application()
