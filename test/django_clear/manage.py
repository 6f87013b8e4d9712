#!/usr/bin/env python3
"""Django's manage.py for test/django_clear/settings.py, with two test aids around the real command:

  DSB_FROZEN_NOW_US=<epoch microseconds>  django.utils.timezone.now() returns that instant (aware UTC
                                          with USE_TZ, else naive wall-clock time in TIME_ZONE, as
                                          Django's own now() would), so Django's `expire_date < now`
                                          and ours can be compared at one exact instant.
  DSB_STATEMENT_TIMES=1                   after the command, print one line per SQL statement on
                                          stderr: `dsb-statement <ms> <first 60 chars of the SQL>`
                                          (connection.execute_wrapper, timed with perf_counter).

Usage: DSB_DJANGO_DATABASE_URL=... python3 manage.py clearsessions
"""
import os
import sys
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

frozen = os.environ.get("DSB_FROZEN_NOW_US")
if frozen:
    from zoneinfo import ZoneInfo

    instant = datetime(1970, 1, 1, tzinfo=dt_timezone.utc) + timedelta(microseconds=int(frozen))

    def frozen_now():
        if settings.USE_TZ:
            return instant
        return instant.astimezone(ZoneInfo(settings.TIME_ZONE)).replace(tzinfo=None)

    # SessionStore.clear_expired() calls timezone.now() through the module, so this is what it sees.
    timezone.now = frozen_now

timings = []
if os.environ.get("DSB_STATEMENT_TIMES"):

    def timer(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append(((time.perf_counter() - start) * 1000, sql))

    connection.execute_wrappers.append(timer)

from django.core.management import execute_from_command_line  # noqa: E402

try:
    execute_from_command_line(sys.argv)
finally:
    for ms, sql in timings:
        sys.stderr.write("dsb-statement %.3f %s\n" % (ms, " ".join(sql.split())[:60]))
