"""Start-up steps the Django oracles configured from the environment share (store_oracle.py,
engines_oracle.py). Call them before settings.configure(): they read the environment, set the
process time zone and check which Django was imported; none of them touches django.conf.settings.
"""
import importlib.util
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def env_flag(name, default):
    """A True/False setting from the environment, as the Node side writes it."""
    return os.environ.get(name, default) in ("True", "true", "1")


def apply_time_zone():
    """TIME_ZONE (default UTC), applied to the process the way Django's settings *module* loader
    does (os.environ["TZ"] + time.tzset(), django/conf/__init__.py); settings.configure() does not,
    and with USE_TZ=False timezone.now() reads the process's local clock."""
    time_zone = os.environ.get("TIME_ZONE", "UTC")
    os.environ["TZ"] = time_zone
    time.tzset()
    return time_zone


def database_from_url(url):
    """A DATABASES entry for `url`, through test/django_migrate/settings.py's parser, so every
    Python helper reads URLs one way. That module reads DSB_DJANGO_DATABASE_URL at import, so it
    is imported with it set."""
    os.environ["DSB_DJANGO_DATABASE_URL"] = url
    spec = importlib.util.spec_from_file_location("dsb_migrate_settings", HERE.parent / "django_migrate" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.database_from_url(url)


def require_django_version(program):
    """Exit with status 2 when DJANGO_VERSION ("3.2", "4.2", "5.2") is set and another Django was
    imported (a PYTHONPATH mistake would otherwise test the wrong series)."""
    import django

    wanted = os.environ.get("DJANGO_VERSION")
    if wanted and "%d.%d" % django.VERSION[:2] != wanted:
        sys.stderr.write("%s: DJANGO_VERSION=%s but Django %s was imported\n" % (program, wanted, django.get_version()))
        sys.exit(2)
