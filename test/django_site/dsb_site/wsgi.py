"""WSGI entry point: `gunicorn dsb_site.wsgi` (run from test/django_site/)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dsb_site.settings")

application = get_wsgi_application()
