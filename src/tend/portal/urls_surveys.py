"""Public survey pages, mounted at /s/ (URL names live in the "portal" namespace)."""

from django.urls import path

from tend.portal import views_surveys as views

urlpatterns = [
    path("embed.js", views.embed_js, name="survey_embed_js"),
    path("api/ask", views.in_app_ask, name="survey_in_app_ask"),
    path("api/answer", views.in_app_answer, name="survey_in_app_answer"),
    path("api/dismiss", views.in_app_dismiss, name="survey_in_app_dismiss"),
    path("<str:token>/", views.answer, name="survey_answer"),
]
