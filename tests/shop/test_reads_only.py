"""Catalogue pages only read: a GET of the home, a search or a product page (with its
alternatives, first and cached) writes nothing, so they scale out on read replicas and a
busy page never waits on row locks."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.services import embedding_compute_batch
from tests.shop.factories import photo_product

pytestmark = pytest.mark.django_db


def test_catalogue_pages_write_nothing_on_get(client, settings):
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    cache.clear()
    main = photo_product("Red top", (200, 30, 30), 20000)
    photo_product("Other red top", (190, 40, 35), 15000)
    embedding_compute_batch(product_ids=[main.pk])
    paths = [
        "/",
        "/?q=red&category=top&price_max=30000",
        main.get_absolute_url(),
        main.get_absolute_url() + "?cheaper=1",
    ]
    for _ in range(2):  # cold caches, then warm ones
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            writes = [
                q["sql"]
                for q in queries.captured_queries
                if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                or "FOR UPDATE" in q["sql"]
            ]
            assert writes == [], (path, writes)
