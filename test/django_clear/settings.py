"""
Django settings for running Django's own `manage.py clearsessions` against the database our tests
(and bench/clearsessions.ts) use, under any USE_TZ / TIME_ZONE, so its result can be compared with
ours on the same rows. Only django.contrib.sessions is installed: clearsessions needs nothing else.

Environment (read once, at import):
  DSB_DJANGO_DATABASE_URL  the database, in the URL forms our DATABASE_URL accepts (parsed by
                           test/django_migrate/settings.py's database_from_url)
  DSB_USE_TZ               True / False (default True)
  DSB_TIME_ZONE            IANA name (default UTC); Django's settings loader also sets the process
                           zone to it, which is what timezone.now() reads with USE_TZ=False
  DSB_SESSION_ENGINE       default django.contrib.sessions.backends.db
"""
import importlib.util
import os
from pathlib import Path


def _database_from_url():
    spec = importlib.util.spec_from_file_location(
        "dsb_migrate_settings", Path(__file__).resolve().parent.parent / "django_migrate" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # reads DSB_DJANGO_DATABASE_URL, like this module
    return module.database_from_url


SECRET_KEY = "django-session-bridge-clearsessions-test"
INSTALLED_APPS = ["django.contrib.sessions"]
USE_TZ = os.environ.get("DSB_USE_TZ", "True") in ("True", "true", "1")
TIME_ZONE = os.environ.get("DSB_TIME_ZONE", "UTC")
SESSION_ENGINE = os.environ.get("DSB_SESSION_ENGINE", "django.contrib.sessions.backends.db")
DATABASES = {"default": _database_from_url()(os.environ["DSB_DJANGO_DATABASE_URL"])}
