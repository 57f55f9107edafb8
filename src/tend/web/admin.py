"""The Django admin's branding: it is Tend's back office, one click from the staff UI."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Tend administration")
admin.site.site_title = _("Tend admin")
admin.site.index_title = _("Settings and data")
admin.site.site_url = "/"
