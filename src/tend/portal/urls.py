from django.urls import path

from tend.portal import views

app_name = "portal"

urlpatterns = [
    path("support/", views.support, name="support"),
    path("support/thanks/<str:ref>/", views.support_thanks, name="support_thanks"),
    path("support/confirm/<str:token>/", views.confirm, name="confirm"),
]
