"""The API's OpenAPI schema: the error answers every operation can give, documented once
rather than on each view (README, "The API": 400, 401, 403, 404, 413, 429)."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, is_serializer
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
FIELD_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {},
        "description": "A list of messages per field (`non_field_errors` for the whole body; "
        "an object per nested field or list index), or `detail` when the body is not JSON.",
    },
    description="The request was refused: the messages say why.",
)
ERRORS = {
    "400": FIELD_ERRORS,
    "401": OpenApiResponse(ERROR, description="No API key or session, or an invalid key."),
    "403": OpenApiResponse(ERROR, description="The key's role or the user's may not do this."),
    "404": OpenApiResponse(ERROR, description="Not found, or not the caller's to see."),
    "413": OpenApiResponse(ERROR, description="The request body is over the size limit."),
    "429": OpenApiResponse(ERROR, description="Over the rate limit; see Retry-After."),
}
# A month as every parameter takes it (metering.months and metering.periods parse it).
MONTH_PATTERN = r"^\d{4}-\d{2}$"
# Query parameters that only page through a list: out-of-range values are read as the nearest
# valid one, never refused.
PAGING = {"limit", "offset", "cursor", "page_size"}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the errors the operation can answer with: 401, 403 and
    429 everywhere; 400 where it takes a body, a query parameter other than paging or a path
    parameter that is not an id (a month); 404 where its path, query or body names an object
    by id; 413 where it takes a body. A view's own description of a status wins."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ERRORS[code], code, None, direction)
        return responses

    def _error_codes(self) -> list[str]:
        parameters = self._get_parameters()
        query = {p["name"] for p in parameters if p["in"] == "query"}
        is_id = {p["name"] for p in parameters if p.get("schema", {}).get("format") == "uuid"}
        path = {p["name"] for p in parameters if p["in"] == "path"}
        has_body = self.method in ("POST", "PUT", "PATCH")
        names_object = bool(path or is_id) or (has_body and self._body_names_object())
        codes = ["401", "403", "429"]
        if has_body or query - PAGING or path - is_id:
            codes.append("400")
        if names_object:
            codes.append("404")
        if has_body:
            codes.append("413")
        return sorted(codes)

    def _body_names_object(self) -> bool:
        serializer = force_instance(self.get_request_serializer())
        return is_serializer(serializer) and any(
            isinstance(field, serializers.UUIDField) and not field.read_only
            for field in serializer.fields.values()
        )
