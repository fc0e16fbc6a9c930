"""Refuse oversized uploads before they cost disk, memory or time.

Two guards, because a body can be large in two ways:

- RequestSizeLimitMiddleware refuses a request whose Content-Length is over REQUEST_MAX_BYTES
  with a 413 page before anything reads its body (it runs before the CSRF check, which would
  parse the body to find the token).
- UploadSizeLimitHandler counts the bytes of every file of one request together (not each file
  on its own: with Django's default of 100 files a request could spool 100 x the limit), and on
  the first byte over UPLOAD_MAX_BYTES stops the upload: the rest of the body is read and
  discarded (nothing is stored), the form fields before the file (the CSRF token) are kept, and
  the request is marked so the view can say "too large" instead of "no file". It matters when
  the declared length cannot be trusted to cover the files (a chunked body, a proxy that
  rewrites it), and it runs first in FILE_UPLOAD_HANDLERS.

DATA_UPLOAD_MAX_NUMBER_FILES (settings) caps how many files one request may carry.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.shortcuts import render
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body with a malformed length either
        if length > settings.REQUEST_MAX_BYTES:
            return request_too_large(request)
        return self.get_response(request)


def request_too_large(request):
    """The 413 page: what the limit is and what to do (the body is never read)."""
    message = _("The file is too large. Please use a photo under %(limit)s MB.") % {
        "limit": f"{settings.UPLOAD_MAX_BYTES / 1e6:.0f}"
    }
    response = render(request, "413.html", {"message": message}, status=413)
    # The unread body stays on the connection: close it rather than parse it as the next request.
    response["Connection"] = "close"
    return response


class UploadSizeLimitHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0  # bytes of every file of this request so far

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # pass the chunk on to Django's memory/disk handlers

    def file_complete(self, file_size):
        return None  # the next handlers build the file
