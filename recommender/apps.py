from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = _("Recommender")

    def ready(self) -> None:
        # Registers the model weights check; subscribes to shop.signals.products_marked.
        from recommender import checks, receivers  # noqa: F401
