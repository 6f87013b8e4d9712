"""Read settings from the environment, under the same names the Node app uses.

Every parser raises ImproperlyConfigured naming the variable and what it expected, so a wrong value
stops the process at start-up instead of making the two servers quietly disagree.
"""
import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name, default=None, required=False):
    """Return the variable as a string, or `default` when it is unset."""
    value = os.environ.get(name)
    if required and not value:
        raise ImproperlyConfigured("{}: required, but not set (or empty)".format(name))
    if value is None:
        return default
    return value


def env_bool(name, default):
    """Return the variable as a bool (1/true/yes/on, 0/false/no/off; any case)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured("{}: expected a boolean (1/0, true/false), got {!r}".format(name, value))


def env_int(name, default):
    """Return the variable as an int (decimal digits, optional sign)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value.strip(), 10)
    except ValueError:
        raise ImproperlyConfigured("{}: expected an integer, got {!r}".format(name, value)) from None


def env_list(name):
    """Return the comma-separated variable as a list of non-empty items ([] when unset or empty)."""
    value = os.environ.get(name, "")
    return [item for item in value.split(",") if item != ""]


def env_optional(name, default):
    """Return the variable, with an empty value meaning Python None (e.g. SESSION_COOKIE_DOMAIN)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value or None


def env_samesite(name, default):
    """Return a SameSite setting: 'Lax', 'Strict', 'None' as given; empty or 'false' leaves it out."""
    value = os.environ.get(name)
    if value is None:
        return default
    if value == "" or value.lower() == "false":
        return False
    if value.lower() not in ("lax", "strict", "none"):
        raise ImproperlyConfigured("{}: expected Lax, Strict, None or empty, got {!r}".format(name, value))
    # Written into the cookie exactly as given, as Django does.
    return value


_ENGINES = {
    "mysql": "django.db.backends.mysql",
    "mariadb": "django.db.backends.mysql",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


def parse_database_url(url, name="DATABASE_URL"):
    """Return a DATABASES entry for `mysql://user:pass@host:port/db`, `postgres://...`,
    `sqlite:///absolute/path` or `sqlite:relative/path` (the forms the Node app accepts).

    User and password are percent-decoded. Query parameters go into OPTIONS as strings
    (e.g. `?unix_socket=/run/mysqld/mysqld.sock`, `?sslmode=disable`). MySQL connections default to
    `charset=utf8mb4` (Django's own default is the 3-byte `utf8`, which cannot carry emoji).
    """
    parts = urlsplit(url)
    engine = _ENGINES.get(parts.scheme)
    if engine is None:
        raise ImproperlyConfigured(
            "{}: unsupported scheme {!r} (expected mysql, mariadb, postgres, postgresql or sqlite)".format(
                name, parts.scheme
            )
        )
    if engine.endswith("sqlite3"):
        return {"ENGINE": engine, "NAME": _sqlite_path(url, name)}

    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise ImproperlyConfigured("{}: no database name in {!r}".format(name, url))
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("{}: bad port in {!r}".format(name, url)) from None
    if engine.endswith("mysql"):
        options.setdefault("charset", "utf8mb4")
    return {
        "ENGINE": engine,
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port) if port is not None else "",
        "OPTIONS": options,
    }


def _sqlite_path(url, name):
    """Return the file path of a `sqlite:` URL: `sqlite:///abs` and `sqlite:////abs` are `/abs`,
    `sqlite:rel` is `rel`, relative to the working directory (scripts/django-site.sh keeps the
    caller's, so both servers find the same file)."""
    path = unquote(url[len("sqlite:"):])
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if path in ("", "/") or ":memory:" in path:
        # An in-memory database would be private to each gunicorn worker.
        raise ImproperlyConfigured(
            "{}: expected a SQLite file path, e.g. sqlite:///tmp/db.sqlite3; got {!r}".format(name, url)
        )
    return path


# CACHES["default"]["BACKEND"] under the names (and short names) the Node app's CACHE_BACKEND accepts.
_CACHE_BACKENDS = {
    "django_redis.cache.RedisCache": "django_redis.cache.RedisCache",
    "django_redis": "django_redis.cache.RedisCache",
    "django.core.cache.backends.redis.RedisCache": "django.core.cache.backends.redis.RedisCache",
    "django": "django.core.cache.backends.redis.RedisCache",
}


def env_redis_cache(django_version):
    """Return CACHES["default"] for the Redis cache the `cache` / `cached_db` session engines share
    with the Node app, from the Node app's own settings (docs/engines.md), or None when CACHE_URL is
    unset (Django's default local-memory cache then applies, private to each worker):

        CACHE_URL              LOCATION (redis://host:port/db, rediss://..., unix:///path?db=N)
        CACHE_BACKEND          BACKEND; default django-redis on 3.2 (no RedisCache of its own),
                               Django's RedisCache from 4.0
        CACHE_KEY_PREFIX       KEY_PREFIX (default "")
        CACHE_VERSION          VERSION (default 1)
        CACHE_PICKLE_PROTOCOL  django-redis's OPTIONS["PICKLE_VERSION"] (django-redis only)
    """
    location = env_str("CACHE_URL")
    if not location:
        return None
    default_backend = "django_redis" if django_version < (4, 0) else "django"
    raw_backend = env_str("CACHE_BACKEND") or default_backend
    backend = _CACHE_BACKENDS.get(raw_backend)
    if backend is None:
        raise ImproperlyConfigured(
            "CACHE_BACKEND: expected one of {}, got {!r}".format(", ".join(_CACHE_BACKENDS), raw_backend)
        )
    if backend.startswith("django.core") and django_version < (4, 0):
        raise ImproperlyConfigured("CACHE_BACKEND: Django's RedisCache needs Django >= 4.0; use django_redis")
    cache = {
        "BACKEND": backend,
        "LOCATION": location,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", ""),
        "VERSION": env_int("CACHE_VERSION", 1),
    }
    protocol = env_int("CACHE_PICKLE_PROTOCOL", None)
    if protocol is not None:
        if not backend.startswith("django_redis"):
            # Django's RedisSerializer always pickles with HIGHEST_PROTOCOL; nothing to set.
            raise ImproperlyConfigured("CACHE_PICKLE_PROTOCOL: a django-redis option (PICKLE_VERSION)")
        cache["OPTIONS"] = {"PICKLE_VERSION": protocol}
    return cache
