from django.urls import include, path

from tend.portal import views

app_name = "portal"

urlpatterns = [
    path("support/", views.support, name="support"),
    path("support/thanks/<str:ref>/", views.support_thanks, name="support_thanks"),
    path("support/confirm/<str:token>/", views.confirm, name="confirm"),
    # The help center (urls_help.py) and the public survey pages (urls_surveys.py).
    path("help/", include("tend.portal.urls_help")),
    path("s/", include("tend.portal.urls_surveys")),
]
