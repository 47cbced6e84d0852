"""JSON for endpoints that accept larger bodies than the rest of the site."""

import io
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer

from .api_errors import RequestBodyTooLarge

ERR_JSON_TOO_DEEP = "JSON parse error - nested too deeply."


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
        try:
            return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            # JSONParser turns every other parse failure into a ParseError (a 400) already.
            raise ParseError(ERR_JSON_TOO_DEEP) from exc
