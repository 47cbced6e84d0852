"""What every quotas endpoint reads from a request: the account it is about and the month."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts.models import Account, ApiKey
from accounts.schema import MONTH_PATTERN
from accounts.scoping import account_or_404
from accounts.selectors import default_account_for
from metering.months import Month

ERR_ACCOUNT_REQUIRED = "Required: name the account (its id) with ?account= for this key."

MONTH_PARAMETER = OpenApiParameter(
    "month",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=True,
    description="YYYY-MM",
    pattern=MONTH_PATTERN,
)
ACCOUNT_PARAMETER = OpenApiParameter(
    "account",
    OpenApiTypes.UUID,
    OpenApiParameter.QUERY,
    description="The account's id: required for an admin key, optional otherwise (an account "
    "below the key's own).",
)


def target_account(request: Request, raw: object = None) -> Account:
    """The account a request is about: the one it names (which the caller must be able to
    see: else 404), or the key's own account, or the signed-in user's first account (the API
    has no current account; pages do)."""
    actor = request.user
    raw = raw if raw is not None else request.query_params.get("account")
    if raw:
        return account_or_404(actor, str(raw))
    if isinstance(actor, ApiKey):
        if actor.account is None:
            raise ValidationError({"account": [ERR_ACCOUNT_REQUIRED]})
        return actor.account
    account = default_account_for(actor)
    if account is None:
        raise ValidationError({"account": [ERR_ACCOUNT_REQUIRED]})
    return account


def month_param(request: Request) -> Month:
    try:
        return Month.parse(request.query_params.get("month", ""))
    except DjangoValidationError as exc:
        raise ValidationError({"month": exc.messages}) from exc
