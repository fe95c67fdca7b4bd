import os
from typing import Any

from celery import Celery
from celery.contrib.django.task import DjangoTask
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings.local")


class EmptyScopeTask(DjangoTask):
    """Every task starts with no database scope, as it does in a worker process.

    (A ``DjangoTask``, as Celery's Django fix-up would choose, for ``delay_on_commit``.)

    A worker's connection carries no tenant settings, so a task that forgets to open its scope
    (``prm.tenancy.system_scope`` or a partner's) sees no rows at all. When a task runs eagerly
    inside an open transaction (the test suite, or an eager call inside a request), it must not
    inherit that transaction's scope either, or a missing scope would pass unnoticed.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from django.db import connection

        if not connection.in_atomic_block:
            return super().__call__(*args, **kwargs)
        from prm.tenancy import tenant_scope

        with tenant_scope(None):
            return super().__call__(*args, **kwargs)


app = Celery("prm", task_cls=EmptyScopeTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_a_role_that_bypasses_rls(**kwargs: Any) -> None:
    from prm.checks import require_role_cannot_bypass_rls

    require_role_cannot_bypass_rls()
