"""Stop reading an uploaded file as soon as it passes the upload limit.

DATA_UPLOAD_MAX_MEMORY_SIZE does not count file contents, so without this a 2 GB "photo" would
be spooled to a temporary file before any view could refuse it. This handler runs first
(FILE_UPLOAD_HANDLERS), counts each file's bytes, and on the first byte over
UPLOAD_MAX_BYTES stops the upload: the rest of the body is read and discarded (nothing is
stored), the form fields before the file (the CSRF token) are kept, and the request is marked
so the view can say "too large" instead of "no file".
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class UploadSizeLimitHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # pass the chunk on to Django's memory/disk handlers

    def file_complete(self, file_size):
        return None  # the next handlers build the file
