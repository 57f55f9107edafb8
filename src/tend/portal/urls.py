from django.urls import include, path

from tend.portal import views, views_help

app_name = "portal"

urlpatterns = [
    path("support/", views.support, name="support"),
    path("support/thanks/<str:ref>/", views.support_thanks, name="support_thanks"),
    path("support/confirm/<str:token>/", views.confirm, name="confirm"),
    # Article images, public while their article is published (views_help.image).
    path("help/images/<path:name>", views_help.image, name="help_image"),
    # The help center (urls_help.py) and the public survey pages (urls_surveys.py).
    path("help/", include("tend.portal.urls_help")),
    path("s/", include("tend.portal.urls_surveys")),
]
