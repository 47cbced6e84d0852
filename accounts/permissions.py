"""DRF permissions by capability. Object-level checks call accounts.roles.can in the view after
the object was fetched through accounts.scoping (so outsiders get 404 first)."""

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView

from .roles import Capability, can


class _CapabilityPermission(BasePermission):
    capability: Capability

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        return bool(user and user.is_authenticated and can(user, self.capability))


class CanRead(_CapabilityPermission):
    message = "This key or role may not read billing data."
    capability = Capability.READ


class CanIngest(_CapabilityPermission):
    message = "This key or role may not send usage."
    capability = Capability.INGEST


class CanFinance(_CapabilityPermission):
    message = "This key or role may not change billing documents."
    capability = Capability.FINANCE


class CanManage(_CapabilityPermission):
    message = "Only an account's owner or admin, or an admin key, may do this."
    capability = Capability.MANAGE


class IsPlatformAdmin(_CapabilityPermission):
    message = "Only an admin key or platform staff may do this."
    capability = Capability.PLATFORM


class CanGenerate(_CapabilityPermission):
    message = "Only an admin or service key, or platform staff, may do this."
    capability = Capability.GENERATE


class ReadOrPlatform(BasePermission):
    """Read keys and members read; only an admin key or platform staff writes (catalogs)."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        permission = (
            CanRead() if request.method in ("GET", "HEAD", "OPTIONS") else IsPlatformAdmin()
        )
        self.message = permission.message
        return permission.has_permission(request, view)


class IsAuthenticatedActor(BasePermission):
    """Any valid key or signed-in user, whatever its role (for /me)."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return bool(request.user and request.user.is_authenticated)
