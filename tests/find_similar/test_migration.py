"""find_similar 0001 / looks 0002 / recommender 0007 (issue 12): QueryImage and QueryRegion move
from the recommender to find_similar on a database with data, and back. Every upload keeps its
id and values, its regions theirs (vector included), a look keeps pointing at its upload, the
region id sequence carries on, and the content types (so the permissions on them) follow."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("find_similar", None)]
AFTER = [
    ("find_similar", "0001_initial"),
    ("looks", "0002_look_upload_find_similar"),
    ("recommender", "0007_queryimage_moved_to_find_similar"),
]
UPLOAD_FIELDS = (
    "id",
    "image",
    "width",
    "height",
    "sha256",
    "size_bytes",
    "status",
    "garments",
    "chosen",
    "filters",
    "results",
    "model_key",
    "client_hash",
    "source_product_id",
    "created_at",
)
REGION_FIELDS = ("id", "upload_id", "key", "model_key", "status", "histogram", "mask", "error")


# The apps as they stand with find_similar unapplied (a state of "find_similar zero" is asked
# of the nodes it leaves applied).
BEFORE_STATE = [
    ("recommender", "0006_productcolour_phash_fine"),
    ("looks", "0001_initial"),
    ("shop", "0004_exchange_rates_same_item_groups"),
]
AUTH = ("auth", "0012_alter_user_first_name_max_length")  # permissions, in both states


def _migrate(targets, state=None):
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state([*(state or targets), AUTH]).apps


def _floats(vector) -> list[float] | None:
    return None if vector is None else [float(v) for v in vector]


def _rows(apps, app_label: str) -> dict:
    QueryImage = apps.get_model(app_label, "QueryImage")
    QueryRegion = apps.get_model(app_label, "QueryRegion")
    return {
        "uploads": list(QueryImage.objects.order_by("id").values(*UPLOAD_FIELDS)),
        "regions": list(QueryRegion.objects.order_by("id").values(*REGION_FIELDS)),
        "vectors": [_floats(r.vector) for r in QueryRegion.objects.order_by("id")],
        "looks": dict(apps.get_model("looks", "Look").objects.values_list("id", "upload_id")),
    }


@pytest.mark.django_db(transaction=True)
def test_uploads_move_to_find_similar_with_their_data_and_back():
    try:
        old_apps = _migrate(BEFORE, BEFORE_STATE)
        Source = old_apps.get_model("shop", "Source")
        Product = old_apps.get_model("shop", "Product")
        QueryImage = old_apps.get_model("recommender", "QueryImage")
        QueryRegion = old_apps.get_model("recommender", "QueryRegion")
        ContentType = old_apps.get_model("contenttypes", "ContentType")
        Permission = old_apps.get_model("auth", "Permission")
        content_type, _ = ContentType.objects.get_or_create(app_label="recommender", model="queryimage")
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename="view_queryimage",
            defaults={"name": "Can view uploaded photo"},
        )
        source = Source.objects.create(name="Demo", slug="demo-migration")
        product = Product.objects.create(source=source, external_id="m-1", title="Shirt", price=Decimal("10"))
        upload = QueryImage.objects.create(
            id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
            image="uploads/2026/12/abc.jpg",
            width=640,
            height=480,
            sha256="a" * 64,
            size_bytes=1234,
            status="ready",
            garments=[
                {"kind": "top", "box": [1, 2, 3, 4], "score": 0.9, "mask": {"size": [2, 2], "runs": [4]}}
            ],
            chosen={"garment": 0, "kind": "top"},
            filters={"categories": ["top"]},
            results=[{"product": product.pk, "distance": 0.1}],
            model_key="efficientnet-lite0@x",
            client_hash="c" * 32,
            source_product=product,
        )
        other = QueryImage.objects.create(sha256="b" * 64, size_bytes=9, image="uploads/2026/12/b.jpg")
        kept = QueryRegion.objects.create(
            upload=upload,
            key="g0",
            model_key="m@1",
            status="ready",
            vector=[0.5, 0.25, 0.125],
            histogram=[[1.0]],
            mask=None,
        )
        gone = QueryRegion.objects.create(upload=other, key="w", model_key="m@1", error="unavailable")
        Look = old_apps.get_model("looks", "Look")
        look = Look.objects.create(upload=upload, budget=Decimal("100"), currency="KRW")
        before = _rows(old_apps, "recommender")
        assert len(before["uploads"]) == 2 and len(before["regions"]) == 2

        new_apps = _migrate(AFTER)
        assert _rows(new_apps, "find_similar") == before
        assert new_apps.get_model("looks", "Look").objects.get(pk=look.pk).upload_id == upload.pk
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert {"find_similar_queryimage", "find_similar_queryregion"} <= set(tables)
        assert "recommender_queryimage" not in tables
        moved = new_apps.get_model("contenttypes", "ContentType").objects.get(pk=content_type.pk)
        assert (moved.app_label, moved.model) == ("find_similar", "queryimage")
        assert (
            new_apps.get_model("auth", "Permission").objects.get(pk=permission.pk).content_type_id == moved.pk
        )
        NewRegion = new_apps.get_model("find_similar", "QueryRegion")
        fresh = NewRegion.objects.create(upload_id=other.pk, key="g1", model_key="m@1")
        assert fresh.pk == gone.pk + 1  # the identity sequence followed the table
        fresh.delete()
        # Deleting an upload still cascades to its regions and looks through the renamed tables.
        new_apps.get_model("find_similar", "QueryImage").objects.filter(pk=other.pk).delete()
        assert not NewRegion.objects.filter(pk=gone.pk).exists()

        old_apps = _migrate(BEFORE, BEFORE_STATE)
        after_back = _rows(old_apps, "recommender")
        assert after_back["uploads"] == [u for u in before["uploads"] if u["id"] == upload.pk]
        assert after_back["regions"] == [r for r in before["regions"] if r["id"] == kept.pk]
        assert after_back["looks"] == before["looks"]
        back = old_apps.get_model("contenttypes", "ContentType").objects.get(pk=content_type.pk)
        assert back.app_label == "recommender"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
