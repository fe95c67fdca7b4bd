"""Django for a benchmark process: the test settings (against the servers ``bench.servers`` chose
through ``DATABASE_URL`` and ``REDIS_URL``), then ``migrate``."""

from __future__ import annotations

import os
import time

from bench.log import log


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "prm.settings.test"
    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    log(f"migrated in {time.monotonic() - started:.1f}s")
