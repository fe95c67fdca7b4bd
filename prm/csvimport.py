"""Reading an uploaded CSV file for an all-or-nothing import: the file-level problems (encoding,
missing header, too many rows) are an ApplicationError on the import form's ``file`` field; each
row comes with its own line number in the file, so row problems can be reported where the user
will find them."""

from __future__ import annotations

import csv
import io

from django.utils.translation import gettext as _

from .errors import ApplicationError

# The upload field of every import form: a file-level problem is shown next to it.
FILE_FIELD = "file"


def read_rows(
    content: bytes, *, required: tuple[str, ...], max_rows: int
) -> list[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs with lower-cased, stripped column names and stripped values."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."), field=FILE_FIELD
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not set(required) <= {name.strip().lower() for name in reader.fieldnames}:
        names = ", ".join(required[:-1]) + _(" and ") + required[-1] if len(required) > 1 else required[0]
        raise ApplicationError(
            _("The first line must name the columns; %(required)s are required.") % {"required": names},
            field=FILE_FIELD,
        )
    rows = []
    for count, row in enumerate(reader, start=1):
        if count > max_rows:
            raise ApplicationError(_("At most %(n)s rows per file.") % {"n": max_rows}, field=FILE_FIELD)
        # reader.line_num: the file's own line, blank lines and quoted newlines included.
        rows.append(
            (
                reader.line_num,
                {key.strip().lower(): (value or "").strip() for key, value in row.items() if key},
            )
        )
    if not rows:
        raise ApplicationError(_("The file has no rows."), field=FILE_FIELD)
    return rows
