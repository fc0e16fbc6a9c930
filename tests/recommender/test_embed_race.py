"""A crawl replaces a product's photo while an embedding batch holds the old one (issue 11,
item 15). The batch finds the old file gone; it must not flag the product or clear its
mark, because the new photo is fine and still needs a vector."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from recommender import services
from recommender.embedders import active_model_key
from recommender.models import Embedding
from recommender.services import embedding_compute_batch
from shop.models import Product
from shop.services import product_image_store
from tests.shop.factories import ProductFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def replaced_mid_batch(monkeypatch, django_capture_on_commit_callbacks):
    """Replace the product's photo (as a crawl would, old file deleted on commit) at the
    exact moment the batch, holding the row it loaded, goes to read the photo."""
    product = ProductFactory(
        image=ContentFile(jpeg_bytes((200, 30, 30), size=(60, 80)), name="old.jpg"), price=Decimal(1000)
    )
    product_image_store(product=product, data=jpeg_bytes((200, 30, 30), size=(60, 80)))
    original = services._product_image
    replaced = []

    def read_after_crawl(loaded):
        if not replaced:
            fresh = Product.objects.get(pk=loaded.pk)
            with django_capture_on_commit_callbacks(execute=True):
                assert product_image_store(product=fresh, data=jpeg_bytes((30, 30, 200), size=(64, 80)))
            replaced.append(fresh.image_sha256)
        return original(loaded)

    monkeypatch.setattr(services, "_product_image", read_after_crawl)
    return product, replaced


def test_a_batch_racing_an_image_replacement_leaves_the_product_marked_and_unflagged(replaced_mid_batch):
    product, replaced = replaced_mid_batch
    result = embedding_compute_batch(product_ids=[product.pk])
    assert replaced and product.pk in result.failed  # the race happened: the old file was gone
    product.refresh_from_db()
    assert product.image_sha256 == replaced[0]
    assert product.needs_embedding, "the new photo was never embedded: the mark must stay"
    assert product.image_error == "", "the new photo is fine: no flag may hide it from the next batch"
    # The next batch embeds the new photo and clears the mark.
    result = embedding_compute_batch(product_ids=[product.pk])
    assert result.embedded == [product.pk]
    product.refresh_from_db()
    assert not product.needs_embedding
    vector = Embedding.objects.get(product=product, model_key=active_model_key())
    assert vector.image_sha256 == product.image_sha256
