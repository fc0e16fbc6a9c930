from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("Shop")

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        from shop.fragments import catalogue_tables_register, catalogue_write_watch_install

        # Whole cached pages follow the catalogue's version (shop/fragments.py): every table
        # of this app, many-to-many ones included, is shown somewhere on the shop's pages.
        catalogue_tables_register(*self.get_models(include_auto_created=True))
        connection_created.connect(catalogue_write_watch_install, dispatch_uid="catalogue_write_watch")
        for connection in connections.all(initialized_only=True):
            catalogue_write_watch_install(connection=connection)
