"""/api/… routes. Everything under /api/ answers JSON, even a wrong path or method."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from tend.api.v1 import api


def _json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    # ninja answers a wrong method with a plain-text 405; keep the {"detail"} promise.
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            response = JsonResponse({"detail": _("Method not allowed.")}, status=405)
            response["Allow"] = allowed
        return response

    return wrapper


def _json_patterns(
    patterns: list[URLPattern | URLResolver],
) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_method_not_allowed(pattern.callback)
    return patterns


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    detail = _("Not found.")
    if rest.endswith("/"):
        # API paths have no trailing slash; say so rather than leave people guessing.
        detail = _("Not found. API paths have no trailing slash: /api/%(path)s") % {
            "path": rest.rstrip("/")
        }
    return JsonResponse({"detail": detail}, status=404)


v1_patterns, app_name_v1, namespace_v1 = api.urls

urlpatterns = [
    path("v1/", include((_json_patterns(v1_patterns), app_name_v1), namespace=namespace_v1)),
    re_path(r"^(?P<rest>.*)$", not_found),
]
