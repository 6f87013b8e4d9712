"""
Minimal Django settings for proving that our migrations and Django's `migrate` coexist on one
database, in either order. Only the apps whose tables we share are installed: sessions (the
django_session table) and `user`, the tutorial's own model (the `user` table). Neither needs auth
or contenttypes, and sessions.0001_initial has no dependencies, so leaving them out changes nothing
about what is proved and keeps each `migrate` fast.

The database comes from DSB_DJANGO_DATABASE_URL, in the same URL forms our DATABASE_URL accepts:
  mysql://user:pass@host:port/name, postgres://user:pass@host:port/name, sqlite:path or sqlite:///abs
"""
import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "django-session-bridge-migrate-test"
INSTALLED_APPS = [
    "django.contrib.sessions",
    "user",
]
USE_TZ = True
TIME_ZONE = "UTC"


def database_from_url(url):
    if url.startswith("sqlite:"):
        path = url[len("sqlite:"):]
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    parts = urlsplit(url)
    engine = {
        "mysql": "django.db.backends.mysql",
        "mariadb": "django.db.backends.mysql",
        "postgres": "django.db.backends.postgresql",
        "postgresql": "django.db.backends.postgresql",
    }[parts.scheme]
    return {
        "ENGINE": engine,
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


DATABASES = {"default": database_from_url(os.environ["DSB_DJANGO_DATABASE_URL"])}
