"""Model files the operator supplies are read as weights, never run as code (issue 11 item 12).

A torch checkpoint is a pickle: ``torch.load(..., weights_only=False)`` runs whatever its
``__reduce__`` says. A Hugging Face folder with only ``pytorch_model.bin`` is the same pickle.
The segmenter is fetched and loaded at one pinned commit, from safetensors only.
"""

from __future__ import annotations

import pytest

from recommender.embedders import EmbedderUnavailable, get_embedder
from recommender.segmentation import (
    DEFAULT_SEGMENTER,
    DEFAULT_SEGMENTER_REVISION,
    SegmenterUnavailable,
    segmenter_load,
    segmenter_revision,
)
from tests.recommender.conftest import TINY_SEGFORMER


class _Payload:
    """Unpickling this runs ``exec``: it writes a marker file (a stand-in for any command)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def test_item12_a_weights_file_with_a_malicious_reduce_is_refused_and_never_run(settings, tmp_path):
    import torch

    marker = tmp_path / "payload-ran"
    weights = tmp_path / "resnet50.pth"
    torch.save({"conv1.weight": _Payload(marker)}, weights)
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(weights)

    with pytest.raises(EmbedderUnavailable) as info:
        get_embedder("resnet50")

    assert not marker.exists(), "the checkpoint's code ran"
    message = str(info.value)
    assert "RECOMMENDER_RESNET50_WEIGHTS" in message and "state dict" in message
    assert "code" in message


def test_item12_a_whole_pickled_model_is_refused_with_advice(settings, tmp_path):
    import torch
    from torchvision.models import resnet50

    weights = tmp_path / "whole-model.pth"
    torch.save(resnet50(weights=None), weights)
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(weights)
    with pytest.raises(EmbedderUnavailable, match=r"torch\.save\(model\.state_dict\(\)"):
        get_embedder("resnet50")


def test_item12_a_state_dict_still_loads(settings, random_resnet50_file):
    settings.RECOMMENDER_RESNET50_WEIGHTS = str(random_resnet50_file)
    assert get_embedder("resnet50").dim == 2048


def _tiny_segformer(folder, *, safetensors: bool = True):
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    from recommender.labels import ATR_LABELS

    config = SegformerConfig(
        **TINY_SEGFORMER,
        id2label=dict(ATR_LABELS.items()),
        label2id={name: i for i, name in ATR_LABELS.items()},
    )
    model = SegformerForSemanticSegmentation(config)
    folder.mkdir(parents=True, exist_ok=True)
    if safetensors:
        model.save_pretrained(folder)
    else:  # the old pickle format: config.json next to pytorch_model.bin
        config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    SegformerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


def test_item12_a_segmenter_folder_with_only_pytorch_model_bin_is_refused(tmp_path):
    folder = _tiny_segformer(tmp_path / "pickled", safetensors=False)
    assert not list(folder.glob("*.safetensors"))
    with pytest.raises(SegmenterUnavailable, match="safetensors"):
        segmenter_load(str(folder))


def test_item12_the_same_folder_in_safetensors_loads(tmp_path):
    folder = _tiny_segformer(tmp_path / "safe")
    assert segmenter_load(str(folder)).id2label[4] == "Upper-clothes"


def test_item12_the_default_segmenter_is_pinned_to_a_commit(settings):
    assert len(DEFAULT_SEGMENTER_REVISION) == 40 and int(DEFAULT_SEGMENTER_REVISION, 16) >= 0
    settings.RECOMMENDER_SEGMENTER_REVISION = ""
    assert segmenter_revision(DEFAULT_SEGMENTER) == DEFAULT_SEGMENTER_REVISION
    settings.RECOMMENDER_SEGMENTER_REVISION = "a" * 40
    assert segmenter_revision(DEFAULT_SEGMENTER) == "a" * 40


def _hub_cache(root, repo: str, commit: str, *, main: str):
    """A Hugging Face cache holding ``repo`` at ``commit``, with refs/main pointing at ``main``."""
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    _tiny_segformer(repo_dir / "snapshots" / commit)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(main)
    return root


def test_item12_the_hub_segmenter_loads_the_pinned_commit_not_main(settings, tmp_path, monkeypatch):
    """Offline, from a Hugging Face cache: the pinned snapshot loads; a cache whose only
    snapshot is another commit (what "main" pointed at) is refused, not silently used."""
    import huggingface_hub.constants

    settings.RECOMMENDER_SEGMENTER_REVISION = ""
    pinned = _hub_cache(tmp_path / "pinned", DEFAULT_SEGMENTER, DEFAULT_SEGMENTER_REVISION, main="0" * 40)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(pinned))
    assert segmenter_load(DEFAULT_SEGMENTER).source == DEFAULT_SEGMENTER

    other = "f" * 40
    moved = _hub_cache(tmp_path / "moved", DEFAULT_SEGMENTER, other, main=other)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(moved))
    with pytest.raises(SegmenterUnavailable, match=DEFAULT_SEGMENTER_REVISION[:12]):
        segmenter_load(DEFAULT_SEGMENTER)
