"""Template context for the base layout: navigation, the account switcher, the current account."""

from django.http import HttpRequest

from .navigation import visible_navigation
from .roles import capabilities
from .selectors import switchable_accounts


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    account = request.account
    caps = capabilities(user, account) if account else frozenset()
    return {
        "current_account": account,
        "current_capabilities": {cap.value for cap in caps},
        "nav_sections": visible_navigation(caps),
        "switchable_accounts": [
            {"id": a.id, "uuid": a.uuid, "label": "\u00a0\u00a0" * depth + a.name}
            for a, depth in switchable_accounts(user)
        ],
    }
