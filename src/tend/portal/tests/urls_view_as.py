"""URLs for the view-as tests: the staff UI, the portal and view-as, so the tests do
not depend on where the project mounts view-as (string includes, as tend/urls.py does)."""

from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/view-as/", include("tend.portal.view_as")),
    path("", include("tend.portal.urls")),
    path("", include("tend.web.urls")),
]
