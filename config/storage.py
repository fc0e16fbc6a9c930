"""Where shoppers' uploaded photos are kept: the "uploads" storage (settings.STORAGES).

Locally that is a folder outside MEDIA_ROOT (PRIVATE_MEDIA_ROOT) with no URL at all, so no
/media/ route or web server in front can serve or list the photos; the result page's photo
view (find_similar.views.find_similar_photo) streams one to whoever has its unguessable
result URL. With LOOKALIKE_S3_BUCKET it is a private prefix of the bucket.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.utils.functional import cached_property


class PrivateFileSystemStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, read at first use (so tests can point it elsewhere)."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":  # a test pointing the uploads at its own folder
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError(
            "Uploaded photos have no public URL; link to the upload's photo view "
            "(find_similar:find_similar_photo) instead."
        )


def upload_storage():
    """The storage of QueryImage.image (a callable, so migrations do not freeze the backend)."""
    return storages["uploads"]
