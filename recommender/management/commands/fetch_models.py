"""Download model weights into the local caches, for servers that run without hub access."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recommender.embedders import REGISTRY, EmbedderUnavailable, embedder_spec


class Command(BaseCommand):
    requires_system_checks: list = []  # they fail exactly when weights are missing
    help = (
        "Download the embedders' weights (torch cache; FashionCLIP into the Hugging Face cache) and "
        "the garment segmenter (Hugging Face cache) so that workers and pages never wait on the "
        "internet. Copy the caches (or set RECOMMENDER_RESNET50_WEIGHTS / RECOMMENDER_FASHION_CLIP / "
        "RECOMMENDER_SEGMENTER to local paths) to install them on an offline server."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            action="append",
            help="embedder to fetch (repeatable; default: all registered)",
        )
        parser.add_argument("--no-segmenter", action="store_true", help="skip the segmenter")

    def handle(self, *args, model=None, no_segmenter=False, **options):
        problems = []
        for name in model or list(REGISTRY):
            try:
                where = embedder_spec(name).fetch()
            except EmbedderUnavailable as exc:
                problems.append(str(exc))
            except Exception as exc:  # network errors from torch.hub: report and go on
                problems.append(f"Could not download the {name} weights: {exc}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{name}: {where}"))
        if not no_segmenter:
            source = settings.RECOMMENDER_SEGMENTER
            from recommender.segmentation import segmenter_load, segmenter_revision

            # segmenter_load downloads the pinned revision, safetensors only.
            revision = segmenter_revision(source)
            try:
                segmenter_load(source, local_files_only=False)
            except Exception as exc:
                problems.append(f"Could not fetch the segmenter {source!r}: {exc}")
            else:
                at = f" at {revision}" if revision else ""
                self.stdout.write(self.style.SUCCESS(f"segmenter: {source}{at}"))
                if revision is None and not Path(source).is_dir():
                    self.stdout.write(
                        self.style.WARNING(
                            f"{source} is not pinned: set RECOMMENDER_SEGMENTER_REVISION to the commit "
                            "you checked, so every server loads the same weights."
                        )
                    )
        if problems:
            raise CommandError(
                "\n".join(problems)
                + "\nWithout internet access, copy the weights from a machine that has run "
                "fetch_models, or point RECOMMENDER_RESNET50_WEIGHTS, RECOMMENDER_FASHION_CLIP and "
                "RECOMMENDER_SEGMENTER at local files."
            )
