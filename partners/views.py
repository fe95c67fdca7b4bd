"""Partner-side and public pages. Thin: parse input, call a selector or a service, render."""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.messages import get_messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.template.backends.utils import csrf_input
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, formats, timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_POST
from markupsafe import Markup

from prm.errors import attempt
from prm.jinja2 import render_page, url_with_pk
from prm.kept import Kept
from prm.markup import escape
from prm.templatetags.prm_pagination import pagination
from prm.views import PAGE_SIZE, partner_required, start_export

from . import selectors, services
from .forms import (
    CompanyProfileForm,
    InvitationAcceptForm,
    InviteForm,
    LogoForm,
    PartnerApplicationForm,
    ProfileChangeForm,
    RoleForm,
)
from .home_reads import home_reads
from .home_render import choice_labels, gettext_callables, home_url
from .models import VENDOR_CONTROLLED_FIELDS, PartnerRole, PartnerStatus, PartnerType
from .panels import app_panels, home_cache_prefetch, home_cached
from .performance import tier_selectors
from .policies import partner_policy
from .ratelimit import hit_rate_limit


def home(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if actor.is_vendor:
        return redirect("vendor:dashboard")
    if not actor.is_partner:
        if request.user.is_authenticated:
            return render(request, "partners/no_access.html", status=403)
        return render(request, "partners/landing.html")
    partner = actor.partner
    # What the home keeps for its minute (panels, tier figures): one Redis round trip for all.
    home_cache_prefetch(request)
    # The team card and the support panel's cases: one statement (partners.home_reads).
    reads = home_reads(actor, now=timezone.now())
    team, team_count, invitations, has_totp = (
        reads.team,
        reads.team_count,
        reads.open_invitations,
        reads.has_totp,
    )
    request.home_case_rows = reads.case_rows  # type: ignore[attr-defined] -- for the support panel
    next_steps = []
    if actor.partner_role == PartnerRole.ADMIN:
        if not partner.logo:
            next_steps.append(
                {
                    "title": _("Upload your company logo"),
                    "url": home_url("partners:company"),
                    "why": _("It appears on co-branded content and your partner listing."),
                }
            )
        if team_count < 2 and not invitations:
            next_steps.append(
                {
                    "title": _("Invite your team"),
                    "url": home_url("partners:team"),
                    "why": _("Sales and marketing colleagues register deals and request funds."),
                }
            )
        if not partner.website_domain or not partner.phone:
            next_steps.append(
                {
                    "title": _("Complete your company profile"),
                    "url": home_url("partners:company"),
                    "why": _("The vendor uses it to route leads to you."),
                }
            )
    if not has_totp:
        next_steps.append(
            {
                "title": _("Turn on two-factor authentication"),
                "url": home_url("mfa_index"),
                "why": _("Protect your company's deals and funds with a second factor."),
            }
        )
    panels = app_panels("partner_home_panel", request)
    for panel in panels:
        next_steps.extend(panel.get("next_steps", []))
    # The nightly figures against the tiers: kept a minute per partner, tier, role and language.
    tier_progress = home_cached(
        request, "tier", lambda: tier_selectors.tier_progress(actor=actor, partner=partner), partner=partner
    )
    context = {
        "partner": partner,
        "team": team,
        "team_count": team_count,
        "open_invitations": invitations,
        "next_steps": next_steps,
        "panels": panels,
        "tier_progress": tier_progress,
    }
    return render_page(request, "partners/home.html", _home_values(request, context))


def _panel_html(
    request: HttpRequest, panel: dict[str, Any], gettext: dict[str, Any] | None = None
) -> SafeString:
    """A home panel's markup: by Jinja2 where the panel names a Jinja2 template
    (``jinja2_template``), else its Django ``template``, kept for the home's minute
    (partners.panels.home_cached) when its data are kept so too (``html_cached_as``: the same
    key's name, so the markup shows exactly the data kept under it)."""
    if panel.get("jinja2_template"):
        html = (
            engines["jinja2"]
            .get_template(panel["jinja2_template"])
            .render({"panel": panel, **(gettext or gettext_callables())})
        )
        return mark_safe(html)  # noqa: S308 -- Jinja2 autoescaped every value (prm/jinja2.py)
    cached_as = panel.get("html_cached_as")
    if cached_as and not settings.DEBUG:
        return mark_safe(  # noqa: S308 -- a Django template's output
            home_cached(
                request, f"{cached_as}:html", lambda: render_to_string(panel["template"], {"panel": panel})
            )
        )
    return render_to_string(panel["template"], {"panel": panel})


def _home_values(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """What the home's page (templates/jinja2/partners/home.html, a page written in Jinja2: through
    Django's engine the body and its panels were about 2 ms of the page, and the Django frame
    around the Jinja2 body another fraction) prints, beside ``context``. The tier progress is the
    HTML the home keeps for its minute, as the {% home_cached %} tag kept it."""
    partner = context["partner"]

    def tier_html() -> str:
        return render_to_string(
            "partners/_tier_progress.html", {"progress": context["tier_progress"], "partner": partner}
        )

    def tier_progress_html() -> SafeString:
        if settings.DEBUG:
            return mark_safe(tier_html())  # noqa: S308 -- a Django template's output
        return mark_safe(home_cached(request, "tier:html", tier_html, partner=partner))  # noqa: S308 -- as above

    # The templates' messages translated once per process and language (partners.home_render).
    gettext = gettext_callables()
    return {
        **context,
        "short_name": request.user.get_short_name(),
        "company_url": home_url("partners:company"),
        "team_url": home_url("partners:team"),
        "role_labels": choice_labels(PartnerRole),
        # The partner's status and type as get_FOO_display() shows them, without translating
        # every label of the field's choices on each call (as its lookup does).
        "status_labels": choice_labels(PartnerStatus),
        "type_labels": choice_labels(PartnerType),
        # Rendered where the page prints them, after the page's own template has begun (as the
        # Django page rendered its parts).
        "panels_html": lambda: [_panel_html(request, panel, gettext) for panel in context["panels"]],
        "tier_progress_html": tier_progress_html,
        **gettext,
    }


# --- Agreement ---------------------------------------------------------------------------------
def agreement(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not actor.is_partner:
        return redirect("home")
    partner = actor.partner
    may_accept = partner_policy.can(actor, "accept_agreement", partner)
    if request.method == "POST":
        if not request.POST.get("accept"):
            messages.error(request, _("Tick the box to accept the agreement."))
        else:
            done, _result = attempt(
                request, lambda: services.partner_accept_agreement(actor=actor, partner=partner)
            )
            if done:
                messages.success(request, _("Thank you. Welcome to the partner program!"))
                return redirect("home")
    if partner.agreement_is_current and request.method == "GET":
        return redirect("home")
    return render(
        request,
        "partners/agreement.html",
        {
            "partner": partner,
            "may_accept": may_accept,
            "version": settings.PRM["PARTNER_AGREEMENT_VERSION"],
        },
    )


# --- Company profile --------------------------------------------------------------------------
# The company page's form fields: (name, the wrapper's extra classes), as its template placed them.
_PROFILE_FIELDS = (
    ("legal_name", "col-md-6"),
    ("website_domain", "col-md-6"),
    ("phone", "col-md-6"),
    ("contact_email", "col-md-6"),
)
_CHANGE_FIELDS = (
    ("partner_type", "col-md-4"),
    ("country", "col-md-4"),
    ("region", "col-md-4"),
    ("message", ""),
)

# Per process: the fields of an unbound form by form, language and values shown. They are the same
# markup for every view of the page until the partner's profile changes (the key then changes):
# rendering them (the 250 countries' select, lazy labels, widgets) was a quarter of the page.
FIELDS_KEPT = 1024
_fields_kept: Kept[tuple, dict[str, SafeString]] = Kept(FIELDS_KEPT)


def _value_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, str(value))


def _fields_html(form: Any, layout: tuple[tuple[str, str], ...]) -> dict[str, SafeString]:
    """Each field of ``layout`` as ``{% include "includes/field.html" with field=… class=… %}``
    printed it (the same template renders it), by name; kept for an unbound form."""
    key = None
    if not form.is_bound:
        values = tuple((name, extra, _value_key(form[name].value())) for name, extra in layout)
        key = (type(form), translation.get_language(), values)
        kept = _fields_kept.get(key)
        if kept is not None:
            return kept
    template = engines["django"].get_template("includes/field.html")
    html = {
        name: template.render({"field": form[name], "class": extra} if extra else {"field": form[name]})
        for name, extra in layout
    }
    if key is not None:
        _fields_kept.keep(key, html)
    return html


# The company page's fixed texts (its template's {% translate %} tags, whose every use looked the
# message up again: a tenth of the page), translated once per language and process.
_COMPANY_TEXTS = {
    "company_profile": gettext_lazy("Company profile"),
    "how_your_company_appears": gettext_lazy("How your company appears to the vendor and in lead routing."),
    "profile": gettext_lazy("Profile"),
    "save_changes": gettext_lazy("Save changes"),
    "legal_name": gettext_lazy("Legal name"),
    "type": gettext_lazy("Type"),
    "country": gettext_lazy("Country"),
    "region": gettext_lazy("Region"),
    "website_domain": gettext_lazy("Website domain"),
    "phone": gettext_lazy("Phone"),
    "contact_e_mail": gettext_lazy("Contact e-mail"),
    "only_your_partner_admin": gettext_lazy("Only your partner admin can change the company profile."),
    "type_country_and_region": gettext_lazy("Type, country and region"),
    "set_by_the_vendor": gettext_lazy(
        "Set by the vendor: they decide which content and which leads reach you."
    ),
    "your_channel_account_manager": gettext_lazy(
        "Your channel account manager decides; you will get a notification with the answer."
    ),
    "reason": gettext_lazy("Reason:"),
    "ask_for_a_change": gettext_lazy("Ask for a change"),
    "send_the_request": gettext_lazy("Send the request"),
    "your_partner_admin_can": gettext_lazy("Your partner admin can ask the vendor for a change."),
    "recent_changes": gettext_lazy("Recent changes"),
    "no_changes_recorded_yet": gettext_lazy(
        "No changes recorded yet. Edits to your profile, team and status will be listed here."
    ),
    "logo": gettext_lazy("Logo"),
    "no_logo_uploaded_yet": gettext_lazy("No logo uploaded yet."),
    "a_square_or_wide": gettext_lazy(
        "A square or wide image on a transparent or white background works best."
    ),
    "upload_logo": gettext_lazy("Upload logo"),
    "partner_locator": gettext_lazy("Partner locator"),
    "list_your_company_in": gettext_lazy(
        "List your company in the public partner locator so end customers can find you and send you "
        "enquiries, which reach you as leads."
    ),
    "edit_your_listing": gettext_lazy("Edit your listing"),
    "your_partner_admin_keeps": gettext_lazy("Your partner admin keeps the listing."),
    "partner_agreement": gettext_lazy("Partner agreement"),
    "version": gettext_lazy("Version"),
    "accepted_by": gettext_lazy("Accepted by"),
    "accepted_on": gettext_lazy("Accepted on"),
    "the_partner_program_agreement": gettext_lazy("The partner program agreement has not been accepted yet."),
}
_company_texts_kept: dict[str | None, dict[str, str]] = {}


def _company_texts() -> dict[str, str]:
    language = translation.get_language()
    texts = _company_texts_kept.get(language)
    if texts is None:
        texts = {name: str(text) for name, text in _COMPANY_TEXTS.items()}
        if len(_company_texts_kept) < 64:
            _company_texts_kept[language] = texts
    return texts


# Per process: the recent changes' markup by language, time zone, partner role and events. Audit
# events never change (the database refuses UPDATE and DELETE on them) and what of them a role sees
# is the role's (partners.history.redact): the same events print the same markup for every view.
HISTORIES_KEPT = 1024
_histories_kept: Kept[tuple, SafeString] = Kept(HISTORIES_KEPT)


def _history_html(actor: Any, history: list[Any]) -> SafeString:
    """The company page's recent changes as templates/partners/_company_history.html prints them
    (the loop the page's template had): each event's row, date and changes cost a tenth of the page."""
    if not history:
        return mark_safe("")
    key = (
        translation.get_language(),
        timezone.get_current_timezone_name(),
        actor.partner_role,
        tuple(event.pk for event in history),
    )
    html = _histories_kept.get(key)
    if html is None:
        html = mark_safe(render_to_string("partners/_company_history.html", {"history": history}))  # noqa: S308 -- the template escaped every value
        _histories_kept.keep(key, html)
    return html


def _company_context(
    request: HttpRequest,
    partner: Any,
    form: CompanyProfileForm | None = None,
    change_form: ProfileChangeForm | None = None,
) -> dict:
    actor = request.actor
    form = form or CompanyProfileForm(instance=partner)
    change_form = change_form or ProfileChangeForm(
        initial={name: getattr(partner, name) for name in VENDOR_CONTROLLED_FIELDS}
    )
    may_edit = partner_policy.can(actor, "edit_profile", partner)
    may_request_change = partner_policy.can(actor, "request_profile_change", partner)
    profile_change = selectors.company_profile_change(actor=actor, partner=partner)
    history = selectors.company_history(actor=actor, partner=partner)
    asks = may_request_change and (profile_change is None or profile_change.status != "pending")
    return {
        "partner": partner,
        "form": form,
        # The fields the page shows (as the template's conditions show them).
        "fields": _fields_html(form, _PROFILE_FIELDS) if may_edit else {},
        "change_fields": _fields_html(change_form, _CHANGE_FIELDS) if asks else {},
        "logo_form": LogoForm(),
        "may_edit": may_edit,
        "may_request_change": may_request_change,
        "profile_change": profile_change,
        "change_form": change_form,
        "texts": _company_texts(),
        "history": history,
        "history_html": _history_html(actor, history),
        # What the apps above contribute (deals: the product authorizations and what each needs).
        "panels": app_panels("company_panel", request, partner=partner),
    }


@partner_required
def company(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    # To show: the actor's partner (with its tier), as fresh as reading it again (the actor cache's
    # version moves with any write to the partner or its tier, partners.actor_cache) and as
    # visible (the gates let no one in whose partner they may not see). To change: read through
    # the policy, as every write starts.
    partner = (
        actor.partner if request.method == "GET" else selectors.partner_get(actor=actor, pk=actor.partner_id)
    )
    if partner.agreement_accepted_by_id == request.user.pk:
        # The page names who accepted the agreement: most often the admin looking (no read).
        partner.agreement_accepted_by = request.user
    form = None
    if request.method == "POST":
        if not partner_policy.can(actor, "edit_profile", partner):
            raise Http404
        form = CompanyProfileForm(request.POST)
        if form.is_valid():
            done, _result = attempt(
                request,
                lambda: services.partner_update_profile(actor=actor, partner=partner, data=form.cleaned_data),
                form=form,
            )
            if done:
                messages.success(request, _("Company profile saved."))
                return redirect("partners:company")
    return render(
        request,
        "partners/company.html",
        _company_context(request, partner, form=form),
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@partner_required
def company_profile_change(request: HttpRequest) -> HttpResponse:
    """A partner admin asks the vendor to change the partner's type, country or region."""
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=actor.partner_id)
    if not partner_policy.can(actor, "request_profile_change", partner):
        raise Http404
    form = ProfileChangeForm(request.POST)
    if form.is_valid():
        data = {name: form.cleaned_data[name] for name in VENDOR_CONTROLLED_FIELDS}
        done, _result = attempt(
            request,
            lambda: services.profile_change_request(
                actor=actor, partner=partner, data=data, message=form.cleaned_data["message"]
            ),
            form=form,
        )
        if done:
            messages.success(
                request, _("Your request was sent to the vendor. You will be notified of the answer.")
            )
            return redirect(f"{reverse('partners:company')}#profile-change")
    return render(
        request, "partners/company.html", _company_context(request, partner, change_form=form), status=400
    )


@require_POST
@partner_required
def company_logo(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=actor.partner_id)
    form = LogoForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a logo file to upload."))
        return redirect("partners:company")
    done, _result = attempt(
        request,
        lambda: services.partner_set_logo(actor=actor, partner=partner, upload=form.cleaned_data["logo"]),
    )
    if done:
        messages.success(request, _("Logo updated."))
    return redirect("partners:company")


def partner_logo(request: HttpRequest, pk: int) -> HttpResponse:
    """Logos are served through the policy like every partner file, never from a public URL."""
    if not request.user.is_authenticated:
        raise Http404
    partner = selectors.partner_get(actor=request.actor, pk=pk)
    if not partner.logo:
        raise Http404
    response = FileResponse(partner.logo.open("rb"), as_attachment=False)
    # Only raster images are ever stored; still, never let the browser guess a type.
    extension = partner.logo.name.rsplit(".", 1)[-1]
    response["Content-Type"] = {
        "png": "image/png",
        "jpg": "image/jpeg",
        "webp": "image/webp",
        "gif": "image/gif",
    }.get(extension, "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- Team --------------------------------------------------------------------------------------
# Members per page: the busiest partner has a hundred people, and one page of all of them was
# 280 KB and 98 ms (p95) on the full data set.
TEAM_PAGE_SIZE = PAGE_SIZE


def _team_page_number(request: HttpRequest) -> str | None:
    """The members' page to show: the ``page`` parameter, or, for the panel an htmx action swaps
    in after a change (a POST to the action's URL), the page the person was on (htmx sends the
    page's URL in HX-Current-URL), so a change on page 3 does not jump back to page 1."""
    number = request.GET.get("page")
    if number is None and getattr(request, "htmx", False) and request.htmx.current_url:
        number = parse_qs(urlsplit(request.htmx.current_url).query).get("page", [None])[0]
    return number


def _team_context(request: HttpRequest, invite_form: InviteForm | None = None) -> dict:
    actor = request.actor
    partner = actor.partner
    # The columns the rows print, a page at a time, as rows of kept statements (count and page).
    members = selectors.team_members(actor=actor, partner=partner)
    page = Paginator(members, TEAM_PAGE_SIZE).get_page(_team_page_number(request))
    return {
        "partner": partner,
        "page": page,
        "members": page.object_list,
        "invitations": selectors.open_invitation_rows(actor=actor, partner=partner),
        "may_manage": partner_policy.can(actor, "manage_team", partner),
        "invite_form": invite_form or InviteForm(),
        "roles": PartnerRole.choices,
    }


def _sentence(translated: str) -> Markup:
    """A translated sentence with ``%(name)s`` placeholders as ``{% blocktranslate %}`` wrote it:
    the sentence as it is, each value escaped into it (``Markup.__mod__``)."""
    return Markup(translated)  # noqa: S704 -- the translation of our own msgid, not input


def _isoformat(value: Any) -> str:
    """Django's ``|date:"c"``: the moment in the current time zone, in ISO 8601."""
    return timezone.localtime(value).isoformat()


_SELECTED = " selected"
_DEACTIVATED_ROW = ' class="text-body-secondary"'


class _MemberTexts(NamedTuple):
    """What every member row of a language prints alike: labels, badges, sentences, role options."""

    role_labels: dict[str, str]
    role_options: dict[str, str]
    label_email: str
    label_role: str
    label_status: str
    label_joined: str
    you: str
    role_of: str
    deactivate_confirm: str
    reactivate_confirm: str
    save: str
    active_badge: str
    inactive_badge: str
    deactivate: str
    reactivate: str


# Per process, by language and roles: the texts are our msgids' translations (catalogues do not
# change while the process runs) and the roles PartnerRole's choices.
_member_texts_kept: dict[tuple, _MemberTexts] = {}


def _member_texts(roles: list[tuple[str, str]]) -> _MemberTexts:
    key = (translation.get_language(), tuple(roles))
    texts = _member_texts_kept.get(key)
    if texts is not None:
        return texts
    you_text, active_text, inactive_text = escape(_("You")), escape(_("Active")), escape(_("Deactivated"))
    texts = _MemberTexts(
        role_labels={value: escape(label) for value, label in roles},
        # A member's role <select>: its options for each role chosen, built once, not per row.
        role_options={
            chosen: "".join(
                f'\n<option value="{escape(value)}"{_SELECTED if value == chosen else ""}>'
                f"{escape(label)}</option>"
                for value, label in roles
            )
            for chosen, _label in roles
        },
        label_email=escape(_("E-mail")),
        label_role=escape(_("Role")),
        label_status=escape(_("Status")),
        label_joined=escape(_("Joined")),
        you=f'<span class="badge text-bg-light border">{you_text}</span>',
        role_of=_("Role of %(name)s"),
        deactivate_confirm=_("Deactivate %(name)s? They will no longer be able to sign in."),
        reactivate_confirm=_("Reactivate %(name)s? They will be able to sign in again."),
        save=escape(_("Save")),
        active_badge=f'<span class="badge status-badge status-active">{active_text}</span>',
        inactive_badge=f'<span class="badge status-badge status-deactivated">{inactive_text}</span>',
        deactivate=escape(_("Deactivate")),
        reactivate=escape(_("Reactivate")),
    )
    if len(_member_texts_kept) < 64:
        _member_texts_kept[key] = texts
    return texts


# A date format's letters that read only the day (not the time, the zone or the epoch): a day
# printed in such a format is the same string for every moment of that local day.
_DAY_ONLY_LETTERS = frozenset("bdDEFjlLmMnNoStwWyYz")
DAYS_KEPT = 4096
_days_kept: Kept[tuple, str] = Kept(DAYS_KEPT)


def _day_text(moment: Any, day_format: str) -> str:
    """``dateformat.format(moment, day_format)`` escaped, kept per process by language, format and
    local day when the format prints only the day (a member list shows the same days again)."""
    if not set(day_format) <= _DAY_ONLY_LETTERS | set(" ,./-"):
        return escape(dateformat.format(moment, day_format))
    key = (translation.get_language(), day_format, moment.date())
    text = _days_kept.get(key)
    if text is None:
        text = _days_kept.keep(key, escape(dateformat.format(moment, day_format)))
    return text


def _member_rows_html(
    request: HttpRequest, context: dict, roles: list[tuple[str, str]], csrf: SafeString
) -> SafeString:
    """The members' ``<tr>`` rows, the markup of the team panel's template built in Python: through
    Jinja2 a row was some 0.14 ms (30-odd values and four URLs), here a tenth of it. Every value is
    escaped as the templates escape (prm.markup.escape); the sentences are our msgids, translated
    once per language and process (_member_texts); tests/partners/test_team_page.py compares the
    panel with the old template."""
    may_manage = context["may_manage"]
    me = request.user.pk
    role_url = url_with_pk("partners:member_role")
    deactivate_url = url_with_pk("partners:member_deactivate")
    reactivate_url = url_with_pk("partners:member_reactivate")
    texts = _member_texts(roles)
    role_labels, role_options = texts.role_labels, texts.role_options
    label_email, label_role = texts.label_email, texts.label_role
    label_status, label_joined = texts.label_status, texts.label_joined
    you, role_of, save = texts.you, texts.role_of, texts.save
    deactivate_confirm, reactivate_confirm = texts.deactivate_confirm, texts.reactivate_confirm
    active_badge, inactive_badge = texts.active_badge, texts.inactive_badge
    deactivate, reactivate = texts.deactivate, texts.reactivate
    day = formats.get_format("DATE_FORMAT")
    rows = []
    for membership in context["members"]:
        user = membership.user
        pk = int(membership.pk)
        is_me = membership.user_id == me
        active = membership.is_active
        name = escape(user)  # str(user): the full name, else the e-mail (as {{ membership.user }})
        email = escape(user.email)
        if may_manage and active and not is_me:
            url = role_url(pk)
            role_cell = (
                f'<form method="post" action="{url}" class="prm-form d-flex gap-1 align-items-center"'
                f' hx-post="{url}" hx-target="#team-panel" hx-swap="innerHTML" hx-trigger="change">{csrf}'
                f'<label class="visually-hidden" for="role-{pk}">{role_of % {"name": name}}</label>'
                f'<select name="role" id="role-{pk}" class="input-sm" style="min-width:10rem">'
                f"{role_options.get(membership.role, '')}</select>"
                f'<noscript><button type="submit" class="btn btn-sm btn-outline-secondary">{save}</button>'
                "</noscript></form>"
            )
        else:
            # Spaced as the template wrote it (its text node, whitespace collapsed).
            role_cell = f" {role_labels.get(membership.role) or escape(membership.role)} "
        actions = ""
        if may_manage:
            action = ""
            if not is_me:
                if active:
                    url, kind, icon, text = deactivate_url(pk), "danger", "person-dash", deactivate
                    confirm, button_id = deactivate_confirm % {"name": name}, f"deactivate-{pk}"
                else:
                    url, kind, icon, text = reactivate_url(pk), "success", "person-check", reactivate
                    confirm, button_id = reactivate_confirm % {"name": name}, f"reactivate-{pk}"
                action = (
                    f'<form method="post" action="{url}" class="d-inline" hx-post="{url}"'
                    f' hx-target="#team-panel" hx-swap="innerHTML" hx-confirm="{confirm}">{csrf}'
                    f'<button type="submit" class="btn btn-sm btn-outline-{kind}" id="{button_id}">'
                    f'<i class="bi bi-{icon}" aria-hidden="true"></i> {text}</button></form>'
                )
            actions = f'<td class="text-end text-nowrap">{action}</td>'
        joined = timezone.localtime(membership.created_at)
        initial = escape((user.full_name or user.email)[:1].upper())
        rows.append(
            f'<tr id="member-{pk}"{"" if active else _DEACTIVATED_ROW}>'
            '<td><div class="d-flex align-items-center gap-2">'
            f'<span class="prm-avatar" aria-hidden="true">{initial}</span>'
            f'<span class="fw-semibold">{escape(user.full_name or "—")}</span>{you if is_me else ""}'
            "</div></td>"
            f'<td data-label="{label_email}">'
            f'<a href="mailto:{email}" class="link-secondary text-decoration-none">{email}</a></td>'
            f'<td data-label="{label_role}">{role_cell}</td>'
            f'<td data-label="{label_status}">{active_badge if active else inactive_badge}</td>'
            f'<td class="text-nowrap" data-label="{label_joined}"><time datetime="{joined.isoformat()}">'
            f"{_day_text(joined, day)}</time></td>"
            f"{actions}</tr>\n"
        )
    return mark_safe("".join(rows))  # noqa: S308 -- every value escaped above


# The team panel's fixed texts (templates/jinja2/partners/_team_panel.html prints msgs[msgid]): each
# ``_()`` looked its message up again on every view (a tenth of the page); here once per language and
# process, as Jinja2's newstyle ``_()`` returned it (Markup, ``%`` applied).
_PANEL_MSGIDS = (
    gettext_noop("Close"),
    gettext_noop("Invite a colleague"),
    gettext_noop("name@company.com"),
    gettext_noop("Send invitation"),
    gettext_noop(
        "They get an e-mail with a link to set their name and password. The link is valid for a limited time."
    ),
    gettext_noop("Members"),
    gettext_noop("Name"),
    gettext_noop("E-mail"),
    gettext_noop("Role"),
    gettext_noop("Status"),
    gettext_noop("Joined"),
    gettext_noop("Actions"),
    gettext_noop("No team members yet. Invite your first colleague with the form above."),
    gettext_noop("No team members yet. Ask your partner admin to invite colleagues."),
    gettext_noop("Open invitations"),
    gettext_noop("Invited by"),
    gettext_noop("Expires"),
    gettext_noop("Expired"),
    gettext_noop("Resend"),
    gettext_noop("Withdraw"),
    gettext_noop("No open invitations. Invite a colleague above and they will appear here until they join."),
    gettext_noop("No open invitations."),
)
_panel_texts_kept: dict[str | None, dict[str, Markup]] = {}


def _panel_texts() -> dict[str, Markup]:
    language = translation.get_language()
    texts = _panel_texts_kept.get(language)
    if texts is None:
        texts = {msgid: Markup(_(msgid)) % {} for msgid in _PANEL_MSGIDS}  # noqa: S704 -- our msgids' translations
        if len(_panel_texts_kept) < 64:
            _panel_texts_kept[language] = texts
    return texts


def team_panel_html(request: HttpRequest, context: dict) -> SafeString:
    """The team panel (#team-panel), rendered by Jinja2 (templates/jinja2/partners/_team_panel.html):
    through Django's engine its rows were most of the page's time (20 ms for the busiest partner's
    hundred people). Labels are translated and URLs reversed once per panel, not once per row."""
    page = context["page"]
    invite_form = context["invite_form"]
    roles = [(value, str(label)) for value, label in context["roles"]]
    # Once for the panel's every form, as Django's {% csrf_token %} did: the Jinja2 backend's own
    # csrf_input (render with request=) masks a new token at each use.
    csrf = csrf_input(request)
    html = (
        engines["jinja2"]
        .get_template("partners/_team_panel.html")
        .render(
            {
                **context,
                "msgs": _panel_texts(),
                "htmx": bool(getattr(request, "htmx", False)),
                "messages": get_messages(request),
                "me": request.user.pk,
                "member_count": page.paginator.count,
                # The footer only when there is more than one page: a team of one page looks as before.
                "pagination": pagination(page, "") if page.paginator.num_pages > 1 else "",
                "roles": roles,
                "role_labels": dict(roles),
                "member_rows": _member_rows_html(request, context, roles, csrf),
                # The sentences of an invitation's row, translated once (the values escaped into them).
                "texts": {
                    "resend_confirm": _sentence(_("Send the invitation to %(email)s again?")),
                    "revoke_confirm": _sentence(
                        _("Withdraw the invitation to %(email)s? The link in the e-mail will stop working.")
                    ),
                },
                "iso": _isoformat,
                "form_errors": render_to_string("includes/form_errors.html", {"form": invite_form})
                if invite_form.is_bound
                else "",
                "invite_url": reverse("partners:team_invite"),
                "invitation_resend_url": url_with_pk("partners:invitation_resend"),
                "invitation_revoke_url": url_with_pk("partners:invitation_revoke"),
                "csrf_input": csrf,
            }
        )
    )
    return mark_safe(html)  # noqa: S308 -- Jinja2 autoescaped every value (prm/jinja2.py)


def _render_team(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """The team page (``partners/team.html``) or the panel alone (``partners/_team_panel.html``,
    for htmx), each printing the panel Jinja2 rendered."""
    context = {**context, "team_panel": team_panel_html(request, context)}
    return render(request, template, context, status=status)


@partner_required
def team(request: HttpRequest) -> HttpResponse:
    return _render_team(request, "partners/team.html", _team_context(request))


@require_POST
@partner_required
def team_invite(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = InviteForm(request.POST)
    if form.is_valid():
        done, invitation = attempt(
            request,
            lambda: services.invitation_create(
                actor=actor,
                partner=actor.partner,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            ),
            form=form,
        )
        if done:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            if request.htmx:
                return _render_team(request, "partners/_team_panel.html", _team_context(request))
            return redirect("partners:team")
    if request.htmx:
        return _render_team(request, "partners/_team_panel.html", _team_context(request, form))
    return _render_team(request, "partners/team.html", _team_context(request, form), status=400)


def _team_changed(request: HttpRequest) -> HttpResponse:
    """After a change on the team page: the panel again (htmx), or the page."""
    if request.htmx:
        return _render_team(request, "partners/_team_panel.html", _team_context(request))
    return redirect("partners:team")


def _member_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = request.actor
    membership = selectors.membership_get(actor=actor, pk=pk)
    if action == "role":
        form = RoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose one of the partner roles."))
            return _team_changed(request)
        done, _result = attempt(
            request,
            lambda: services.membership_change_role(
                actor=actor, membership=membership, role=form.cleaned_data["role"]
            ),
        )
        success = _("%(name)s's role changed.")
    elif action == "deactivate":
        done, _result = attempt(
            request, lambda: services.membership_deactivate(actor=actor, membership=membership)
        )
        success = _("%(name)s can no longer sign in.")
    else:
        done, _result = attempt(
            request, lambda: services.membership_reactivate(actor=actor, membership=membership)
        )
        success = _("%(name)s is active again.")
    if done:
        messages.success(request, success % {"name": membership.user})
    return _team_changed(request)


@require_POST
@partner_required
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_action(request, pk, "role")


@require_POST
@partner_required
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_action(request, pk, "deactivate")


@require_POST
@partner_required
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_action(request, pk, "reactivate")


def _invitation_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = request.actor
    invitation = selectors.invitation_get(actor=actor, pk=pk)
    if action == "resend":
        done, _result = attempt(
            request, lambda: services.invitation_resend(actor=actor, invitation=invitation)
        )
        success = _("Invitation to %(email)s sent again.")
    else:
        done, _result = attempt(
            request, lambda: services.invitation_revoke(actor=actor, invitation=invitation)
        )
        success = _("Invitation to %(email)s withdrawn.")
    if done:
        messages.success(request, success % {"email": invitation.email})
    return _team_changed(request)


@require_POST
@partner_required
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    return _invitation_action(request, pk, "resend")


@require_POST
@partner_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    return _invitation_action(request, pk, "revoke")


@partner_required
def team_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "partners.team")


# --- Public: invitations and applications ----------------------------------------------------
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_from_token(token)
    if invitation is None or not invitation.is_open:
        return render(request, "partners/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        messages.info(
            request, _("You are already signed in. Sign out to accept an invitation for another address.")
        )
        return redirect("home")
    if selectors.invitation_address_has_account(invitation=invitation):
        # Only the link's holder sees this: the inviting admin got the usual answer.
        return render(request, "partners/invitation_existing_account.html", {"invitation": invitation})
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, user = attempt(
            request,
            lambda: services.invitation_accept(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password1"]
            ),
            form=form,
        )
        if done:
            login(request, user, backend="prm.auth_backends.AuthenticationBackend")
            messages.success(
                request, _("Welcome, %(name)s! Your account is ready.") % {"name": user.full_name}
            )
            return redirect("home")
    return render(request, "partners/invitation_accept.html", {"invitation": invitation, "form": form})


def apply(request: HttpRequest) -> HttpResponse:
    form = PartnerApplicationForm(request.POST or None)
    if request.method == "POST":
        if hit_rate_limit(request, "apply"):
            form.add_error(None, _("Too many applications from your network. Please try again in an hour."))
            return render(request, "partners/apply.html", {"form": form}, status=429)
        if form.is_spam():
            # Pretend success so the bot learns nothing; nothing is stored.
            return redirect("partners:apply_thanks")
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k not in {"homepage", "accept_terms"}}
            done, _result = attempt(request, lambda: services.application_submit(data=data), form=form)
            if done:
                return redirect("partners:apply_thanks")
    return render(request, "partners/apply.html", {"form": form}, status=400 if form.errors else 200)


def apply_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "partners/apply_thanks.html")
