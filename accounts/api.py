"""API: who am I, accounts and their members."""

from typing import Any

from django.db.models import QuerySet
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
        account = services.account_create(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(account).data, status=status.HTTP_201_CREATED)


class AccountDetailView(generics.RetrieveAPIView):
    serializer_class = AccountSerializer

    def get_object(self) -> Account:
        return account_or_404(self.request.user, self.kwargs["account_id"])


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
