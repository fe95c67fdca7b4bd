"""The production settings, for the load run only, with the two changes a run on one machine needs.

Everything else (DEBUG off, secure cookies, HSTS, the SSL redirect, CSP, PBKDF2 password hashing,
allauth's rate limits, MFA for vendor staff, persistent connections) is exactly production's: this
module imports it and changes only what is listed here. It is never used outside ``bench/load``.

1. **Webhooks may go to 127.0.0.1 over http.** The run's webhook receiver (``bench/load/receiver.py``)
   listens on this machine; production refuses private addresses and plain http for a partner's
   endpoint (``prm/outbound.py``), rightly.
2. **Beat intervals can be shortened** by ``PRM_BENCH_BEAT_SCALE`` (default 1: production's
   schedule): with 10, the 15-minute jobs run every 90 s, so a short run still sees each job
   several times. Crontab entries (the monthly settlement) keep their schedule.
"""

from prm.settings.production import *  # noqa: F403
from prm.settings.production import CELERY_BEAT_SCHEDULE, PRM, env

PRM = {**PRM, "WEBHOOK_ALLOW_PRIVATE_URLS": True}

BEAT_SCALE = env.float("PRM_BENCH_BEAT_SCALE", default=1.0)
if BEAT_SCALE != 1.0:
    CELERY_BEAT_SCHEDULE = {
        name: (
            {**entry, "schedule": max(1, round(entry["schedule"] / BEAT_SCALE))}
            if isinstance(entry["schedule"], (int, float))
            else entry
        )
        for name, entry in CELERY_BEAT_SCHEDULE.items()
    }
