"""Indexing: embedding batches with the real efficientnet-lite0 weights, bad images,
idempotent upserts, the reindex command, fetch_models errors, admin actions."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from recommender.embedders import active_model_key, get_embedder
from recommender.models import Embedding, ProductColour
from recommender.selectors import products_pending_embedding
from recommender.services import embedding_compute_batch
from shop.models import Product
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


def _products(n: int) -> list[Product]:
    colours = [(200, 30, 30), (30, 30, 200), (30, 160, 30), (230, 210, 40), (20, 20, 20)]
    return [
        ProductFactory(
            image=ContentFile(jpeg_bytes(colours[i % len(colours)], size=(60, 80)), name=f"p{i}.jpg"),
            image_sha256=f"sha{i}",
            price=Decimal(1000 + i),
        )
        for i in range(n)
    ]


def test_a_batch_embeds_stores_colour_and_clears_the_mark():
    products = _products(3)
    result = embedding_compute_batch(product_ids=[p.pk for p in products])
    assert sorted(result.embedded) == sorted(p.pk for p in products) and not result.failed
    key = active_model_key()
    rows = Embedding.objects.filter(model_key=key)
    assert rows.count() == 3
    assert set(rows.values_list("model_name", flat=True)) == {"efficientnet-lite0"}
    vector = np.asarray(rows.get(product=products[0]).vector)
    assert vector.shape == (1280,) and abs(np.linalg.norm(vector) - 1) < 1e-2
    assert not Product.objects.filter(pk__in=[p.pk for p in products], needs_embedding=True).exists()
    red = ProductColour.objects.get(product=products[0])
    assert np.allclose(np.asarray(red.histogram).sum(axis=1), 1, atol=1e-3)
    assert red.mean_rgb[0] > 150 and red.mean_rgb[2] < 80  # the red square, not the white pad
    assert products_pending_embedding(model_key=key) == []


def test_rerunning_a_batch_leaves_one_vector_per_product_and_model():
    products = _products(2)
    ids = [p.pk for p in products]
    embedding_compute_batch(product_ids=ids)
    first = dict(Embedding.objects.values_list("product_id", "vector"))
    embedding_compute_batch(product_ids=ids)
    assert Embedding.objects.count() == 2
    for pk, vector in Embedding.objects.values_list("product_id", "vector"):
        np.testing.assert_allclose(np.asarray(vector), np.asarray(first[pk]), atol=1e-3)


def test_a_corrupt_image_is_flagged_and_the_batch_goes_on():
    good, bad, gone = _products(3)
    bad.image.save("broken.jpg", ContentFile(jpeg_bytes()[:60]), save=True)
    gone.image.storage.delete(gone.image.name)
    result = embedding_compute_batch(product_ids=[bad.pk, good.pk, gone.pk, 999_999])
    assert result.embedded == [good.pk]
    assert set(result.failed) == {bad.pk, gone.pk} and result.missing == [999_999]
    bad.refresh_from_db()
    gone.refresh_from_db()
    assert "damaged or incomplete" in bad.image_error
    assert "missing" in gone.image_error and "re-crawl" in gone.image_error
    assert not bad.needs_embedding  # not retried until its image changes
    assert Embedding.objects.filter(product=good).count() == 1
    assert not Embedding.objects.filter(product__in=[bad, gone]).exists()


def test_reindex_command_is_resumable_and_safe_twice(settings, random_resnet50_file):
    products = _products(4)
    out = StringIO()
    call_command("reindex", stdout=out, stderr=StringIO())
    assert "4 products to embed" in out.getvalue()
    assert Embedding.objects.count() == 4
    out = StringIO()
    call_command("reindex", stdout=out, stderr=StringIO())
    assert "0 products to embed" in out.getvalue() and Embedding.objects.count() == 4
    # A changed image is picked up by the next run.
    Product.objects.filter(pk=products[0].pk).update(needs_embedding=True)
    out = StringIO()
    call_command("reindex", stdout=out, stderr=StringIO())
    assert "1 products to embed" in out.getvalue()
    # Another model indexes alongside; the active model's vectors stay.
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50_file)
    call_command("reindex", "--model", "resnet50", "--batch-size", "2", stdout=StringIO(), stderr=StringIO())
    resnet_key = get_embedder("resnet50").model_key
    assert Embedding.objects.filter(model_key=resnet_key).count() == 4
    assert Embedding.objects.filter(model_key=active_model_key()).count() == 4
    out = StringIO()
    call_command("reindex", "--model", "resnet50", stdout=out, stderr=StringIO())
    assert "0 products to embed" in out.getvalue()
    call_command("reindex", "--all", stdout=(out := StringIO()), stderr=StringIO())
    assert "4 products to embed" in out.getvalue() and Embedding.objects.count() == 8


def test_reindex_with_missing_weights_is_one_clear_error(settings, tmp_path):
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "missing.pth")
    with pytest.raises(CommandError, match="fetch_models"):
        call_command("reindex", "--model", "resnet50", stdout=StringIO())


def test_fetch_models_offline_reports_what_to_do(settings, tmp_path, random_resnet50_file):
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50_file)
    settings.RECOMMENDER_SEGMENTER = str(tmp_path / "nowhere")
    with pytest.raises(CommandError, match="copy the weights"):
        call_command("fetch_models", "--model", "efficientnet-lite0", stdout=StringIO())


def test_admin_actions_mark_and_embed(admin_client, django_capture_on_commit_callbacks):
    products = _products(2)
    embedding_compute_batch(product_ids=[p.pk for p in products])
    url = reverse("admin:shop_product_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "reindex_selected", "_selected_action": [products[0].pk]}, follow=True
        )
    assert response.status_code == 200
    assert "queued for re-indexing" in response.content.decode()
    # Eager Celery (no broker in tests): the queued task already re-embedded it.
    assert not Product.objects.filter(needs_embedding=True).exists()
    assert Embedding.objects.count() == 2
    response = admin_client.get(reverse("admin:recommender_embedding_changelist"))
    assert response.status_code == 200 and active_model_key() in response.content.decode()


def test_segmented_catalogue_then_whole_shots_keeps_one_vector_per_product(settings, tiny_segmenter):
    from recommender.segmentation import get_segmenter

    products = _products(2)
    ids = [p.pk for p in products]
    settings.RECOMMENDER_SEGMENT_CATALOGUE = True
    settings.RECOMMENDER_MIN_GARMENT_SHARE = 0.0
    embedding_compute_batch(product_ids=ids)
    # The tiny random segmenter finds *some* garment on a 60 x 80 photo (or none: whole shot).
    found = get_segmenter().segment(_image(products[0]))
    expected = "garment" if found else "full"
    assert Embedding.objects.get(product=products[0]).region == expected
    settings.RECOMMENDER_SEGMENT_CATALOGUE = False
    embedding_compute_batch(product_ids=ids)
    assert list(Embedding.objects.filter(product__in=ids).values_list("region", flat=True)) == [
        "full",
        "full",
    ]


def _image(product):
    from PIL import Image

    with product.image.open("rb") as fh:
        return Image.open(fh).convert("RGB")
