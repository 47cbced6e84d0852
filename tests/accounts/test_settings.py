"""The environment readers the settings use refuse bad values with a message naming the variable."""

import os
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from billing_site.settings.env import ERR_BELOW_MINIMUM, env_int


class EnvIntTests(SimpleTestCase):
    def test_a_number_below_its_minimum_is_refused(self) -> None:
        message = ERR_BELOW_MINIMUM.format(name="LOGIN_FAILURE_LIMIT", minimum=1, number=0)
        with (
            mock.patch.dict(os.environ, {"LOGIN_FAILURE_LIMIT": "0"}),
            self.assertRaisesMessage(ImproperlyConfigured, message),
        ):
            env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)

    def test_the_minimum_itself_and_the_default_are_taken(self) -> None:
        with mock.patch.dict(os.environ, {"LOGIN_FAILURE_LIMIT": "1"}):
            self.assertEqual(env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1), 1)
        with mock.patch.dict(os.environ, clear=True):
            self.assertEqual(env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1), 5)
