"""API: who am I, accounts and their members."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Manager, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import Account, AccountKind, ApiKey, BusinessModel, Membership, Role
from .money import is_currency
from .permissions import IsAuthenticatedActor
from .roles import Capability, can, role_on
from .scoping import account_or_404, sees_everything, visible_accounts


def actor_of(request: Request) -> Any:
    """The API key or the signed-in user behind a request."""
    return request.user


@dataclass(frozen=True)
class AccountFieldExtension:
    """Fields an app above this one adds to the account API (metering: the price plan). This
    app may not import those apps, so they register here from their AppConfig.ready().

    - `fields()`: new field instances; writable ones are accepted on POST and PATCH (platform
      only, as both are), read-only ones only answered. Each field reads its own value from the
      account (`get_attribute`).
    - `save(actor=, account=, values=)`: stores the writable fields that were sent, inside the
      transaction that creates or changes the account.
    - `prepare(accounts)`: loads what the fields read for a page of accounts at once.
    """

    fields: Callable[[], dict[str, serializers.Field]]
    save: Callable[..., None]
    prepare: Callable[[list[Account]], None]


ACCOUNT_FIELD_EXTENSIONS: list[AccountFieldExtension] = []


def register_account_fields(extension: AccountFieldExtension) -> None:
    if extension not in ACCOUNT_FIELD_EXTENSIONS:
        ACCOUNT_FIELD_EXTENSIONS.append(extension)


def _extension_values(
    data: dict[str, Any],
) -> tuple[dict[str, Any], list[tuple[AccountFieldExtension, dict[str, Any]]]]:
    """The account's own validated fields, and each extension's fields that were sent."""
    own = dict(data)
    extended = []
    for extension in ACCOUNT_FIELD_EXTENSIONS:
        values = {name: own.pop(name) for name in extension.fields() if name in own}
        if values:
            extended.append((extension, values))
    return own, extended


def _save_extensions(
    actor: Any, account: Account, extended: Iterable[tuple[AccountFieldExtension, dict[str, Any]]]
) -> None:
    for extension, values in extended:
        extension.save(actor=actor, account=account, values=values)


class AccountListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        accounts = list(data.all() if isinstance(data, Manager) else data)
        for extension in ACCOUNT_FIELD_EXTENSIONS:
            extension.prepare(accounts)
        return super().to_representation(accounts)


class AccountSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    parent = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Account.objects.all(), required=False, allow_null=True
    )
    kind = serializers.ChoiceField(choices=AccountKind.choices)
    # Declared here so the model validator does not refuse "eur" before it is upper-cased.
    currency = serializers.CharField(max_length=3, required=False, default="USD")
    business_model = serializers.ChoiceField(choices=BusinessModel.choices, required=False)

    class Meta:
        model = Account
        fields = [
            "id",
            "slug",
            "name",
            "kind",
            "parent",
            "currency",
            "organization",
            "business_model",
            "attributes",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["slug", "is_active", "created_at"]
        list_serializer_class = AccountListSerializer

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for extension in ACCOUNT_FIELD_EXTENSIONS:
            fields.update(extension.fields())
        return fields

    def validate_parent(self, parent: Account | None) -> Account | None:
        actor = self.context["request"].user
        if parent is not None and not visible_accounts(actor).filter(pk=parent.pk).exists():
            raise serializers.ValidationError("Unknown account.")
        return parent

    def validate_currency(self, value: str) -> str:
        if not is_currency(value.upper()):
            raise serializers.ValidationError(f"{value!r} is not an ISO 4217 currency code.")
        return value.upper()


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", max_length=150)
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["username", "email", "role", "created_at"]
        read_only_fields = ["created_at"]


class MeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "api_key"])
    name = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    account = AccountSerializer(allow_null=True)
    memberships = serializers.ListField(child=serializers.DictField())


class MeView(APIView):
    permission_classes = [IsAuthenticatedActor]

    @extend_schema(responses=MeSerializer, summary="The caller: an API key or a signed-in user")
    def get(self, request: Request) -> Response:
        actor = actor_of(request)
        if isinstance(actor, ApiKey):
            return Response(
                {
                    "type": "api_key",
                    "name": actor.name,
                    "role": actor.role,
                    "account": AccountSerializer(actor.account, context={"request": request}).data
                    if actor.account
                    else None,
                    "memberships": [],
                }
            )
        memberships = [
            {"account": str(m.account.uuid), "account_name": m.account.name, "role": m.role}
            for m in actor.memberships.select_related("account")
        ]
        return Response(
            {
                "type": "user",
                "name": actor.get_username(),
                "role": "platform_staff" if sees_everything(actor) else None,
                "account": None,
                "memberships": memberships,
            }
        )


class AccountListCreateView(generics.ListCreateAPIView):
    serializer_class = AccountSerializer

    def get_queryset(self) -> QuerySet[Account]:
        return visible_accounts(self.request.user).select_related("parent").order_by("id")

    @extend_schema(summary="Accounts the caller may see")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(summary="Create an account (admin key or platform staff)")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not can(request.user, Capability.PLATFORM):
            raise PermissionDenied("Only an admin key or platform staff may create accounts.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        own, extended = _extension_values(serializer.validated_data)
        with transaction.atomic():
            account = services.account_create(actor=request.user, **own)
            _save_extensions(request.user, account, extended)
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)


class AccountDetailView(generics.RetrieveAPIView):
    serializer_class = AccountSerializer

    def get_object(self) -> Account:
        return account_or_404(self.request.user, self.kwargs["account_id"])

    @extend_schema(summary="An account the caller may see")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Change an account or its billing fields (admin key or platform staff)",
        description="Only the fields sent change, the account's own and those the billing "
        "apps add (such as `price_plan`) alike, in one transaction.",
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        if not can(request.user, Capability.PLATFORM):
            raise PermissionDenied("Only an admin key or platform staff may change accounts.")
        serializer = self.get_serializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        own, extended = _extension_values(serializer.validated_data)
        with transaction.atomic():
            if own:
                services.account_update(actor=request.user, account=account, **own)
            _save_extensions(request.user, account, extended)
        return Response(self.get_serializer(self.get_object()).data)


class AccountMembersView(generics.ListCreateAPIView):
    """Members of one account: the admin key, or the account's owner or admin."""

    serializer_class = MembershipSerializer
    permission_classes = [IsAuthenticatedActor]

    def get_account(self) -> Account:
        account = account_or_404(self.request.user, self.kwargs["account_id"])
        if not can(self.request.user, Capability.MANAGE, account):
            raise PermissionDenied(
                "Only the account's owner or admin, or an admin key, may do this."
            )
        return account

    def get_queryset(self) -> QuerySet[Membership]:
        return self.get_account().memberships.select_related("user").order_by("id")

    @extend_schema(summary="Add a member; a new user gets an e-mail to set a password")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_account()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        actor = request.user
        membership = services.membership_add(
            actor=actor,
            account=account,
            username=data["user"]["username"],
            email=data["user"].get("email", ""),
            role=data["role"],
            actor_role=None
            if isinstance(actor, ApiKey) or sees_everything(actor)
            else role_on(actor, account),
            site_url=request.build_absolute_uri("/"),
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)
