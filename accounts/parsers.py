"""JSON for endpoints that accept larger bodies than the rest of the site."""

import io
from typing import Any

from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer

from .api_errors import RequestBodyTooLarge


class LargeJSONParser(BaseParser):
    """JSON of up to the view's `max_body_size` bytes. DRF gives its own JSONParser
    `request.body`, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE for every endpoint alike;
    this parser reads the request stream itself, never more than one byte past the limit."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        limit = parser_context["view"].max_body_size
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise RequestBodyTooLarge(limit)
        return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
