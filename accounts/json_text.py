"""The API's default JSON parser: request bodies may hold only text that PostgreSQL can store.

Kept apart from accounts.parsers, which imports the exception handler: DRF imports the default
parser while rest_framework.views is still loading, so this module must not import it."""

from typing import Any

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

ERR_SURROGATE = "Text may not contain a lone surrogate (U+D800 to U+DFFF): it is not valid UTF-8."
ERR_NUL = "Text may not contain the NUL character (U+0000)."
ERR_KEY = "A key of this object is not valid text: {reason}"
ERR_TOO_DEEP = "JSON parse error - the document is nested too deeply."


def text_error(text: str) -> str | None:
    """Why PostgreSQL could not store this text (nor a response echo it), or None."""
    if "\x00" in text:
        return ERR_NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return ERR_SURROGATE
    return None


def text_errors(document: Any) -> Any:
    """Field messages, shaped like a serializer's, for every string (value or key) of a parsed
    JSON document that is not storable text; None when there is none. A bad key is reported on
    its object: echoing it back would fail in the response too."""
    if isinstance(document, str):
        message = text_error(document)
        return [message] if message else None
    if isinstance(document, list):
        found = {index: text_errors(item) for index, item in enumerate(document)}
        return {index: errors for index, errors in found.items() if errors} or None
    if isinstance(document, dict):
        errors: dict[Any, Any] = {}
        for key, value in document.items():
            reason = text_error(key)
            if reason:
                errors.setdefault(api_settings.NON_FIELD_ERRORS_KEY, []).append(
                    ERR_KEY.format(reason=reason)
                )
            elif (found := text_errors(value)) is not None:
                errors[key] = found
        return errors or None
    return None


class TextJSONParser(JSONParser):
    """DRF's JSON parser, plus a 400 with field messages for text no column can hold: JSON
    escapes can spell lone surrogates and NUL, which PostgreSQL refuses (and a surrogate
    cannot even be written into an error message that echoes it). A document nested deeper
    than Python's recursion limit is a parse error, not a crash."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        try:
            document = super().parse(stream, media_type, parser_context)
            errors = text_errors(document)
        except RecursionError as exc:
            raise ParseError(ERR_TOO_DEEP) from exc
        if errors is None:
            return document
        if isinstance(errors, list):
            errors = {api_settings.NON_FIELD_ERRORS_KEY: errors}
        raise ValidationError(errors)
