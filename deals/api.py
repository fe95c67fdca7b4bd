"""Deal registration over the REST API, for partners registering from their own CRM.

The views are as thin as the portal's: input is validated by the serializers, reads go through
``deals.selectors`` (the one scoping path) and writes through ``deals.services``, so the API can
do nothing the portal would refuse, and refuses it with the same words.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from prm.api import (
    AmountField,
    StrictCharField,
    StrictIntegerField,
    StrictPrimaryKeyRelatedField,
    ThrottleFirstMixin,
    WritableChoiceField,
    not_blank,
)
from prm.errors import ApplicationError

from . import leads, selectors, services
from .forms import MAX_DEAL_TOTAL
from .models import (
    OPEN_STAGE_CHOICES,
    ConflictStatus,
    Deal,
    DealLine,
    DealStage,
    DealStatus,
    Lead,
    LeadStatus,
    Product,
)
from .policies import DEAL_ROLES
from .services import CUSTOMER_FIELDS, LineInput

MAX_LINES = 50
OBJECT_ID = re.compile(r"-?[0-9]+")
UUID_FORM = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


class IsDealUser(permissions.BasePermission):
    """Partner sales users and partner admins; everyone else gets a 403 that says why."""

    message = _("The deal API is for partner sales users and partner admins.")

    def has_permission(self, request: Request, view: Any) -> bool:
        actor = request.actor
        return actor.is_partner and actor.partner_role in DEAL_ROLES


class CountryCodeField(serializers.ChoiceField):
    """A country as its two-letter code, or "" when none was given. DRF's own ChoiceField hands a
    blank django-countries ``Country`` (neither "" nor one of the choices) to the JSON encoder: a
    deal without a country answered 500, and so did every list it was in."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=countries, allow_blank=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return str(getattr(value, "code", value) or "")


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "product_line", "list_price", "currency"]


class DealLineSerializer(serializers.ModelSerializer):
    product = StrictPrimaryKeyRelatedField(queryset=Product.objects.filter(active=True))
    product_name = serializers.CharField(source="product.name", read_only=True)
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)
    unit_price = AmountField(max_digits=14, decimal_places=2)

    class Meta:
        model = DealLine
        fields = ["product", "product_name", "quantity", "unit_price", "amount"]
        read_only_fields = ["amount"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH is partial for the deal, not for a line (lines are replaced whole), but DRF
        # skips a nested field a partial request leaves out: the service then failed on it (500).
        missing = [name for name in ("product", "quantity", "unit_price") if name not in attrs]
        if missing:
            raise serializers.ValidationError({name: [_("This field is required.")] for name in missing})
        return attrs


class DealSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }
    lines = DealLineSerializer(
        many=True,
        max_length=MAX_LINES,
        error_messages={"max_length": _("A deal has at most {max_length} lines.")},
        help_text=_("At most 50 lines, and the deal's total below 10,000,000,000,000."),
    )
    status = serializers.CharField(read_only=True)
    stage = WritableChoiceField(choices=DealStage.choices, writable=OPEN_STAGE_CHOICES, required=False)
    customer_country = CountryCodeField(required=False)
    # What the partner may know about a conflict: only that one is under review (never with whom).
    conflict_under_review = serializers.SerializerMethodField()

    class Meta:
        model = Deal
        fields = [
            "id",
            "reference",
            "status",
            "conflict_under_review",
            *CUSTOMER_FIELDS,
            "amount",
            "lines",
            "created_at",
            "submitted_at",
            "approved_at",
            "protection_expires_at",
            "discount_percent",
            "decision_reason",
        ]
        read_only_fields = [
            "reference",
            "amount",
            "created_at",
            "submitted_at",
            "approved_at",
            "protection_expires_at",
            "discount_percent",
            "decision_reason",
        ]
        extra_kwargs = {"customer_name": {"required": True, "allow_blank": False, "validators": [not_blank]}}

    def get_conflict_under_review(self, deal: Deal) -> bool:
        return deal.conflict_status == ConflictStatus.UNDER_REVIEW and deal.status in {
            DealStatus.SUBMITTED,
            DealStatus.RETURNED,
        }

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The portal's limit, in its words: a larger total passed here and overflowed the
        # database's amount column (a 500).
        if sum(line["quantity"] * line["unit_price"] for line in lines) >= MAX_DEAL_TOTAL:
            raise serializers.ValidationError(
                _("The deal's total is too large. Check the quantities and prices.")
            )
        return lines

    def to_service_input(self) -> tuple[dict[str, Any], list[LineInput] | None]:
        data = dict(self.validated_data)
        lines = data.pop("lines", None)
        line_inputs = (
            None
            if lines is None
            else [LineInput(line["product"].pk, line["quantity"], line["unit_price"]) for line in lines]
        )
        return data, line_inputs


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The request's query parameters, validated: a filter value outside the documented ones is a
    400 that names it, not a silently empty list."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _object_id(value: str) -> int:
    # A non-numeric id cannot name anything; saying so (400) is clearer than the 404 of a missing
    # object, and tells no more about other partners' rows than the 404 would.
    if not OBJECT_ID.fullmatch(value):
        raise serializers.ValidationError({"id": [_("An id is a whole number, e.g. 42.")]})
    if len(value) > 20:  # a whole number no row can have: the same 404 as any missing one
        raise Http404
    return int(value)


class DealFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DealStatus.choices, required=False, allow_blank=True)
    stage = serializers.ChoiceField(choices=DealStage.choices, required=False, allow_blank=True)
    q = serializers.CharField(
        required=False, allow_blank=True, help_text=_("Customer, domain, title or reference.")
    )


class LeadFilterSerializer(serializers.Serializer):
    # A partner sees the leads offered to it and those it accepted, nothing else.
    status = serializers.ChoiceField(
        choices=[LeadStatus.OFFERED, LeadStatus.ACCEPTED], required=False, allow_blank=True
    )


class ProductViewSet(ThrottleFirstMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The active product catalogue, to fill deal lines."""

    serializer_class = ProductSerializer
    permission_classes = [permissions.IsAuthenticated, IsDealUser]

    def get_queryset(self) -> QuerySet[Product]:
        return Product.objects.filter(active=True).order_by("product_line", "name")


@extend_schema_view(
    list=extend_schema(parameters=[DealFilterSerializer]),
    create=extend_schema(
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.UUID,
                OpenApiParameter.HEADER,
                description="A UUID of your choosing: a retry with the same key returns the deal the "
                "first request created.",
            )
        ]
    ),
)
class DealViewSet(
    ThrottleFirstMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Your company's deal registrations (a sales user: the ones you registered).

    Create saves a draft; `POST /deals/{id}/submit/` submits it for review. Send an
    `Idempotency-Key` header (a UUID) with a create: a retried request returns the deal the first
    one created instead of registering it twice.
    """

    serializer_class = DealSerializer
    permission_classes = [permissions.IsAuthenticated, IsDealUser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Deal]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no actor
            return Deal.objects.none()
        filters = _query(DealFilterSerializer, self.request)
        return selectors.deal_list(actor=self.request.actor, filters=filters).prefetch_related(
            "lines__product"
        )

    def get_object(self) -> Deal:
        # deal_get (the scoping path) already brings the lines with their products.
        return selectors.deal_get(actor=self.request.actor, pk=_object_id(self.kwargs["pk"]))

    def _idempotency_key(self) -> uuid.UUID | None:
        value = self.request.headers.get("Idempotency-Key")
        if value is None:
            return None
        # Only the documented form (8-4-4-4-12 hex digits): uuid.UUID would also take an empty
        # header, braces or a URN, and an empty key used to mean "no key" without a word.
        if not UUID_FORM.fullmatch(value.strip()):
            raise ApplicationError(_("The Idempotency-Key header must be a UUID."))
        return uuid.UUID(value.strip())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data, lines = serializer.to_service_input()
        with transaction.atomic():
            deal = services.deal_save_draft(
                actor=request.actor,
                data=data,
                lines=lines or [],
                submission_key=self._idempotency_key(),
            )
        return Response(self.get_serializer(self._fresh(deal)).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.get_object()
        serializer = self.get_serializer(deal, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data, lines = serializer.to_service_input()
        if lines is None:  # lines not sent: keep them
            lines = [LineInput(line.product_id, line.quantity, line.unit_price) for line in deal.lines.all()]
        with transaction.atomic():
            deal = services.deal_save_draft(actor=request.actor, data=data, lines=lines, deal=deal)
        return Response(self.get_serializer(self._fresh(deal)).data)

    # ``format``: the router also routes ``/submit.json``; without the argument that address
    # answered 500 for every id.
    @extend_schema(request=None, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:
        """Submit a draft (or a deal returned for information) for review."""
        deal = self.get_object()
        with transaction.atomic():
            deal = services.deal_submit(actor=request.actor, deal=deal)
        return Response(self.get_serializer(self._fresh(deal)).data)

    def _fresh(self, deal: Deal) -> Deal:
        """The deal as saved, read back through the scoping path."""
        return selectors.deal_get(actor=self.request.actor, pk=deal.pk)


# --- Leads ---------------------------------------------------------------------------------------
class LeadSerializer(serializers.ModelSerializer):
    deal = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    country = CountryCodeField(read_only=True)
    # Read-only model fields lose allow_blank, and the schema then promised an address every time.
    contact_email = serializers.EmailField(read_only=True, allow_blank=True)

    class Meta:
        model = Lead
        fields = ["id", *leads.LEAD_FIELDS, "status", "offered_at", "respond_by", "deal"]
        read_only_fields = fields


class DeclineSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=500, trim_whitespace=True, validators=[not_blank])


@extend_schema_view(list=extend_schema(parameters=[LeadFilterSerializer]))
class LeadViewSet(
    ThrottleFirstMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Leads the vendor offered your company, to accept (it becomes a draft deal) or decline with a
    reason before `respond_by`; unanswered offers move on to another partner."""

    serializer_class = LeadSerializer
    permission_classes = [permissions.IsAuthenticated, IsDealUser]

    def get_queryset(self) -> QuerySet[Lead]:
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        status_filter = _query(LeadFilterSerializer, self.request).get("status", "")
        return selectors.lead_list(actor=self.request.actor, status=status_filter)

    def get_object(self) -> Lead:
        return selectors.lead_get(actor=self.request.actor, pk=_object_id(self.kwargs["pk"]))

    @extend_schema(request=None, responses={201: DealSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:
        """Accept the offer: returns the draft deal made from the lead."""
        lead = self.get_object()
        with transaction.atomic():
            deal = leads.lead_accept(actor=request.actor, lead=lead)
        deal = selectors.deal_get(actor=request.actor, pk=deal.pk)
        return Response(DealSerializer(deal, context=self.get_serializer_context()).data, status=201)

    @extend_schema(
        request=DeclineSerializer,
        responses=inline_serializer("Declined", {"detail": serializers.CharField()}),
    )
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:
        """Decline the offer with a reason (it helps the vendor route the next one)."""
        lead = self.get_object()
        reason = DeclineSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        with transaction.atomic():
            leads.lead_decline(actor=request.actor, lead=lead, reason=reason.validated_data["reason"])
        return Response({"detail": _("Declined. Thank you for the reason.")})


@extend_schema(exclude=True)
class NotFoundView(ThrottleFirstMixin, APIView):
    """Addresses under the API that name nothing (e.g. ``/deals/1.5/``): authenticated and
    throttled like the rest, then the API's JSON 404 whatever the method."""

    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound

    options = http_method_not_allowed
