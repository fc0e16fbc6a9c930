"""A request id on every log line of a request, and on the response (X-Request-ID).

A proxy we trust (TRUSTED_PROXY_COUNT > 0) may hand us its id, so one request can be
followed from the load balancer's log into ours; otherwise a fresh id is made, since a
client could put anything in the header.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.conf import settings
from django.core.signals import request_finished

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# What a proxy's id may look like: letters, digits and . _ - (no spaces or quotes to break a log line).
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_current() -> str:
    """The id of the request being handled in this thread, or "-" outside a request."""
    return _current.get()


def _request_id_clear(**kwargs) -> None:
    _current.set("-")


class RequestIdMiddleware:
    """Sets the id for the whole request, including what Django logs after the middleware
    has returned (a 404's "Not Found" line); cleared when the response is finished."""

    def __init__(self, get_response):
        self.get_response = get_response
        request_finished.connect(_request_id_clear, dispatch_uid="request_id_clear")

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        trusted = settings.TRUSTED_PROXY_COUNT > 0 and _ACCEPTED.fullmatch(incoming)
        request_id = incoming if trusted else uuid.uuid4().hex
        request.request_id = request_id
        _current.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (the formatters in settings.LOGGING print it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True
