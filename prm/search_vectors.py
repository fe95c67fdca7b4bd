"""The stored ``tsvector`` column a table offers to the one search box (``prm.search``).

Kept apart from ``prm.search`` so that models (the kernel's own ``User`` among them) can declare one
without importing the search machinery, which needs the tenancy module, which needs the models.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Func, Value

# Punctuation inside references, domains and e-mail addresses that PostgreSQL's parser would keep
# (or read as a minus sign: "DR-2026-000123" gives '-2026'); blanks instead, so every part is a
# word of its own, exactly as ``terms_of`` splits what a person types.
_SEPARATORS = "-.@_/+"


def search_vector_field(*fields: str) -> models.GeneratedField:
    """The stored ``tsvector`` of ``fields`` that a source searches; give it a GIN index
    (``GinIndex(fields=["search_vector"], ...)``). PostgreSQL keeps it up to date on every write."""
    parts = [
        Func(
            F(name),
            Value(_SEPARATORS),
            Value(" " * len(_SEPARATORS)),
            function="translate",
            output_field=models.TextField(),
        )
        for name in fields
    ]
    return models.GeneratedField(
        expression=SearchVector(*parts, config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
