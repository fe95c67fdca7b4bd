"""PRM project package and the small kernel every app uses (tenancy, policies, audit,
notifications, money). It imports no domain app."""

from .celery import app as celery_app

__all__ = ["celery_app"]
