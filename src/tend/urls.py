from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from tend.api.ingest_email import ingest_email
from tend.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("tend.api.urls")),
    path("ingest/email", ingest_email, name="ingest_email"),
    path("ingest/v1/", include("tend.usage.urls")),
    path("portal/view-as/", include("tend.portal.view_as")),
    path("", include("tend.portal.urls")),
    path("", include("tend.web.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
