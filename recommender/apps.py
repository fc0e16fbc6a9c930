from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = _("Recommender")

    def ready(self) -> None:
        # Registers the model weights check; subscribes to shop.signals.products_marked; ranks
        # the shop's search box by description (shop/search.py).
        from recommender import checks, receivers  # noqa: F401
        from recommender.models import Embedding, ProductColour
        from shop.fragments import catalogue_tables_register

        # Product pages show alternatives ranked by these: a new vector or colour statistic
        # changes the cached pages' catalogue version (shop/middleware.py).
        catalogue_tables_register(Embedding, ProductColour)

        from recommender.description import description_rank
        from shop.search import description_ranker_register

        description_ranker_register(description_rank)
