"""Settings for the Django reference site.

Everything that changes session or cookie behaviour comes from the environment under the same names
the Node app reads, so one environment drives both servers against one database.
"""
from pathlib import Path

import django
from django.core.exceptions import ImproperlyConfigured

from .env import (
    env_bool,
    env_int,
    env_list,
    env_optional,
    env_redis_cache,
    env_samesite,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = False
ALLOWED_HOSTS = ["*"]

SECRET_KEY = env_str("SECRET_KEY", required=True)

# SECRET_KEY_FALLBACKS exists from Django 4.1; refusing it on older releases beats silently ignoring it.
_fallbacks = env_list("SECRET_KEY_FALLBACKS")
if django.VERSION >= (4, 1):
    SECRET_KEY_FALLBACKS = _fallbacks
elif _fallbacks:
    raise ImproperlyConfigured(
        "SECRET_KEY_FALLBACKS: needs Django >= 4.1, this is {}".format(django.get_version())
    )

# DEFAULT_HASHING_ALGORITHM exists only in 3.1/3.2 ("sha1" selects the legacy session format).
_hashing = env_str("DEFAULT_HASHING_ALGORITHM")
if _hashing:
    if django.VERSION >= (4, 0):
        raise ImproperlyConfigured(
            "DEFAULT_HASHING_ALGORITHM: removed in Django 4.0, this is {}".format(django.get_version())
        )
    DEFAULT_HASHING_ALGORITHM = _hashing

DATABASES = {"default": parse_database_url(env_str("DATABASE_URL", required=True))}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

USE_TZ = env_bool("USE_TZ", True)
TIME_ZONE = env_str("TIME_ZONE", "UTC")

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 1209600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_SAVE_EVERY_REQUEST = env_bool("SESSION_SAVE_EVERY_REQUEST", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
SESSION_COOKIE_SAMESITE = env_samesite("SESSION_COOKIE_SAMESITE", "Lax")
SESSION_COOKIE_DOMAIN = env_optional("SESSION_COOKIE_DOMAIN", None)
SESSION_COOKIE_PATH = env_str("SESSION_COOKIE_PATH", "/")
# Optional extras, same names again; Django's defaults when unset.
SESSION_COOKIE_NAME = env_str("SESSION_COOKIE_NAME", "sessionid")
SESSION_ENGINE = env_str("SESSION_ENGINE", "django.contrib.sessions.backends.db")

# The Redis cache of the cache / cached_db engines, only when CACHE_URL is set (same names as the
# Node app's CACHE_* settings); otherwise Django's default CACHES (local memory) stays.
_redis_cache = env_redis_cache(django.VERSION)
if _redis_cache is not None:
    CACHES = {"default": _redis_cache}

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tutorial",
]

# No CsrfViewMiddleware: the tutorial's views are a JSON API called with JSON bodies (fetch, curl),
# not HTML forms, and it never rendered a CSRF token. With the middleware every POST would be a 403.
# Leaving it out also means login()'s rotate_token() sets no csrftoken cookie, so the only cookie
# either server sends is the session cookie the two must agree on.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "dsb_site.urls"
WSGI_APPLICATION = "dsb_site.wsgi.application"

# DSB_TEST_HOOKS=1 adds routes that exist only for the end-to-end suite (see dsb_site/urls.py).
TEST_HOOKS = env_bool("DSB_TEST_HOOKS", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"},
    },
    "root": {"handlers": ["stderr"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}
