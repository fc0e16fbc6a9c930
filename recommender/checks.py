"""System checks: configured model weights must be present unless the demo fallback is on.

Django runs these before runserver, migrate and `manage.py check`, so a production server
(RECOMMENDER_DEMO_FALLBACK off) stops at start-up with the fix in the message instead of
failing on the first page or task. fetch_models and reindex skip them (they are the fix).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register

from recommender.embedders import REGISTRY, active_embedder_name, embedder_fallback_notice
from recommender.errors import OFFLINE_HINT


def _segmenter_present(source: str) -> bool:
    path = Path(source)
    if path.is_dir():
        return (path / "config.json").is_file()
    if source.startswith((".", "/")):
        return False
    from huggingface_hub import try_to_load_from_cache

    from recommender.segmentation import segmenter_revision

    # At the revision the workers load, with safetensors weights (what segmenter_load accepts).
    revision = segmenter_revision(source)
    return all(
        isinstance(try_to_load_from_cache(source, name, revision=revision), str)
        for name in ("config.json", "model.safetensors")
    )


@register("models")
def recommender_models_check(app_configs=None, **kwargs):
    problems = []
    name = settings.RECOMMENDER_EMBEDDER
    if name not in REGISTRY:
        return [
            Error(
                f"Unknown embedder {name!r}.",
                hint=f"Set RECOMMENDER_EMBEDDER to one of: {', '.join(REGISTRY)}.",
                id="recommender.E001",
            )
        ]
    if not REGISTRY[name].weights_ready():
        if settings.RECOMMENDER_DEMO_FALLBACK:
            problems.append(
                Warning(
                    str(embedder_fallback_notice() or ""),
                    hint="Demo fallback: " + active_embedder_name() + " is used instead.",
                    id="recommender.W001",
                )
            )
        else:
            problems.append(
                Error(
                    f"The weights of the embedder {name!r} are missing.",
                    hint=OFFLINE_HINT + " (RECOMMENDER_RESNET50_WEIGHTS for a local ResNet50 file)",
                    id="recommender.E002",
                )
            )
    problems.extend(_text_model_problems())
    if not _segmenter_present(settings.RECOMMENDER_SEGMENTER):
        message = f"The garment segmenter {settings.RECOMMENDER_SEGMENTER!r} is not downloaded."
        if settings.RECOMMENDER_DEMO_FALLBACK:
            problems.append(
                Warning(
                    message,
                    hint="Find similar will say garment detection is unavailable. " + OFFLINE_HINT,
                    id="recommender.W002",
                )
            )
        else:
            problems.append(
                Error(
                    message,
                    hint=OFFLINE_HINT + " (RECOMMENDER_SEGMENTER for a local directory)",
                    id="recommender.E003",
                )
            )
    return problems


def _text_model_problems() -> list:
    """RECOMMENDER_TEXT_MODEL, when set, must name a registered model that embeds words, with
    its weights on disk (production stops; the demo warns and searching by description says
    it is unavailable)."""
    name = settings.RECOMMENDER_TEXT_MODEL
    if not name:
        return []
    choices = ", ".join(n for n, spec in REGISTRY.items() if spec.embeds_text)
    if name not in REGISTRY or not REGISTRY[name].embeds_text:
        return [
            Error(
                f"RECOMMENDER_TEXT_MODEL is {name!r}, which is not a registered model that embeds words.",
                hint=f"Set it to one of: {choices}; or leave it empty to turn searching by description off.",
                id="recommender.E004",
            )
        ]
    if REGISTRY[name].weights_ready():
        return []
    message = f"The weights of the text model {name!r} (RECOMMENDER_TEXT_MODEL) are missing."
    hint = (
        f"Run `python manage.py fetch_models --model {name}` on a machine with internet access, or "
        "point RECOMMENDER_FASHION_CLIP at a local folder saved with save_pretrained. " + OFFLINE_HINT
    )
    if settings.RECOMMENDER_DEMO_FALLBACK:
        return [
            Warning(
                message + " Searching by description says it is unavailable.",
                hint=hint,
                id="recommender.W003",
            )
        ]
    return [Error(message, hint=hint, id="recommender.E005")]
