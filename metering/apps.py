from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"

    def ready(self) -> None:
        from licenses.services import register_priced_usage_check

        from .rating import priced_usage_since

        # A new rate must not start before usage that is already priced.
        register_priced_usage_check(priced_usage_since)
