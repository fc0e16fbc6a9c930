from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FindSimilarConfig(AppConfig):
    name = "find_similar"
    verbose_name = _("Find similar")
