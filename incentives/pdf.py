"""The PDF statement, rendered by WeasyPrint from a template that references nothing external.

A statement is rendered once per state it is in (draft, approved, paid — the document shows the
status, and the payment date and reference once paid) and kept (``prm.rendered``); any other change
in what it shows (a line, the partner's name, the language) renders it again too."""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone, translation

from prm.rendered import stored_pdf

from . import selectors
from .models import Statement


def statement_html(statement: Statement, *, generated_at: datetime | None) -> str:
    """In the active language (the person who downloads it: their own language once signed in,
    prm.i18n), with its dates and amounts in that language's conventions."""
    return render_to_string(
        "incentives/statement_pdf.html",
        {
            "statement": statement,
            "lines": selectors.statement_lines(statement=statement),
            "generated_at": generated_at,
            "LANGUAGE_CODE": translation.get_language(),
        },
    )


def statement_pdf(statement: Statement) -> bytes:
    # The key is the document without its "generated" time, which would make every request a
    # new version; the stored PDF carries the time it was actually rendered.
    return stored_pdf(
        folder=f"incentives/statements/{statement.pk}",
        key=statement_html(statement, generated_at=None),
        render=lambda: _render(statement_html(statement, generated_at=timezone.now())),
    )


def _render(html: str) -> bytes:
    from weasyprint import HTML

    # url_fetcher refuses everything: a statement never loads anything from anywhere.
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"statements load nothing external: {url}")
