"""The names Django makes up for a model or a field nobody named, translated.

A field declared without ``verbose_name`` is called by its attribute name ("accepted at"), a model
without ``Meta.verbose_name`` by its class name ("fund claim", plural "fund claims"): plain English
strings the admin's column headers, filters, forms and counts ("3 fund claims") show as they are.
Each model of the portal's apps gets those names as translatable strings instead, when its class is
prepared (before any form or admin reads them), and ``manage.py makemessages``
(prm/management/commands/makemessages.py) puts them in the catalogs with the line that declares
the field or the model. Only the names at run time change: a model's migrations keep describing it
as declared, so no migration follows.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy

# The portal's own apps (the ladder in ARCHITECTURE.md); other apps name their models themselves.
APPS = ("prm", "partners", "deals", "mdf", "training", "content", "incentives")


def derived_names(model: type[models.Model]) -> dict[str, str]:
    """What Django derived for ``model``: ``{"": name, "+": plural, field name: name}``, English."""
    opts = model._meta
    names: dict[str, str] = {}
    if "verbose_name" not in opts.original_attrs:
        names[""] = str(opts.verbose_name)
    if "verbose_name_plural" not in opts.original_attrs:
        names["+"] = str(opts.verbose_name_plural)
    for field in opts.local_fields + opts.local_many_to_many:
        if field._verbose_name is None and field.name:
            names[field.name] = field.name.replace("_", " ")
    return names


def translate_derived_names(sender: type[models.Model], **kwargs: Any) -> None:
    if sender.__module__.split(".")[0] not in APPS:
        return
    opts = sender._meta
    names = derived_names(sender)
    if "" in names:
        opts.verbose_name = gettext_lazy(names[""])
    if "+" in names:
        opts.verbose_name_plural = gettext_lazy(names["+"])
    for field in opts.local_fields + opts.local_many_to_many:
        if field.name in names:
            field.verbose_name = gettext_lazy(names[field.name])


models.signals.class_prepared.connect(translate_derived_names, dispatch_uid="prm.derived_names")


def name_installed_apps_models() -> None:
    """Names, in the catalog, for what installed apps show in the admin without marking it for
    translation: allauth's MFA authenticators (vendor staff reset a lost phone there) and
    django-guardian's app name beside its permissions. Called from ``PrmConfig.ready``."""
    from allauth.mfa.models import Authenticator
    from django.apps import apps

    opts = Authenticator._meta
    opts.verbose_name = gettext_lazy("authenticator")
    opts.verbose_name_plural = gettext_lazy("authenticators")
    labels = {
        "user": gettext_lazy("user"),
        "type": gettext_lazy("type"),
        "data": gettext_lazy("data"),
        "created_at": gettext_lazy("created at"),
        "last_used_at": gettext_lazy("last used at"),
    }
    for field in opts.local_fields:
        if field.name in labels:
            field.verbose_name = labels[field.name]
    apps.get_app_config("guardian").verbose_name = gettext_lazy("Object permissions")
