"""The PDF statement, rendered by WeasyPrint from a template that references nothing external."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from . import selectors
from .models import Statement


def statement_pdf(statement: Statement) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "incentives/statement_pdf.html",
        {
            "statement": statement,
            "lines": selectors.statement_lines(statement=statement),
            "generated_at": timezone.now(),
        },
    )
    # url_fetcher refuses everything: a statement never loads anything from anywhere.
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"statements load nothing external: {url}")
