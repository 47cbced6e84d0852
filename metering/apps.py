from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"

    def ready(self) -> None:
        from accounts.api import register_account_fields
        from licenses.services import register_priced_usage_check

        from .catalog_serializers import ACCOUNT_BILLING_FIELDS
        from .rating import priced_usage_since

        # A new rate must not start before usage that is already priced.
        register_priced_usage_check(priced_usage_since)
        # The account API answers (and platform callers set) the account's price plan.
        register_account_fields(ACCOUNT_BILLING_FIELDS)
