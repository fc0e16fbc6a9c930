"""FashionCLIP: the vision-language model that puts words and garment photos in one space.

It runs beside the image embedder (RECOMMENDER_EMBEDDER, "looks like this"): named by
RECOMMENDER_TEXT_MODEL, it embeds every catalogue image a second time under its own model key,
and embeds a shopper's words ("red striped shirt") into the same space. Why this model and not
Marqo-FashionSigLIP: see the README ("Models and their licences").

Loaded with transformers' plain ``CLIPModel`` and ``CLIPProcessor``: no remote code
(``trust_remote_code`` stays off), weights from safetensors only (a ``pytorch_model.bin`` is a
pickle, and unpickling runs code from the file). RECOMMENDER_FASHION_CLIP is a Hugging Face id,
read from the local cache at RECOMMENDER_FASHION_CLIP_REVISION (``manage.py fetch_models`` fills
it), or a folder saved with ``save_pretrained``. Nothing here imports torch until a model loads:
the registry is read by models.py and by the web process's start-up checks.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from recommender.embedders.base import EmbedderUnavailable, ModelParts, file_tag
from recommender.errors import OFFLINE_HINT

DEFAULT_SOURCE = "patrickjohncyh/fashion-clip"
# What the loader reads: the model's config and its safetensors weights (the processor's files
# are small and come with them from fetch_models).
REQUIRED_FILES = ("config.json", "model.safetensors")


def clip_source() -> str:
    return settings.RECOMMENDER_FASHION_CLIP


def clip_revision(source: str) -> str | None:
    """The hub commit to fetch and load at (None: the hub's "main"); a folder has none."""
    if Path(source).is_dir():
        return None
    return settings.RECOMMENDER_FASHION_CLIP_REVISION or None


def _is_path(source: str) -> bool:
    return Path(source).is_dir() or source.startswith((".", "/", "~"))


def _cached(source: str, name: str) -> str | None:
    """The file's path in the Hugging Face cache at the configured revision, else None."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(source, name, revision=clip_revision(source))
    return found if isinstance(found, str) else None


def clip_ready() -> bool:
    """Cheap: the files are on disk; nothing is loaded."""
    source = clip_source()
    if _is_path(source):
        return all((Path(source).expanduser() / name).is_file() for name in REQUIRED_FILES)
    return all(_cached(source, name) for name in REQUIRED_FILES)


def clip_version() -> str:
    """The weights' version in the model key: a folder's weights file tag, or the hub commit the
    cache holds them under (snapshots/<commit>/), so new weights never share a key with old."""
    source = clip_source()
    if _is_path(source):
        weights = Path(source).expanduser() / "model.safetensors"
        return f"dir-{file_tag(weights)}" if weights.is_file() else "dir-missing"
    weights = _cached(source, "model.safetensors")
    return Path(weights).parent.name[:12] if weights else "missing"


def _features(output):
    """transformers 5 returns the projected features as ``pooler_output`` of an output object;
    earlier versions returned the tensor itself."""
    return output if hasattr(output, "dim") else output.pooler_output


def clip_load(*, local_files_only: bool = True) -> ModelParts:
    """The CLIP model's two towers with its tokenizer and image statistics.

    Raises EmbedderUnavailable with what to run or set when the files are missing or are not a
    CLIP model in safetensors."""
    import torch
    from transformers import CLIPModel, CLIPProcessor

    source = clip_source()
    revision = clip_revision(source)
    location = str(Path(source).expanduser()) if _is_path(source) else source
    try:
        processor = CLIPProcessor.from_pretrained(
            location, local_files_only=local_files_only, revision=revision
        )
        model = CLIPModel.from_pretrained(
            location, local_files_only=local_files_only, revision=revision, use_safetensors=True
        )
    except (OSError, ValueError, TypeError) as exc:
        at = f" at revision {revision}" if revision else ""
        raise EmbedderUnavailable(
            f"The vision-language model {source!r}{at} could not be loaded "
            f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}). It must be a "
            "CLIP model with its weights as safetensors (model.safetensors; a pytorch_model.bin is "
            "refused because loading it can run code). "
            + OFFLINE_HINT
            + " (setting: RECOMMENDER_FASHION_CLIP, a Hugging Face id or a folder saved with "
            "save_pretrained; RECOMMENDER_FASHION_CLIP_REVISION, the hub commit)"
        ) from exc

    class ImageTower(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixels):
            return _features(self.inner.get_image_features(pixel_values=pixels))

    class TextTower(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return _features(self.inner.get_text_features(input_ids=input_ids, attention_mask=attention_mask))

    images = processor.image_processor
    tokenizer = processor.tokenizer
    # The text tower has one position per token: longer input is cut there, never refused.
    window = int(model.config.text_config.max_position_embeddings)
    return ModelParts(
        module=ImageTower(model),
        mean=tuple(images.image_mean),
        std=tuple(images.image_std),
        input_size=int(model.config.vision_config.image_size),
        text_module=TextTower(model),
        tokenizer=tokenizer,
        max_text_tokens=min(window, int(tokenizer.model_max_length or window)),
    )


def clip_fetch() -> str:
    """Download the model into the Hugging Face cache (safetensors only); returns where from."""
    clip_load(local_files_only=False)
    source = clip_source()
    revision = clip_revision(source)
    if revision is None and not _is_path(source):
        return (
            f"{source} (not pinned: set RECOMMENDER_FASHION_CLIP_REVISION to the commit you checked, "
            "so every server loads the same weights)"
        )
    return f"{source} at {revision}" if revision else source
