"""Request plumbing: sign-in required for pages, and the current account of a request."""

from collections.abc import Callable

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse
from rest_framework.views import APIView

from .selectors import current_account_for

# Answered by DRF with 401 JSON; /api/docs/ is a page and stays behind sign-in.
API_PATHS = ("/api/v1/", "/api/schema/")


class PageLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Every page needs a signed-in user; the API answers 401 itself (keys, not sessions)."""

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        if request.path_info.startswith(API_PATHS):
            return None
        # DRF marks every APIView login_not_required; outside the API (the docs page) that
        # would answer a browser with a bare 401 instead of the sign-in page.
        drf_view = getattr(view_func, "cls", None)
        if (
            isinstance(drf_view, type)
            and issubclass(drf_view, APIView)
            and not request.user.is_authenticated
        ):
            return self.handle_no_permission(request, view_func)
        return super().process_view(request, view_func, view_args, view_kwargs)


class CurrentAccountMiddleware:
    """Sets request.account: the account the signed-in user is looking at (switchable), or None
    when there is none (signed out, no membership, an empty site). Not lazy: a lazy object
    wrapping None is not None, and views would take it for an account."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The API scopes by its caller (key or user), never by the page's current account.
        on_api = request.path_info.startswith(API_PATHS)
        request.account = None if on_api else current_account_for(request)
        return self.get_response(request)
