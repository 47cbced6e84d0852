"""Request logging: a refused or missing page is one line in the log, without a traceback."""

import io
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings
from django.urls import reverse

from tests.base import BillingTestCase


@contextmanager
def console_output() -> Iterator[io.StringIO]:
    """What the console handlers configured by LOGGING print (pytest's own handlers left out)."""
    buffer = io.StringIO()
    handlers = [
        handler
        for name in ("", "django", "django.request")
        for handler in logging.getLogger(name).handlers
        if type(handler) is logging.StreamHandler
    ]
    previous = [handler.setStream(buffer) for handler in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


def messages(output: io.StringIO) -> list[str]:
    """The logged lines without their timestamps."""
    return [line.split(" ", 2)[-1] for line in output.getvalue().splitlines()]


# DEBUG on, as in the local settings, where Django's own console handler used to print too.
@override_settings(DEBUG=True)
class RequestLoggingTests(BillingTestCase):
    def test_a_403_is_logged_once_without_a_traceback(self) -> None:
        self.login(self.teammate)
        with console_output() as output:
            response = self.client.get(reverse("accounts:audit_log"))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            messages(output), ["WARNING django.request Forbidden (Permission denied): /audit/"]
        )

    def test_a_404_is_logged_once_without_a_traceback(self) -> None:
        self.login(self.owner)
        path = reverse("accounts:detail", args=[uuid.uuid4()])
        with console_output() as output:
            response = self.client.get(path)
        self.assertEqual(response.status_code, 404)
        self.assertEqual(messages(output), [f"WARNING django.request Not Found: {path}"])

    def test_an_api_404_is_logged_once(self) -> None:
        _, key = self.make_key("read", self.account)
        path = f"/api/v1/accounts/{uuid.uuid4()}"
        with console_output() as output:
            response = self.api("get", path, key)
        self.assertEqual(response.status_code, 404)
        self.assertEqual(messages(output), [f"WARNING django.request Not Found: {path}"])
