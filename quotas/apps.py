from django.apps import AppConfig


class QuotasConfig(AppConfig):
    name = "quotas"
    verbose_name = "Service packages and quotas"

    def ready(self) -> None:
        # Ingest (metering) cannot import this app: tell it who owns each update campaign and
        # how many updates each may still record, so updates for unknown, finished or
        # used-up campaigns are rejected.
        from metering.services.ingest import register_campaign_resolver

        from .services.campaigns import campaign_allowances, campaign_owners

        register_campaign_resolver(campaign_owners, campaign_allowances)
