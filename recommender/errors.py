"""Errors raised when a model cannot be loaded; their messages are shown to operators
as is, so they say what to run or set next."""

from __future__ import annotations


class ModelUnavailable(RuntimeError):
    """A model's weights are missing or do not fit the model we expect."""


OFFLINE_HINT = (
    "Run `python manage.py fetch_models` on a machine with internet access (it fills the "
    "Hugging Face and torch caches), or copy the weights to this server and point the "
    "setting at the local path."
)
