"""Human references for registered things (DR-000123, MDF-000042), one sequence per kind."""

from __future__ import annotations

from django.db import connection


def next_reference(sequence: str, prefix: str) -> str:
    """The next number of ``sequence`` (a PostgreSQL sequence a migration created) as
    ``PREFIX-000123``. A sequence, not max()+1: concurrent registrations never collide and no lock
    is needed; a rolled-back registration leaves a gap, which is fine for a reference."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [sequence])
        (number,) = cursor.fetchone()
    return f"{prefix}-{number:06d}"
