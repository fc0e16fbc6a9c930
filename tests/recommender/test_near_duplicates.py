"""Near-duplicate alternatives: the product's own photo sold by another shop (byte-identical
or re-encoded and resized) is not its "alternative", and a photo several shops sell shows
once, at its cheapest. Real CC0 photos from demo/catalogue, real efficientnet-lite0
embeddings in pgvector."""

from __future__ import annotations

import hashlib
import io
import itertools
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from PIL import Image

from recommender.colour import rgb_histogram
from recommender.duplicates import NEAR_DUPLICATE_MAX_BITS, image_phash, is_near_duplicate, phash_distance
from recommender.models import ProductColour
from recommender.preprocess import garment_on_white
from recommender.services import embedding_compute_batch
from tests.shop.factories import ProductFactory, SourceFactory, category

PHOTOS = Path(django_settings.BASE_DIR) / "demo" / "catalogue" / "images"
# Four different shirts and two t-shirts (CC0, demo/catalogue/LICENSE).
SHIRTS = sorted((PHOTOS / "shirt").glob("*.jpg"))[:4]
TSHIRTS = sorted((PHOTOS / "t-shirt").glob("*.jpg"))[:2]


def _encode(image: Image.Image, *, scale: float = 1.0, quality: int = 90) -> bytes:
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _photo(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def _product(title: str, data: bytes, price: int, shop: str):
    return ProductFactory(
        title=title,
        source=SourceFactory(slug=shop, name=shop),
        category=category("top"),
        price=Decimal(price),
        image=ContentFile(data, name=f"{title}.jpg"),
        image_sha256=hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture(scope="module", autouse=True)
def _vacuum_embeddings_after(django_db_blocker):
    """Each test's rolled-back vectors stay in the HNSW graph as dead tuples until a vacuum;
    a few dozen of them make later tests' filtered searches (relaxed_order iterative scan)
    come back short. Vacuum the table once this module is done, as autovacuum would."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("VACUUM recommender_embedding")


@pytest.fixture
def catalogue(db, settings):
    """A shirt, the same file at another shop, a resized re-encode of it at a third, two
    other shirts, and a fourth shirt sold by two shops (the dearer copy re-encoded)."""
    settings.RECOMMENDER_MAX_DISTANCE = 2.0
    original = _encode(_photo(SHIRTS[0]))
    group = _photo(SHIRTS[3])
    items = {
        "main": _product("Oxford shirt", original, 50000, "shop-a"),
        "exact": _product("Oxford shirt (copy)", original, 45000, "shop-b"),
        "resized": _product(
            "Oxford shirt, resized", _encode(_photo(SHIRTS[0]), scale=0.6, quality=70), 40000, "shop-c"
        ),
        "other_1": _product("Striped shirt", _encode(_photo(SHIRTS[1])), 60000, "shop-a"),
        "other_2": _product("Linen shirt", _encode(_photo(SHIRTS[2])), 55000, "shop-b"),
        "group_dear": _product("Flannel shirt", _encode(group, scale=0.8, quality=75), 70000, "shop-a"),
        "group_cheap": _product("Flannel shirt", _encode(group), 30000, "shop-c"),
    }
    result = embedding_compute_batch(product_ids=[p.pk for p in items.values()])
    assert sorted(result.embedded) == sorted(p.pk for p in items.values())
    return items


def _alternatives(client, product) -> list[int]:
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    return [alt["product"].pk for alt in response.context["alternatives"]]


def test_indexing_stores_the_perceptual_hash(catalogue):
    main, resized, other = (
        ProductColour.objects.get(product=catalogue[k]).phash for k in ("main", "resized", "other_1")
    )
    assert len(main) == 16 and main == image_phash(_photo(catalogue["main"].image.path))
    assert phash_distance(main, resized) <= NEAR_DUPLICATE_MAX_BITS < phash_distance(main, other)


def test_copies_of_its_own_photo_are_not_alternatives(client, catalogue):
    ids = _alternatives(client, catalogue["main"])
    assert catalogue["exact"].pk not in ids
    assert catalogue["resized"].pk not in ids
    assert {catalogue["other_1"].pk, catalogue["other_2"].pk} <= set(ids)


def test_a_photo_several_shops_sell_shows_once_at_its_cheapest(client, catalogue):
    ids = _alternatives(client, catalogue["main"])
    assert catalogue["group_cheap"].pk in ids
    assert catalogue["group_dear"].pk not in ids
    # The copies of the main photo collapse among themselves too (on another's page).
    ids = _alternatives(client, catalogue["other_1"])
    copies = {catalogue[k].pk for k in ("main", "exact", "resized")}
    assert len(copies & set(ids)) == 1 and catalogue["resized"].pk in ids  # the cheapest
    assert len(ids) == len(set(ids)) == 3


def test_still_returns_k_when_the_nearest_are_duplicates(client, catalogue, settings):
    # Without the colour re-rank pool only k + headroom rows are fetched: the two copies
    # (nearest, distance ~0) must not use up the k places.
    settings.RECOMMENDER_COLOUR_WEIGHT = 0.0
    settings.RECOMMENDER_ALTERNATIVES_COUNT = 2
    settings.RECOMMENDER_DUPLICATE_HEADROOM = 3
    ids = _alternatives(client, catalogue["main"])
    assert len(ids) == 2
    assert not {catalogue["exact"].pk, catalogue["resized"].pk, catalogue["group_dear"].pk} & set(ids)


def test_query_count_is_unchanged(client, catalogue, django_assert_max_num_queries):
    # The same pin as test_alternatives: the hashes come with the colour rows already read.
    with django_assert_max_num_queries(13):
        client.get(catalogue["main"].get_absolute_url())


def test_reindex_hashes_fills_in_products_embedded_before_hashes(catalogue):
    ProductColour.objects.update(phash="")
    out = io.StringIO()
    call_command("reindex", "--hashes", verbosity=0, stdout=out)
    assert "Hashed 7 products; 0 flagged." in out.getvalue()
    for product in catalogue.values():
        stored = ProductColour.objects.get(product=product).phash
        assert stored == image_phash(_photo(product.image.path))


def test_threshold_separates_transformed_copies_from_different_photos():
    photos = [_photo(path) for path in SHIRTS + TSHIRTS]
    hashes = [image_phash(photo) for photo in photos]
    for photo, own in zip(photos, hashes, strict=True):
        for copy in (
            _encode(photo, quality=60),
            _encode(photo, scale=0.5, quality=85),
            _encode(photo.crop((2, 2, photo.width - 2, photo.height - 2))),
        ):
            copied = image_phash(Image.open(io.BytesIO(copy)).convert("RGB"))
            assert is_near_duplicate(sha256_a="", phash_a=own, sha256_b="", phash_b=copied)
    for a, b in itertools.combinations(hashes, 2):
        assert not is_near_duplicate(sha256_a="", phash_a=a, sha256_b="", phash_b=b), (a, b)
    # The same shot with the garment recoloured is another product: pHash (luminance) alone
    # matches it, the colour check does not.
    shirt, own_hash = photos[4], hashes[4]  # a t-shirt in colour: recoloured, it hashes alike
    hsv = np.array(shirt.convert("HSV"))
    hsv[..., 0] = (hsv[..., 0].astype(int) + 85) % 256
    recoloured = Image.fromarray(hsv, "HSV").convert("RGB")
    resized = Image.open(io.BytesIO(_encode(shirt, scale=0.5, quality=70))).convert("RGB")
    assert phash_distance(own_hash, image_phash(recoloured)) <= NEAR_DUPLICATE_MAX_BITS
    own = dict(sha256_a="", phash_a=own_hash, colour_a=rgb_histogram(garment_on_white(shirt)), sha256_b="")
    assert not is_near_duplicate(
        **own, phash_b=image_phash(recoloured), colour_b=rgb_histogram(garment_on_white(recoloured))
    )
    assert is_near_duplicate(
        **own, phash_b=image_phash(resized), colour_b=rgb_histogram(garment_on_white(resized))
    )
    # A flat colour has no texture to hash: red and blue squares are not "the same photo".
    red, blue = (image_phash(Image.new("RGB", (60, 80), c)) for c in ((200, 30, 30), (30, 30, 200)))
    assert red == blue and not is_near_duplicate(sha256_a="", phash_a=red, sha256_b="", phash_b=blue)
    # Identical files match on SHA-256 alone, even before any hash is stored.
    assert is_near_duplicate(sha256_a="ab" * 32, phash_a="", sha256_b="ab" * 32, phash_b="")
    assert not is_near_duplicate(sha256_a="", phash_a="", sha256_b="", phash_b="")
