"""API: usage ingest."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_errors import ERR_BODY_TOO_LARGE
from accounts.parsers import LargeJSONParser
from accounts.permissions import CanIngest

from .services.ingest import MAX_BATCH, events_ingest

ERR_BODY = "Send a JSON object with an 'events' list."
ERR_TOO_MANY = f"At most {MAX_BATCH} events per request."

_RESULT = inline_serializer(
    "IngestResult",
    {
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "conflicts": serializers.ListField(child=serializers.DictField()),
        "rejected": serializers.ListField(child=serializers.DictField()),
    },
)


class EventsIngestView(APIView):
    permission_classes = [CanIngest]
    # A full batch is larger than the 2.5 MB Django allows other endpoints.
    parser_classes = [LargeJSONParser]

    @property
    def max_body_size(self) -> int:
        return settings.INGEST_MAX_BODY_SIZE

    @extend_schema(
        summary="Send usage events (ingest, finance or admin key)",
        description=(
            f"Up to {MAX_BATCH:,} events per request, each with the sender's `event_id` and a "
            "`type`: machine_session, device_connection, firmware_update or api_call. "
            f"The JSON body may be up to {settings.INGEST_MAX_BODY_SIZE:,} bytes "
            f"({settings.INGEST_MAX_BODY_SIZE / 2**20:g} MiB); a larger one is refused with 413. "
            "Re-sending an event is a duplicate and changes nothing; the same event_id with "
            "other content is a conflict and the stored event stays. Each event is checked on "
            "its own and a refused one is listed in `rejected` with a message per field: "
            "timestamps from 2000-01-01 to 5 minutes ahead, machine sessions that have ended and "
            f"last at most {settings.MAX_SESSION_SECONDS:,} seconds (MAX_SESSION_SECONDS), "
            "counts from 1 to 2,147,483,647, text without control characters or lone "
            "surrogates. Fields an event type does not use are ignored."
        ),
        request=inline_serializer(
            "EventBatch", {"events": serializers.ListField(child=serializers.DictField())}
        ),
        responses={
            200: _RESULT,
            400: OpenApiResponse(
                description=f"{ERR_BODY} {ERR_TOO_MANY} Or a body that is not JSON, such as "
                "one nested too deeply."
            ),
            413: OpenApiResponse(
                description=ERR_BODY_TOO_LARGE.format(limit=settings.INGEST_MAX_BODY_SIZE)
            ),
        },
        examples=[
            OpenApiExample(
                "A machine session",
                request_only=True,
                value={
                    "events": [
                        {
                            "event_id": "session-0001",
                            "type": "machine_session",
                            "license": "7d0b6e1e-8f5f-4a8e-9d8f-3f3c2a1b0c9d",
                            "start": "2026-05-01T12:00:00Z",
                            "duration_seconds": 5400,
                            "machine_id": "i-0abc",
                            "machine_type": "c5.xlarge",
                            "region": "us-east",
                            "pool": "render",
                            "license_type": "standard",
                        }
                    ]
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if not isinstance(events, list):
            return Response({"events": [ERR_BODY]}, status=status.HTTP_400_BAD_REQUEST)
        if len(events) > MAX_BATCH:
            return Response({"events": [ERR_TOO_MANY]}, status=status.HTTP_400_BAD_REQUEST)
        result = events_ingest(actor=request.user, events=events)
        return Response(result.as_dict())
