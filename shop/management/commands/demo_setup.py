"""python manage.py demo_setup: the demo catalogue and an admin login, idempotently.

Run by `make demo` after migrate. A second run changes nothing and takes seconds.
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from shop.feeds import FeedError
from shop.models import Source
from shop.services import catalog_import

logger = logging.getLogger(__name__)

DEMO_SOURCE_NAME = "Demo catalogue"
ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = "Load the demo catalogue (demo/catalogue/feed.csv) and create the admin user; safe to re-run."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1:8000", help="where the shop will be served")

    def handle(self, *args, host: str, **options):
        feed = settings.SHOP_DEMO_FEED
        if not feed.is_file():
            raise CommandError(f"The demo feed {feed} is missing; restore demo/catalogue from git.")
        source, _ = Source.objects.get_or_create(
            slug=settings.SHOP_DEMO_SOURCE_SLUG,
            defaults={"name": DEMO_SOURCE_NAME, "kind": Source.Kind.FEED},
        )
        try:
            report = catalog_import(path=feed, source=source, progress=True)
        except FeedError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Demo catalogue: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.failed} failed."
        )
        for line, reason in report.errors:
            self.stderr.write(f"{feed.name}, line {line}: {reason}")
        # The import embeds what it stored; this finishes what an interrupted earlier run
        # left (vectors, image hashes) and does nothing otherwise.
        call_command("reindex", stdout=self.stdout, stderr=self.stderr)
        call_command("reindex", hashes=True, stdout=self.stdout, stderr=self.stderr)
        call_command("refresh_same_items", stdout=self.stdout, stderr=self.stderr)

        password = self._admin_password()
        User = get_user_model()
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is None:
            User.objects.create_superuser(ADMIN_USERNAME, email="", password=password)
        elif not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        self.stdout.write(
            self.style.SUCCESS(
                f"\nThe shop: http://{host}/\n"
                f"Admin:    http://{host}/admin/  (user {ADMIN_USERNAME}, password {password})\n"
            )
        )

    def _admin_password(self) -> str:
        """DEMO_ADMIN_PASSWORD, else a random one kept in var/demo-admin.txt so re-runs reuse it."""
        if settings.SHOP_DEMO_ADMIN_PASSWORD:
            return settings.SHOP_DEMO_ADMIN_PASSWORD
        path = settings.SHOP_DEMO_ADMIN_PASSWORD_FILE
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        password = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        logger.info("Stored a new demo admin password in %s", path)
        return password
