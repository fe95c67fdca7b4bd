"""The vendor console for partners: list with filters and export, detail with audit history,
status / tier / channel manager changes, and application review."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.contrib import messages
from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet, Value, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template import engines
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_countries.fields import Country
from markupsafe import Markup, escape

from prm import audit
from prm.errors import attempt
from prm.jinja2 import kept_gettext, url_with_pk
from prm.kept import Kept
from prm.layout import CSRF_INPUT, page_url
from prm.lookups import IsAnyOf, PositionIn
from prm.pagination import Planner
from prm.roles import VendorRole
from prm.statements import Statement
from prm.templatetags.prm_pagination import pagination
from prm.tenancy import Actor
from prm.views import PAGE_SIZE, paginate, querystring_without_page, start_export, vendor_required
from prm.widgets import FixedChoices

from . import selectors, services
from .forms import (
    ChannelManagerForm,
    PartnerChooser,
    PartnerFilterForm,
    PortfolioGrantForm,
    ReasonForm,
    StatusChangeForm,
    TierForm,
)
from .models import (
    PARTNER_TRANSITIONS,
    ApplicationStatus,
    Partner,
    PartnerStatus,
    PartnerType,
    ProfileChangeRequest,
    ProfileChangeStatus,
    Region,
    Tier,
)
from .panels import app_panels
from .performance.policies import snapshot_policy
from .policies import application_policy, partner_policy, vendor_sees_all
from .vendor_dashboard import counted, dashboard_figures, recent_applications


@vendor_required
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if actor.vendor_role == VendorRole.SUPPORT:
        # Support staff see no partner's business, only its cases: their dashboard is the queue.
        return redirect("support:queue")
    counts = dashboard_figures(actor=actor)
    by_status = counts["status"]
    by_region = [
        {"status": code, "label": Region(code).label if code in Region.values else code, "n": n}
        for code, n in sorted(counts["region"].items(), key=lambda item: str(item[0]))
    ]
    return render(
        request,
        "partners/vendor/dashboard.html",
        {
            "total": sum(by_status.values()),
            "by_status": [(label, by_status.get(value, 0), value) for value, label in PartnerStatus.choices],
            "by_tier": counts["tier"],
            "by_region": by_region,
            "pending_applications": counts["pending_applications"],
            "pending_profile_changes": counts["pending_profile_changes"],
            "panels": app_panels("vendor_home_panel", request),
            "recent_applications": recent_applications(actor=actor),
        },
    )


class _TierName(NamedTuple):
    name: str


class _Manager(NamedTuple):
    full_name: str
    email: str


class VendorPartnerRow(NamedTuple):
    """A row of the vendor's partner list: the columns it shows, not the partner, its tier and its
    manager as model instances (75 columns and three objects a row). What a template written for
    the Partner reads of them answers as the model does (``tier.name``, ``country.name``,
    ``get_status_display``, ...): the kept Django template of the markup test reads the rows so."""

    pk: int
    legal_name: str
    website_domain: str
    partner_type: str
    country_code: str
    region: str
    status: str
    tier_name: str
    manager_id: int | None
    manager_full_name: str | None
    manager_email: str | None
    member_count: int

    @property
    def country(self) -> Country:
        return Country(code=self.country_code)

    @property
    def tier(self) -> _TierName:
        return _TierName(self.tier_name)

    @property
    def channel_account_manager(self) -> _Manager | None:
        if self.manager_id is None:
            return None
        return _Manager(self.manager_full_name or "", self.manager_email or "")

    def get_partner_type_display(self) -> str:
        return _choice_label(PartnerType, self.partner_type)

    def get_region_display(self) -> str:
        return _choice_label(Region, self.region)

    def get_status_display(self) -> str:
        return _choice_label(PartnerStatus, self.status)


def _choice_label(choices: Any, value: str) -> str:
    # As Model._get_FIELD_display: the label, or the value itself when it is no choice.
    return str(dict(choices.choices).get(value, value))


# The list's filters that are SQL values (None when not applied: part of the statement's shape).
_FILTERS = ("status", "partner_type", "region", "country", "tier", "channel_account_manager", "q")


def _filtered(actor: Actor, values: dict[str, Any]) -> QuerySet[Partner]:
    # The one path: selectors.partner_list, through partner_policy's scope.
    return selectors.partner_list(
        actor=actor, filters={name: value for name, value in values.items() if value is not None}
    )


# A row of the list: VendorPartnerRow's fields, then the whole filtered list's count.
_ROW_COLUMNS = (
    "pk",
    "legal_name",
    "website_domain",
    "partner_type",
    "country",
    "region",
    "status",
    "tier__name",
    "channel_account_manager_id",
    "channel_account_manager__full_name",
    "channel_account_manager__email",
    "member_count",
    "total",
)


def _page_rows(
    actor: Actor, bottom: int, top: int, values: dict[str, Any], *, in_keys_order: bool
) -> QuerySet[Partner]:
    """The page's rows ``[bottom:top]`` through their keys, read once as an array (an uncorrelated
    ``ARRAY(...)``, which PostgreSQL runs once per statement): the joins and the people count touch
    the page's 25 partners only, found by key. Each row ends in the count of the whole filtered
    list, an uncorrelated scalar subquery too, so the paginator's count is no statement (no round
    trip) of its own. (As a semi-join, ``pk IN (keys)``, PostgreSQL joined a channel account
    manager's 500 partners to their managers before it kept the page's 25: 4.4 ms against 1.3.)

    ``in_keys_order``: for keys read by a walk of the name index (no sort: :func:`_list_planner`),
    the rows come in the keys' order (their place in the array), an order no index supplies, so the
    statement's only sort is of the page's rows. Ordered by name, the rows themselves would be read
    by that walk too, through the whole program past the page's keys (10,000 partners, 22 ms)."""
    partners = _filtered(actor, values)
    keys = ArraySubquery(partners.values("pk")[bottom:top])
    rows = partners.filter(IsAnyOf(F("pk"), keys)).annotate(total=counted(partners))
    if in_keys_order:
        rows = rows.order_by(PositionIn(keys, F("pk")))
    return rows.values_list(*_ROW_COLUMNS)


def _partner_list_rows(actor: Actor, *, bottom: int, top: int, **values: Any) -> QuerySet[Partner]:
    return _page_rows(actor, bottom, top, values, in_keys_order=False)


def _partner_list_rows_walked(actor: Actor, *, bottom: int, top: int, **values: Any) -> QuerySet[Partner]:
    return _page_rows(actor, bottom, top, values, in_keys_order=True)


def _partner_list_count(actor: Actor, **values: Any) -> QuerySet[Partner]:
    # Without the list's order, as the paginator's count() had it: nothing to sort.
    return _filtered(actor, values).order_by().values_list("pk")


# The partner list's rows with its count and, for a page past the last one only, the count alone,
# compiled once per shape (prm.statements): building and compiling them through the ORM, with the
# rows as three model instances each, was over a third of the page's CPU. A search (q) builds LIKE
# patterns from its text: those shapes are built each time.
_PARTNER_LIST_ROWS = Statement("partners.vendor_partner_list_rows", _partner_list_rows, values=_FILTERS)
_PARTNER_LIST_ROWS_WALKED = Statement(
    "partners.vendor_partner_list_rows_walked", _partner_list_rows_walked, values=_FILTERS
)
_PARTNER_LIST_COUNT = Statement(
    "partners.vendor_partner_list_count", _partner_list_count, values=_FILTERS, count=True
)


class PartnerListPaginator(Paginator):
    """The vendor partner list's pages: a page's rows (VendorPartnerRow) and the list's count come
    from one kept statement over ``selectors.partner_list`` with these filter ``values``.

    ``get_page`` answers as Django's does (a number that is none: the first page; a page past the
    last or below the first: the last page) but reads the requested page first: rows carry the
    count, and a first page without rows means a count of 0. Only a page past the end costs the
    count on its own, then the last page's rows. No orphans: every page but the last has
    ``per_page`` rows."""

    def __init__(
        self, actor: Actor, values: dict[str, Any], per_page: int, planner: Planner | None = None
    ) -> None:
        super().__init__([], per_page)
        self.actor = actor
        self.values = values
        # The planner settings the filter options' read set (:func:`_list_planner`), set back in
        # the statement that reads the first page's rows.
        self.planner = planner or Planner()

    @cached_property
    def count(self) -> int:
        return _PARTNER_LIST_COUNT.count(self.actor, **self.values)

    @property
    def rows_statement(self) -> Statement:
        """The statement of a page's rows: in the keys' order where they are read by a walk of the
        name index (the planner settings say no sort)."""
        return _PARTNER_LIST_ROWS_WALKED if self.planner.settings else _PARTNER_LIST_ROWS

    def bounds(self, number: int) -> tuple[int, int]:
        """The slice ``[bottom:top]`` of page ``number``'s rows (the last page's ``top`` past the
        end: a LIMIT reads what there is; one statement shape per page, whatever the count)."""
        bottom = (number - 1) * self.per_page
        return bottom, bottom + self.per_page

    def _page_of(self, number: int) -> Page:
        rows = []
        if self.__dict__.get("count") != 0:
            bottom, top = self.bounds(number)
            rows = self.planner.restore_with(
                self.rows_statement.prepare(self.actor, bottom=bottom, top=top, **self.values)
            )
        if rows:
            self.__dict__.setdefault("count", rows[0][-1])
        # Each row ends in the list's count, which the page does not show per row.
        return self._get_page([VendorPartnerRow._make(row[:-1]) for row in rows], number, self)

    def get_page(self, number: Any) -> Page:
        # The number as Paginator.validate_number reads it.
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            number = 1
        if number >= 1:
            page = self._page_of(number)
            if page.object_list:
                return page
            if number == 1:
                self.__dict__["count"] = 0  # no row on the first page: none at all
                return page
        return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        return self._page_of(self.validate_number(number))


def partner_list_values(filters: dict[str, Any]) -> dict[str, Any]:
    """The list's filters as the statements' values: an absent or empty one is None (no filter; a
    ``""`` would be probed as a value and filtered on), a tier or a manager by its key."""
    return {name: filters.get(name) or None for name in _FILTERS}


def _filter_options(actor: Actor) -> QuerySet:
    """The tier and manager selects' options as the fields' querysets list them, in one statement
    (UNION ALL): ``(select, position, pk, name, email)``, 0 for a tier (its name), 1 for a manager
    (their name or e-mail, User.__str__); ``position`` is the row's place in its queryset's own
    order (PostgreSQL's, collation included), numbered by the database."""
    fields = PartnerFilterForm.base_fields
    tiers, managers = fields["tier"].queryset, fields["channel_account_manager"].queryset

    def numbered(queryset: QuerySet, select: int, name: str, email: Any) -> QuerySet:
        order = [
            F(field[1:]).desc() if field.startswith("-") else F(field).asc()
            for field in (queryset.query.order_by or queryset.model._meta.ordering)
        ]
        return (
            queryset.order_by()
            .annotate(
                option_select=Value(select),
                option_position=Window(RowNumber(), order_by=order),
                option_name=F(name),
                option_email=email,
            )
            .values_list("option_select", "option_position", "pk", "option_name", "option_email")
        )

    return (
        numbered(tiers, 0, "name", Value(""))
        .union(numbered(managers, 1, "full_name", F("email")), all=True)
        .order_by("option_select", "option_position")
    )


_FILTER_OPTIONS = Statement("partners.vendor_partner_list_filter_options", _filter_options)


class FilterOptions(NamedTuple):
    """The tier and manager selects' options after their empty label: ``(pk, label)``."""

    tiers: tuple[tuple[int, str], ...]
    managers: tuple[tuple[int, str], ...]


def filter_options(actor: Actor, planner: Planner | None = None) -> FilterOptions:
    """The tier and manager selects' options; with ``planner``, read in the statement that sets
    its settings (Planner.set_with: no round trip of their own)."""
    prepared = _FILTER_OPTIONS.prepare(actor)
    rows = planner.set_with(prepared) if planner is not None else _FILTER_OPTIONS.rows(actor)
    return FilterOptions(
        tiers=tuple((pk, name) for select, _position, pk, name, _email in rows if select == 0),
        managers=tuple((pk, name or email) for select, _position, pk, name, email in rows if select == 1),
    )


def _list_planner(actor: Actor, query: Any) -> Planner:
    """The planner settings for a page of the list. For a role that sees the whole program and
    no search: no sort, so that the page's keys are read by a walk of the name index that stops
    after the page. Row-level security makes PostgreSQL expect 25 of the 10,000 partners to pass,
    and a walk that finds 25 in 10,000 costs more than reading them all and sorting: it read and
    sorted every partner (2.5 ms of the statement's 4, every page) where the walk reads 25 index
    entries (0.02 ms). The filters it may still meet select a region, a type, a tier, a status, a
    country or a manager's partners: a few percent of the program at the least, read from the
    index until a page is found. A search (a handful of matches in a text index) and a channel
    account manager's portfolio (their few hundred partners by key) are read and sorted."""
    if vendor_sees_all(actor) and not query.get("q"):
        return Planner(enable_sort="off")
    return Planner()


# The status, type and region selects' choices by language (their labels are lazy translations):
# FixedChoices, whose options prm.widgets.Select writes once per selected value.
_FIXED_CHOICES: dict[tuple[str, str | None], FixedChoices] = {}


def _fixed_choices(form: PartnerFilterForm) -> None:
    language = translation.get_language()
    for name in ("status", "partner_type", "region"):
        field = form.fields[name]
        choices = _FIXED_CHOICES.get((name, language))
        if choices is None:
            choices = FixedChoices([(value, str(label)) for value, label in field.choices])
            _FIXED_CHOICES[(name, language)] = choices
        field.choices = choices


def _model_choices(form: PartnerFilterForm, options: FilterOptions) -> None:
    """The tier and manager selects' options from the kept statement, as the fields' querysets make
    them (``(pk, str(instance))`` after the empty label: Tier.__str__ is its name, User.__str__ its
    full name or e-mail), without a model instance per option. Checking a submitted choice still
    goes through the field's queryset."""
    tier = form.fields["tier"]
    tier.choices = [("", tier.empty_label), *options.tiers]
    manager = form.fields["channel_account_manager"]
    manager.choices = [("", manager.empty_label), *options.managers]


def filter_form(data: Any, options: FilterOptions) -> PartnerFilterForm:
    """The list's filter form over ``data`` (None: unbound), its selects' options made as the page
    shows them."""
    form = PartnerFilterForm(data)
    _fixed_choices(form)
    _model_choices(form, options)
    return form


# The filter form's HTML (templates/jinja2/partners/vendor_partner_list_filters.html) as written
# for a key of everything it depends on: the language, the list's URL, whether the form is bound,
# the raw value of each field as submitted, and the tier and manager options (their keys and
# names, read on every request: a tier or a manager added, renamed or deactivated is a new key at
# once, in every process). A search's free text is not kept (its forms are written each time).
# Making the form (a deep copy of six fields) and rendering its six selects was a fifth of the
# page's CPU.
FILTERS_HTML_KEPT = 512
_FILTERS_HTML: Kept[tuple, str] = Kept(FILTERS_HTML_KEPT)
FILTER_FIELDS = tuple(PartnerFilterForm.base_fields)


def filters_html(request: HttpRequest, form: PartnerFilterForm | None, options: FilterOptions) -> SafeString:
    """The filter form, written once per key; ``form``: the bound form, None for no filters."""
    submitted = tuple(request.GET.get(name) for name in FILTER_FIELDS) if form is not None else ()
    key = (translation.get_language(), page_url("vendor:partner_list"), submitted, options)
    html = _FILTERS_HTML.get(key)
    if html is None:
        if form is None:
            form = filter_form(None, options)
        template = engines["jinja2"].get_template("partners/vendor_partner_list_filters.html")
        html = template.render({"form": form, "list_url": key[1], "_": kept_gettext}, request=request)
        if not request.GET.get("q"):
            _FILTERS_HTML.keep(key, html)
    return mark_safe(html)  # noqa: S308 -- Jinja2 autoescaped every value


@vendor_required
def partner_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    planner = _list_planner(actor, request.GET)
    options = filter_options(actor, planner)
    # Bound to what was submitted; without any query, no form is made unless its HTML is not kept.
    form = filter_form(request.GET, options) if request.GET else None
    values = partner_list_values(form.filters() if form is not None else {})
    try:
        page = PartnerListPaginator(actor, values, PAGE_SIZE, planner).get_page(request.GET.get("page"))
    finally:
        planner.__exit__(None, None, None)  # sets them back unless the first page's read did
    # One CSRF token for the page: the export form in the body and the layout's (hx-headers, the
    # sign-out form) print the same one, where each made its own before (a masking each).
    csrf_token = get_token(request)
    context = {
        # For whoever reads the page's context (the markup test renders the old template with it).
        "form": form if form is not None else SimpleLazyObject(lambda: filter_form(None, options)),
        "page": page,
        "querystring": querystring_without_page(request),
        # Called where the page prints its rows.
        "rows": lambda: partner_rows_html(page.object_list),
        "csrf_token": csrf_token,
    }
    # The body through Jinja2 (templates/jinja2/partners/vendor_partner_list_body.html): through
    # Django's engine its nodes were a third of the page's CPU. The Django page is the layout.
    body = engines["jinja2"].get_template("partners/vendor_partner_list_body.html")
    values = {
        **context,
        "filters": filters_html(request, form, options),
        "may_import": actor.vendor_role == VendorRole.PROGRAM_ADMIN,
        "pagination": pagination,  # prm/templatetags/prm_pagination.py: markup built in Python
        "_": kept_gettext,
        "url": page_url,  # the body's URLs take no arguments: reversed once per process
        "csrf_input": format_html(CSRF_INPUT, csrf_token),
    }
    # Without the request: the backend would add a csrf_input of its own (another token).
    context["body"] = mark_safe(body.render(values))  # noqa: S308 -- Jinja2 autoescaped every value
    return render(request, "partners/vendor/partner_list.html", context)


# A row of the list, as templates/partners/vendor/partner_list.html wrote it (every value escaped
# before it is put in).
_ROW = """
            <tr>
              <td><a class="fw-semibold text-decoration-none" href="{detail_url}">{name}</a>
                <a class="ms-1 small text-decoration-none" href="{overview_url}" title="{overview_title}" aria-label="{overview_label}"><i class="bi bi-speedometer2" aria-hidden="true"></i></a>
                {domain}</td>
              <td>{type}</td>
              <td>{country}</td>
              <td>{region}</td>
              <td class="text-nowrap"><span class="badge tier-badge">{tier}</span></td>
              <td><span class="badge status-badge status-{status}">{status_label}</span></td>
              <td>{manager}</td>
              <td class="text-end">{member_count}</td>
            </tr>"""  # noqa: E501

# The rows' texts by language: the choice labels, the column texts and the country names (a
# lazy translation each, looked up anew on every page before), escaped once. Translations do not
# change while a process runs.
_ROW_TEXTS: dict[str | None, dict[str, Any]] = {}
# Stands for the partner's name in the "Partner 360 of …" label, split around it once per language.
_NAME = "\ue000"


def _row_texts() -> dict[str, Any]:
    language = translation.get_language()
    texts = _ROW_TEXTS.get(language)
    if texts is None:
        # What Markup's % wrote with the name (escaped into it), around the name.
        label = Markup(_("Partner 360 of %(name)s")) % {"name": _NAME}  # noqa: S704 -- our msgid
        texts = {
            "types": _labels(PartnerType.choices),
            "regions": _labels(Region.choices),
            "statuses": _labels(PartnerStatus.choices),
            "overview_title": escape(_("Partner 360")),
            "overview_label": tuple(str(label).split(_NAME, 1)),
            "unassigned": escape(_("Unassigned")),
            "countries": {},
        }
        _ROW_TEXTS[language] = texts
    return texts


def _escaped(text: str) -> str:
    """``markupsafe.escape(text)`` of a ``str`` (the same five entities, in its order), without
    the Markup object: five to nine values a row, 25 rows a page."""
    return (
        text.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def _url_parts(name: str) -> tuple[str, str]:
    """The URL of ``name`` for any key, escaped, around the key (digits need no escaping)."""
    url = url_with_pk(name)
    return _escaped(url.before), _escaped(url.after)


def partner_rows_html(partners: Iterable[VendorPartnerRow]) -> SafeString:
    """The list's ``<tr>`` rows, written in Python with the markup Django's template made (the
    markup test compares them with it). Through a template, even Jinja2's, the 25 rows were a third
    of the page's CPU: a call, a lookup and an escape per cell. Every value is escaped here."""
    texts = _row_texts()
    types, regions, statuses, countries = (
        texts["types"],
        texts["regions"],
        texts["statuses"],
        texts["countries"],
    )
    overview_title, (label_before, label_after), unassigned = (
        texts["overview_title"],
        texts["overview_label"],
        texts["unassigned"],
    )
    detail_before, detail_after = _url_parts("vendor:partner_detail")
    overview_before, overview_after = _url_parts("vendor:partner_360")
    parts = []
    for row in partners:
        pk = int(row.pk)
        name = _escaped(row.legal_name)
        country = countries.get(row.country_code)
        if country is None:
            country = countries[row.country_code] = escape(str(Country(code=row.country_code).name))
        domain = (
            f'<div class="small text-body-secondary">{_escaped(row.website_domain)}</div>'
            if row.website_domain
            else ""
        )
        if row.manager_id is not None:
            manager = _escaped(row.manager_full_name or row.manager_email)
        else:
            manager = f'<span class="text-body-secondary">{unassigned}</span>'
        status = _escaped(row.status)
        parts.append(
            _ROW.format(
                detail_url=f"{detail_before}{pk}{detail_after}",
                overview_url=f"{overview_before}{pk}{overview_after}",
                name=name,
                overview_title=overview_title,
                overview_label=f"{label_before}{name}{label_after}",
                domain=domain,
                type=types.get(row.partner_type) or _escaped(row.partner_type),
                country=country,
                region=regions.get(row.region) or _escaped(row.region),
                tier=_escaped(row.tier_name),
                status=status,
                status_label=statuses.get(row.status) or status,
                manager=manager,
                member_count=int(row.member_count),
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above


def _labels(choices: Iterable[tuple[Any, Any]]) -> dict[Any, str]:
    """A field's choices as value -> label, translated and escaped now (once per language)."""
    return {value: escape(str(label)) for value, label in choices}


_CHOOSER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


@vendor_required
def partner_suggest(request: HttpRequest) -> HttpResponse:
    """The partner chooser's htmx endpoint (partners.forms.PartnerChooser): up to 20 partners of
    the actor's scope matching what was typed, or, with ``pick``, the chooser with that partner
    chosen. A CAM is offered only the portfolio; a pick outside it is a 404."""
    field = request.GET.get("field", "partner")
    chooser = request.GET.get("chooser", f"id_{field}-chooser")
    if not _CHOOSER_NAME.match(field) or not _CHOOSER_NAME.match(chooser):
        raise Http404
    status = request.GET.get("status", "")
    status = status if status in PartnerStatus.values else ""
    actor = request.actor
    if pick := request.GET.get("pick"):
        partner = (
            selectors.partner_choices(actor=actor, status=status).filter(pk=pick).first()
            if pick.isdigit()
            else None
        )
        if partner is None:
            raise Http404
        widget = {
            "name": field,
            "text_name": field + PartnerChooser.TEXT_SUFFIX,
            "pk": partner.pk,
            "text": partner.legal_name,
            "chooser_id": chooser,
            "status": status,
            "input_id": chooser.removesuffix("-chooser"),
        }
        return render(request, PartnerChooser.template_name, {"widget": widget})
    query = request.GET.get(field + PartnerChooser.TEXT_SUFFIX, "")[:200]
    partners = selectors.partner_suggestions(actor=actor, query=query, status=status)
    return render(
        request,
        "partners/_partner_suggestions.html",
        {"partners": partners, "query": query, "field": field, "chooser": chooser, "status": status},
    )


@vendor_required
def partner_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "partners.partners")


@vendor_required
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    history = paginate(request, selectors.partner_history(actor=actor, partner=partner), per_page=20)
    may_manage_portfolio = partner_policy.can(actor, "manage_portfolio", partner)
    holders = list(selectors.portfolio_holders(actor=actor, partner=partner))
    grant_form = PortfolioGrantForm()
    grant_form.fields["manager"].queryset = grant_form.fields["manager"].queryset.exclude(
        pk__in=[holder.pk for holder in holders]
    )
    return render(
        request,
        "partners/vendor/partner_detail.html",
        {
            "partner": partner,
            # Scorecards hold money figures: the button only for roles that may open one.
            "sees_scorecard": snapshot_policy.can(actor, "rank"),
            "members": selectors.team_list(actor=actor, partner=partner),
            "invitations": selectors.open_invitations(actor=actor, partner=partner),
            "history": history,
            "status_form": StatusChangeForm(),
            "status_actions": allowed_status_actions(partner),
            "manager_form": ChannelManagerForm(
                initial={"channel_account_manager": partner.channel_account_manager_id}
            ),
            "tier_form": TierForm(initial={"tier": partner.tier_id}),
            "may_change_status": partner_policy.can(actor, "change_status", partner),
            # The partner's entry in the public locator (partners.locator): who may edit its profile.
            "may_edit_listing": partner_policy.can(actor, "edit_profile", partner),
            "may_assign_manager": partner_policy.can(actor, "assign_channel_manager", partner),
            "may_change_tier": partner_policy.can(actor, "change_tier", partner),
            "may_manage_portfolio": may_manage_portfolio,
            "profile_changes": _with_decision_rights(
                actor, selectors.profile_change_list(actor=actor, partner=partner)[:5]
            ),
            "reject_form": ReasonForm(),
            "portfolio_holders": holders,
            "portfolio_form": grant_form,
            "tiers": Tier.objects.order_by("rank"),
        },
    )


# Console action name -> the status it leads to (services enforce the same transitions).
STATUS_ACTION_TARGETS = {
    "onboarding": PartnerStatus.ONBOARDING,
    "activate": PartnerStatus.ACTIVE,
    "suspend": PartnerStatus.SUSPENDED,
    "reinstate": PartnerStatus.ACTIVE,
    "terminate": PartnerStatus.TERMINATED,
}


def allowed_status_actions(partner) -> list[tuple[str, str]]:
    """The (action, label) pairs the partner's current status allows, from PARTNER_TRANSITIONS."""
    allowed = PARTNER_TRANSITIONS[partner.status]
    actions = []
    for action, label in StatusChangeForm.ACTIONS:
        if STATUS_ACTION_TARGETS[action] not in allowed:
            continue
        if action == "reinstate" and partner.status != PartnerStatus.SUSPENDED:
            continue
        if action == "activate" and partner.status == PartnerStatus.SUSPENDED:
            continue
        actions.append((action, label))
    return actions


@require_POST
@vendor_required
def partner_change_status(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a status change."))
        return redirect("vendor:partner_detail", pk=partner.pk)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]

    def change_status() -> Partner:
        if action == "onboarding":
            return services.partner_start_onboarding(actor=actor, partner=partner)
        if action == "activate":
            return services.partner_activate(actor=actor, partner=partner)
        if action == "suspend":
            return services.partner_suspend(actor=actor, partner=partner, reason=reason)
        if action == "reinstate":
            return services.partner_reinstate(actor=actor, partner=partner)
        return services.partner_terminate(actor=actor, partner=partner, reason=reason)

    done, _result = attempt(request, change_status)
    if done:
        messages.success(request, _("Status updated."))
    return redirect("vendor:partner_detail", pk=partner.pk)


@require_POST
@vendor_required
def partner_assign_manager(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    form = ChannelManagerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a channel account manager."))
    else:
        done, _result = attempt(
            request,
            lambda: services.partner_assign_channel_manager(
                actor=actor, partner=partner, manager=form.cleaned_data["channel_account_manager"]
            ),
        )
        if done:
            messages.success(request, _("Channel account manager updated."))
    return redirect("vendor:partner_detail", pk=partner.pk)


@require_POST
@vendor_required
def partner_change_tier(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    form = TierForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a tier."))
    else:
        done, _result = attempt(
            request,
            lambda: services.partner_change_tier(
                actor=actor,
                partner=partner,
                tier=form.cleaned_data["tier"],
                reason=form.cleaned_data["reason"],
            ),
        )
        if done:
            messages.success(request, _("Tier updated."))
    return redirect("vendor:partner_detail", pk=partner.pk)


@require_POST
@vendor_required
def partner_portfolio_grant(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    form = PortfolioGrantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an active channel account manager."))
    else:
        manager = form.cleaned_data["manager"]
        done, _result = attempt(
            request, lambda: services.portfolio_grant(actor=actor, partner=partner, manager=manager)
        )
        if done:
            messages.success(
                request,
                _("%(user)s can now work %(partner)s.") % {"user": manager, "partner": partner.legal_name},
            )
    return redirect(f"{reverse('vendor:partner_detail', args=[partner.pk])}#portfolio-card")


@require_POST
@vendor_required
def partner_portfolio_revoke(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    manager = selectors.portfolio_holders(actor=actor, partner=partner).filter(pk=user_pk).first()
    if manager is None:
        raise Http404
    done, _result = attempt(
        request, lambda: services.portfolio_revoke(actor=actor, partner=partner, manager=manager)
    )
    if done:
        messages.success(
            request,
            _("%(user)s no longer works %(partner)s.") % {"user": manager, "partner": partner.legal_name},
        )
    return redirect(f"{reverse('vendor:partner_detail', args=[partner.pk])}#portfolio-card")


# --- Profile change requests (type, country, region) ---------------------------------------------
def _with_decision_rights(
    actor: Actor, changes: Iterable[ProfileChangeRequest]
) -> list[ProfileChangeRequest]:
    """The requests, each marked with whether ``actor`` may decide it. Lists are scoped to a
    manager's portfolio already, so the role answers what the policy's per-row check
    (profile_change_policy "decide") would, without a query per row; the service checks again."""
    deciders = {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}
    changes = list(changes)
    for change in changes:
        change.may_decide = actor.vendor_role in deciders and change.status == ProfileChangeStatus.PENDING
    return changes


PROFILE_CHANGE_TABS = [
    ("pending", gettext_lazy("Awaiting review")),
    ("decided", gettext_lazy("Decided")),
    ("all", gettext_lazy("All")),
]


@vendor_required
def profile_change_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    tab = request.GET.get("status", "pending")
    if tab not in dict(PROFILE_CHANGE_TABS):
        tab = "pending"
    changes = selectors.profile_change_list(actor=actor)
    if tab == "pending":
        changes = changes.filter(status=ProfileChangeStatus.PENDING)
    elif tab == "decided":
        changes = changes.exclude(status=ProfileChangeStatus.PENDING)
    page = paginate(request, changes)
    page.object_list = _with_decision_rights(actor, page.object_list)
    return render(
        request,
        "partners/vendor/profile_change_list.html",
        {
            "page": page,
            "status": tab,
            "tabs": PROFILE_CHANGE_TABS,
            "querystring": querystring_without_page(request),
            "reject_form": ReasonForm(),
        },
    )


def _after_decision(request: HttpRequest, change: ProfileChangeRequest) -> HttpResponse:
    # Decisions are made from the list and from the partner's page; go back to where it was made.
    if request.POST.get("from") == "partner":
        return redirect(f"{reverse('vendor:partner_detail', args=[change.partner_id])}#profile-changes")
    return redirect("vendor:profile_change_list")


@require_POST
@vendor_required
def profile_change_approve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    change = selectors.profile_change_get(actor=actor, pk=pk)
    done, _result = attempt(
        request, lambda: services.profile_change_approve(actor=actor, change_request=change)
    )
    if done:
        messages.success(
            request,
            _("%(partner)s's type, country and region are updated; its admin was told.")
            % {"partner": change.partner.legal_name},
        )
    return _after_decision(request, change)


@require_POST
@vendor_required
def profile_change_reject(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    change = selectors.profile_change_get(actor=actor, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tell the partner why the change is rejected."))
        return _after_decision(request, change)
    done, _result = attempt(
        request,
        lambda: services.profile_change_reject(
            actor=actor, change_request=change, reason=form.cleaned_data["reason"]
        ),
    )
    if done:
        messages.success(
            request,
            _("Change request from %(partner)s rejected; its admin was told why.")
            % {"partner": change.partner.legal_name},
        )
    return _after_decision(request, change)


@vendor_required
def application_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    status = request.GET.get("status", ApplicationStatus.SUBMITTED)
    if status not in ApplicationStatus.values and status != "all":
        status = ApplicationStatus.SUBMITTED
    applications = selectors.application_list(actor=actor, status="" if status == "all" else status)
    return render(
        request,
        "partners/vendor/application_list.html",
        {
            "page": paginate(request, applications),
            "status": status,
            "statuses": ApplicationStatus.choices,
            "querystring": querystring_without_page(request),
            "may_review": application_policy.can(actor, "review"),
        },
    )


@vendor_required
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    application = selectors.application_get(actor=actor, pk=pk)
    return render(
        request,
        "partners/vendor/application_detail.html",
        {
            "application": application,
            "reject_form": ReasonForm(),
            "tiers": Tier.objects.order_by("rank"),
            "may_review": application_policy.can(actor, "review", application),
            "existing_account": selectors.application_existing_account(actor=actor, application=application),
            "history": audit.history_for(target=application),
        },
    )


@require_POST
@vendor_required
def application_approve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    application = selectors.application_get(actor=actor, pk=pk)
    tier = Tier.objects.filter(pk=request.POST.get("tier") or 0).first()
    done, partner = attempt(
        request, lambda: services.application_approve(actor=actor, application=application, tier=tier)
    )
    if not done:
        return redirect("vendor:application_detail", pk=application.pk)
    messages.success(
        request,
        _("%(partner)s approved; %(email)s was invited as its partner admin.")
        % {"partner": partner.legal_name, "email": application.contact_email},
    )
    return redirect("vendor:partner_detail", pk=partner.pk)


@require_POST
@vendor_required
def application_reject(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    application = selectors.application_get(actor=actor, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the applicant a reason for the rejection."))
        return redirect("vendor:application_detail", pk=application.pk)
    done, _result = attempt(
        request,
        lambda: services.application_reject(
            actor=actor, application=application, reason=form.cleaned_data["reason"]
        ),
    )
    if not done:
        return redirect("vendor:application_detail", pk=application.pk)
    messages.success(request, _("Application rejected; the applicant was told why."))
    return redirect("vendor:application_list")


@vendor_required
def partner_import(request: HttpRequest) -> HttpResponse:
    from . import imports
    from .forms import PartnerImportForm

    actor = request.actor
    if actor.vendor_role != VendorRole.PROGRAM_ADMIN:
        messages.error(request, _("Only program admins import partners."))
        return redirect("vendor:partner_list")
    form = PartnerImportForm(request.POST or None, request.FILES or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            content = form.cleaned_data["file"].read()
            done, result = attempt(
                request, lambda: imports.partner_import_csv(actor=actor, content=content), form=form
            )
            if not done:
                result = None
        if result is not None and not result.errors:
            count = len(result.created)
            messages.success(
                request,
                ngettext(
                    "%(count)s partner imported in onboarding; its admin was invited by e-mail.",
                    "%(count)s partners imported in onboarding; their admins were invited by e-mail.",
                    count,
                )
                % {"count": count},
            )
            return redirect(f"{reverse('vendor:partner_list')}?status=onboarding")
        status = 400
    return render(
        request,
        "partners/vendor/partner_import.html",
        {
            "form": form,
            "result": result,
            "columns": imports.COLUMNS,
            "sample": imports.SAMPLE,
            "max_rows": imports.MAX_ROWS,
        },
        status=status,
    )
