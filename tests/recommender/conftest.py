"""Recommender fixtures: tiny random models saved to a temp dir and loaded through the
production loaders (no hub access in tests), and embedded products."""

from __future__ import annotations

import pytest

from recommender.labels import ATR_LABELS

# Small enough to run in ~50 ms per image on 2 cores, same classes as the real B2 model.
TINY_SEGFORMER = dict(
    num_channels=3,
    num_encoder_blocks=4,
    depths=[1, 1, 1, 1],
    sr_ratios=[8, 4, 2, 1],
    hidden_sizes=[8, 16, 24, 32],
    num_attention_heads=[1, 1, 1, 1],
    decoder_hidden_size=32,
)


@pytest.fixture(scope="session")
def tiny_segformer_dir(tmp_path_factory):
    """A randomly initialised SegFormer with the 18 ATR labels, saved with save_pretrained
    next to its image processor, as a local RECOMMENDER_SEGMENTER directory."""
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-segformer")
    config = SegformerConfig(
        **TINY_SEGFORMER,
        id2label={i: name for i, name in ATR_LABELS.items()},
        label2id={name: i for i, name in ATR_LABELS.items()},
    )
    SegformerForSemanticSegmentation(config).save_pretrained(path)
    SegformerImageProcessor(size={"height": 128, "width": 128}).save_pretrained(path)
    return path


@pytest.fixture
def tiny_segmenter(settings, tiny_segformer_dir):
    """Point RECOMMENDER_SEGMENTER at the tiny model; returns its directory."""
    settings.RECOMMENDER_SEGMENTER = str(tiny_segformer_dir)
    return tiny_segformer_dir


@pytest.fixture(scope="session")
def random_resnet50_file(tmp_path_factory):
    """A torchvision ResNet50 with random weights, saved with torch.save (a state dict)."""
    import torch
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("resnet50") / "resnet50-random.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


@pytest.fixture
def garment_categories(transactional_db):
    """The garment categories a migration seeds. A transactional test's database is
    emptied after every such test, seeded rows included, so tests that need a real commit
    (a worker process, a live server) put them back."""
    from shop.services import category_seed

    category_seed()


# A CLIP the size of a unit test: the same classes as FashionCLIP (CLIPModel, CLIPProcessor with
# a byte-pair tokenizer), 32-pixel images, a 16-token text window, and FashionCLIP's 512-d
# projection so its vectors fit the registered index.
TINY_CLIP_TEXT = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    max_position_embeddings=16,
)
TINY_CLIP_VISION = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=2,
    image_size=32,
    patch_size=8,
)


def tiny_clip_tokenizer():
    """A CLIP byte-pair tokenizer built offline: one token per lowercase letter (and its
    word-final form), no merges. Anything else (Hangul, digits) becomes the unknown token."""
    from transformers import CLIPTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {ch: i for i, ch in enumerate(letters)}
    vocab.update({f"{ch}</w>": len(letters) + i for i, ch in enumerate(letters)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


def tiny_clip_save(path, *, seed: int = 0) -> None:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer = tiny_clip_tokenizer()
    ids = tokenizer.get_vocab()
    text = dict(
        TINY_CLIP_TEXT,
        vocab_size=len(ids),
        bos_token_id=ids["<|startoftext|>"],
        eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    torch.manual_seed(seed)
    CLIPModel(
        CLIPConfig(text_config=text, vision_config=TINY_CLIP_VISION, projection_dim=512)
    ).save_pretrained(path)
    side = TINY_CLIP_VISION["image_size"]
    images = CLIPImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(path)


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory):
    """A randomly initialised CLIP saved with save_pretrained (safetensors), as a local
    RECOMMENDER_FASHION_CLIP folder."""
    path = tmp_path_factory.mktemp("tiny-clip")
    tiny_clip_save(path)
    return path


@pytest.fixture
def tiny_text_model(settings, tiny_clip_dir):
    """Searching by description on, with the tiny CLIP as "fashion-clip"; returns its folder."""
    settings.RECOMMENDER_TEXT_MODEL = "fashion-clip"
    settings.RECOMMENDER_FASHION_CLIP = str(tiny_clip_dir)
    return tiny_clip_dir
