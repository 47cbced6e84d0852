"""How pages and messages write about accounts in English: a name's possessive, and what the
accounts billed below an account are called."""

from .models import Account, AccountKind


def possessive(name: str) -> str:
    """ "Metro Transit" -> "Metro Transit's"; a name ending in s takes the apostrophe alone:
    "Globex Devices" -> "Globex Devices'"."""
    return f"{name}'" if name[-1:] in ("s", "S") else f"{name}'s"


def tenant_noun(account: Account) -> str:
    """What the customers below an account are to it, singular: a customer's are its tenants
    (an aggregator's), while the platform, a distributor or a partner bills customers."""
    return "tenant" if account.kind == AccountKind.CUSTOMER else "customer"
