"""The public help center, mounted at /help/ (URL names live in the "portal" namespace).

``articles/<slug>/`` is a published contract: replies, macros and the API link to it
(kb.selectors.help_article_url)."""

from django.urls import path

from tend.portal import views_help as views

urlpatterns = [
    path("", views.home, name="help_home"),
    # The issue names /help/search?q= (no slash); the slashed form works too.
    path("search", views.search, name="help_search"),
    path("search/", views.search),
    path("sitemap.xml", views.sitemap, name="help_sitemap"),
    path("suggest/", views.suggest, name="help_suggest"),
    path("open/<str:token>/", views.open_suggestion, name="help_open"),
    path("articles/<slug:slug>/", views.article, name="help_article"),
    path("articles/<slug:slug>/vote/", views.vote, name="help_vote"),
    path("categories/<slug:category>/", views.category, name="help_category"),
    path("categories/<slug:category>/<slug:section>/", views.section, name="help_section"),
]
