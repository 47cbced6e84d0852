"""Every API error is JSON: service-layer ValidationErrors become 400s with field messages, a
body over the size limit a 413, and a client refused for want of a valid credential too often
from one address a 429."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .throttling import AddressRateThrottle

ERR_BODY_TOO_LARGE = "The request body is larger than the {limit:,} bytes this endpoint accepts."


class RequestBodyTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(ERR_BODY_TOO_LARGE.format(limit=limit))


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE with its HTML 400 page.
        exc = RequestBodyTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    request = context.get("request")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Authentication and permissions run before DRF's throttles, so requests without a
        # valid credential never reach them: they are counted here, by address.
        throttle = AddressRateThrottle()
        if not throttle.allow_request(request, context.get("view")):
            exc = exceptions.Throttled(wait=throttle.wait())
    response = drf_exception_handler(exc, context)
    if response is not None and request is not None:
        # Views with their own renderers (the OpenAPI schema renders YAML) would otherwise
        # answer an error in their format; the view's finalize_response reads these.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response
