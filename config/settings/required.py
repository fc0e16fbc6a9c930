"""What the production settings require from the environment (config/settings/production.py
checks it before anything else, so nothing starts on the way to the error)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

REQUIRED_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": "a long random string, e.g. from "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`",
    "DJANGO_ALLOWED_HOSTS": "the host names the shop answers to, comma-separated (shop.example.com)",
    "DATABASE_URL": "a PostgreSQL with pgvector >= 0.8, postgres://USER:PASSWORD@HOST:5432/NAME",
    "CELERY_BROKER_URL": "the Redis the workers read their queues from, redis://HOST:6379/0",
    "CACHE_URL": "the Redis shared by the web processes, redis://HOST:6379/1",
}


def missing_environment(environment: Mapping[str, str] = os.environ) -> list[str]:
    return [name for name in REQUIRED_ENVIRONMENT if not environment.get(name, "").strip()]


def production_environment_check(environment: Mapping[str, str] = os.environ) -> None:
    """Raise ImproperlyConfigured naming every required variable that is unset or blank."""
    missing = missing_environment(environment)
    if missing:
        raise ImproperlyConfigured(
            "The production settings need these environment variables, which are not set: "
            + "; ".join(f"{name} ({REQUIRED_ENVIRONMENT[name]})" for name in missing)
            + ". Set them (docs/deploy.md lists every variable), or use config.settings.base for development."
        )
