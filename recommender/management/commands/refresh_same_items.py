"""python manage.py refresh_same_items: regroup products whose photos are near duplicates.

Beat runs the same service every SHOP_SAME_ITEM_REFRESH_SECONDS (recommender.tasks.embed_same_item_groups);
run this after a large import or a ``reindex --hashes`` to see the groups at once.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from recommender.services import same_item_groups_refresh


class Command(BaseCommand):
    help = (
        "Group products whose photos are near duplicates (the same item at several shops) for "
        '"Also sold at" and the "Lowest price" badge. Safe to run at any time.'
    )

    def handle(self, *args, **options):
        result = same_item_groups_refresh()
        self.stdout.write(
            f"{result.groups} groups of the same item ({result.grouped} products); "
            f"{result.changed} products regrouped."
        )
