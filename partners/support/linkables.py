"""What a support case may be about, contributed by the apps above partners.

A case may name the deal, fund request or course it concerns, but those live in apps partners
must not import (the ladder in ARCHITECTURE.md). Each such app names a function on its AppConfig::

    class DealsConfig(AppConfig):
        support_linkables = "deals.support.linkables"

returning a list of :class:`Linkable`: the kind of item, a chooser of the acting person's own items
(through the app's own policy), and a resolver that gives the label and page of the items that
person may open (again through the app's policy). The case stores a generic reference (content type
and id) plus the label it had when linked: one pair of columns serves every kind an app may add
later, and a list of cases shows the label without asking every app about every row.

An item the person may not open is shown without its link (a partner's learner sees that the case
is about a deal, not the deal); a partner can only link an item its own chooser offered, so a
foreign id is refused like a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.utils.module_loading import import_string

from prm.tenancy import Actor

# How many items a chooser offers: the newest ones (a partner rarely raises a case about an old deal).
CHOICES_LIMIT = 50


@dataclass(frozen=True)
class Linkable:
    key: str  # "deals.deal": the model's label, lower-cased; also the form's value prefix
    label: str  # "Deal"
    # The actor's own items of this kind, newest first, at most ``CHOICES_LIMIT``: (id, label).
    choices: Callable[[Actor], list[tuple[int, str]]]
    # The items among ``ids`` the actor may open: id -> (label, url).
    resolve: Callable[[Actor, Iterable[int]], dict[int, tuple[str, str]]]


@cache
def _registry() -> dict[str, Linkable]:
    found: dict[str, Linkable] = {}
    for config in apps.get_app_configs():
        if path := getattr(config, "support_linkables", None):
            for linkable in import_string(path)():
                found[linkable.key] = linkable
    return found


def linkables() -> list[Linkable]:
    return list(_registry().values())


def linkable(key: str) -> Linkable | None:
    return _registry().get(key)


def content_type_for(key: str) -> ContentType:
    app_label, model = key.split(".", 1)
    return ContentType.objects.get_by_natural_key(app_label, model)


def key_of(content_type_id: int) -> str:
    content_type = ContentType.objects.get_for_id(content_type_id)
    return f"{content_type.app_label}.{content_type.model}"


def choices_for(actor: Actor) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a form: [(kind label, [("deals.deal:12", "D-0012 Initech"), ...]), ...];
    kinds with nothing to offer are left out."""
    groups = []
    for item in linkables():
        options = [(f"{item.key}:{pk}", label) for pk, label in item.choices(actor)]
        if options:
            groups.append((item.label, options))
    return groups


def offered(actor: Actor, value: str) -> tuple[str, int, str] | None:
    """The (key, id, label) of a chooser value the actor was offered, or None for anything else
    (another partner's item, an item the actor may not open, a made-up value)."""
    key, _sep, raw_id = (value or "").partition(":")
    item = linkable(key)
    if item is None or not raw_id.isdigit():
        return None
    pk = int(raw_id)
    found = item.resolve(actor, [pk]).get(pk)
    if found is None:
        return None
    # Only the actor's own items: a vendor-visible item of another partner is not the actor's.
    if pk not in {choice_pk for choice_pk, _label in item.choices(actor)}:
        return None
    return key, pk, found[0]


def resolve(actor: Actor, content_type_id: int | None, pk: int | None) -> tuple[str, str] | None:
    """(label, url) of a case's related item if the actor may open it, else None."""
    if content_type_id is None or pk is None:
        return None
    item = linkable(key_of(content_type_id))
    if item is None:
        return None
    return item.resolve(actor, [pk]).get(pk)


def kind_label(content_type_id: int | None) -> str:
    if content_type_id is None:
        return ""
    item = linkable(key_of(content_type_id))
    return str(item.label) if item else ""
