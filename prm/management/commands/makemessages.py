"""``makemessages`` that also reads the Jinja2 fragments and the names Django derives for models.

* Django's command reads every ``.html`` file as a Django template, which misses what a Jinja2
  template translates (``{% trans %}…{% endtrans %}``, ``ngettext``, keyword arguments to ``_()``).
  Here a file under a Jinja2 engine's folders (templates/jinja2/, prm/jinja2.py) is read by
  Jinja2's own extractor and handed to xgettext as Python calls on the same lines.
* A model or field declared without a name is called by a name Django derives, translated at run
  time (prm/derived_names.py); each app's ``models.py`` is handed to xgettext with those names as
  ``gettext()`` calls on the line that declares the model or the field.

Either way the messages reach the catalogs with their file and line, as any other's do. Run it as
Django's: ``manage.py makemessages -l de -l fr -l es -e html,txt,py`` (tests/prm/catalogs.py
lists the folders it ignores).
"""

from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.commands import makemessages
from django.template import engines
from django.template.backends.jinja2 import Jinja2

from prm.derived_names import APPS, derived_names


def jinja2_folders() -> list[Path]:
    return [
        Path(folder).resolve()
        for engine in engines.all()
        if isinstance(engine, Jinja2)
        for folder in engine.template_dirs
    ]


# How many leading arguments of each function are the message (the rest: the count, variables).
LITERALS = {"ngettext": 2, "pgettext": 2, "npgettext": 3}


def jinja2_as_python(source: str) -> str:
    """The template's messages as gettext calls Python's xgettext reads, each on its template
    line (``_``/``gettext``, ``ngettext``, ``pgettext``, ``npgettext``)."""
    engine = next(engine for engine in engines.all() if isinstance(engine, Jinja2))
    lines: list[list[str]] = [[] for _ in source.splitlines() or [""]]
    for lineno, function, message in engine.env.extract_translations(source):
        strings = (message if isinstance(message, tuple) else (message,))[: LITERALS.get(function, 1)]
        if any(string is None for string in strings):
            continue  # a message that is not a literal: nothing to extract
        arguments = ", ".join(repr(string) for string in strings)
        if function in ("ngettext", "npgettext"):
            arguments += ", 1"
        name = {"_": "gettext"}.get(function, function)
        lines[min(lineno, len(lines)) - 1].append(f"{name}({arguments})")
    return "\n".join("; ".join(calls) for calls in lines) + "\n"


def models_with_derived_names(source: str, module: str) -> str:
    """``source`` (the ``models.py`` of ``module``) with a ``gettext()`` call at the start of the
    line that declares each model, and each field, whose name Django derives."""
    lines = source.splitlines()
    classes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}

    def line_of(model: type, field: str) -> int:
        for klass in model.__mro__:
            node = classes.get(klass.__name__)
            if node is None or klass.__module__ != module:
                continue
            for statement in node.body:
                targets = statement.targets if isinstance(statement, ast.Assign) else []
                if isinstance(statement, ast.AnnAssign):
                    targets = [statement.target]
                if any(isinstance(target, ast.Name) and target.id == field for target in targets):
                    return statement.lineno
        return classes[model.__name__].lineno

    calls: dict[int, list[str]] = {}
    for model in apps.get_models():
        if model.__module__ != module or model.__name__ not in classes:
            continue
        for name, english in derived_names(model).items():
            line = classes[model.__name__].lineno if name in ("", "+") else line_of(model, name)
            calls.setdefault(line, []).append(f"gettext({english!r}); ")
    return "\n".join("".join(calls.get(number, [])) + line for number, line in enumerate(lines, 1)) + "\n"


class BuildFile(makemessages.BuildFile):
    @property
    def is_jinja2(self) -> bool:
        """Under a Jinja2 engine's folder, as a path from the project root (the command runs
        there, or in a copy of the project)."""
        base = Path(settings.BASE_DIR).resolve()
        path = Path(self.path)
        return any(
            path.is_relative_to(folder.relative_to(base))
            or path.is_relative_to(Path(".") / folder.relative_to(base))
            for folder in jinja2_folders()
            if folder.is_relative_to(base)
        )

    @property
    def models_module(self) -> str | None:
        """``deals.models`` for an app's ``./deals/models.py``, else None."""
        parts = Path(self.path).with_suffix("").parts
        parts = parts[1:] if parts[0] == "." else parts
        if len(parts) == 2 and parts[0] in APPS and parts[1] == "models":
            return ".".join(parts)
        return None

    @cached_property
    def is_templatized(self) -> bool:
        return super().is_templatized or (self.domain == "django" and self.models_module is not None)

    def preprocess(self) -> None:
        if self.domain == "django" and self.is_templatized and self.models_module:
            with (
                open(self.path, encoding="utf-8") as source,
                open(self.work_path, "w", encoding="utf-8") as work,
            ):
                work.write(models_with_derived_names(source.read(), self.models_module))
            return
        if self.domain == "django" and self.is_templatized and self.is_jinja2:
            with (
                open(self.path, encoding="utf-8") as source,
                open(self.work_path, "w", encoding="utf-8") as work,
            ):
                work.write(jinja2_as_python(source.read()))
            return
        super().preprocess()


class Command(makemessages.Command):
    build_file_class = BuildFile
