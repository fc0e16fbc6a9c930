"""The vision-language model (recommender/embedders/clip.py): a tiny random CLIPModel saved to a
temp folder and loaded through the production loader, as FashionCLIP is in production."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.embedders import (
    REGISTRY,
    EmbedderUnavailable,
    active_model_key,
    get_embedder,
    indexed_model_names,
    text_model_key,
    text_model_name,
)
from recommender.services import query_embed


def test_text_and_image_vectors_share_one_space_and_are_unit(tiny_text_model):
    embedder = get_embedder("fashion-clip")
    assert embedder.embeds_text and embedder.dim == REGISTRY["fashion-clip"].dim == 512
    images = embedder.embed([Image.new("RGB", (60, 80), (200, 30, 30)), Image.new("RGB", (40, 40), "white")])
    words = embedder.embed_text(["red striped shirt", "black leather jacket"])
    assert images.shape == words.shape == (2, 512)
    assert np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(words, axis=1), 1, atol=1e-5)
    # Different words, different vectors (the text tower ran, nothing was faked).
    assert not np.allclose(words[0], words[1])
    # The same words alone give the same vector as in a padded batch (to float rounding).
    assert np.allclose(embedder.embed_text(["red striped shirt"])[0], words[0], atol=1e-5)


def test_the_query_path_embeds_a_photo_with_the_text_model(tiny_text_model):
    vector, key = query_embed(image=Image.new("RGB", (50, 70), (30, 160, 30)), model="fashion-clip")
    assert vector.shape == (512,) and key == active_model_key("fashion-clip") == text_model_key()
    assert key.startswith("fashion-clip@dir-")


def test_text_longer_than_the_window_is_cut_not_refused(tiny_text_model):
    embedder = get_embedder("fashion-clip")
    long = embedder.embed_text(["striped " * 400])  # thousands of tokens, a 16-token window
    assert long.shape == (1, 512) and np.isfinite(long).all()


def test_an_image_model_embeds_no_words():
    with pytest.raises(EmbedderUnavailable, match="images only"):
        get_embedder("efficientnet-lite0").embed_text(["red"])


def test_the_text_model_runs_beside_the_image_model(settings, tiny_text_model):
    assert settings.RECOMMENDER_EMBEDDER == "efficientnet-lite0"
    assert indexed_model_names() == ["efficientnet-lite0", "fashion-clip"]
    assert active_model_key() != text_model_key()
    settings.RECOMMENDER_TEXT_MODEL = ""
    assert text_model_name() is None and indexed_model_names() == ["efficientnet-lite0"]


def test_a_missing_text_model_is_left_out_of_indexing(settings, tmp_path):
    settings.RECOMMENDER_TEXT_MODEL = "fashion-clip"
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "no-clip")
    assert indexed_model_names() == ["efficientnet-lite0"]
    with pytest.raises(EmbedderUnavailable, match="fetch_models"):
        get_embedder("fashion-clip")


def test_an_image_only_text_model_is_refused_but_leaves_image_indexing_alone(settings):
    settings.RECOMMENDER_TEXT_MODEL = "resnet50"
    with pytest.raises(EmbedderUnavailable, match="images only"):
        text_model_name()
    assert indexed_model_names() == ["efficientnet-lite0"]


def test_weights_only_as_a_pickle_are_refused(settings, tmp_path, tiny_clip_dir):
    """A folder whose weights are a pytorch_model.bin (a pickle) is not loaded."""
    import shutil

    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickled-clip"
    shutil.copytree(tiny_clip_dir, folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    settings.RECOMMENDER_FASHION_CLIP = str(folder)
    assert not REGISTRY["fashion-clip"].weights_ready()
    with pytest.raises(EmbedderUnavailable, match="safetensors"):
        get_embedder("fashion-clip")


def test_fetch_models_fetches_the_text_model_and_says_what_to_do_when_it_cannot(
    settings, tmp_path, tiny_clip_dir
):
    from io import StringIO

    from django.core.management import CommandError, call_command

    settings.RECOMMENDER_FASHION_CLIP = str(tiny_clip_dir)
    out = StringIO()
    call_command("fetch_models", "--model", "fashion-clip", "--no-segmenter", stdout=out)
    assert f"fashion-clip: {tiny_clip_dir}" in out.getvalue()
    settings.RECOMMENDER_FASHION_CLIP = str(tmp_path / "no-clip")
    with pytest.raises(CommandError, match="RECOMMENDER_FASHION_CLIP"):
        call_command("fetch_models", "--model", "fashion-clip", "--no-segmenter", stdout=StringIO())
