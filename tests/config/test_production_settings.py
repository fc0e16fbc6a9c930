"""The production settings: strict about what they need, never the demo model, HTTPS on,
and `manage.py check --deploy` clean."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.required import REQUIRED_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]


def _import_production():
    sys.modules.pop("config.settings.production", None)
    return importlib.import_module("config.settings.production")


@pytest.fixture
def complete_env(monkeypatch):
    values = {
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgres://shop:secret@db.example.com:5432/lookalike",
        "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
        "CACHE_URL": "redis://redis.example.com:6379/1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RECOMMENDER_DEMO_FALLBACK", raising=False)
    yield monkeypatch
    sys.modules.pop("config.settings.production", None)


@pytest.mark.parametrize("name", list(REQUIRED_ENVIRONMENT))
def test_production_refuses_to_start_without_each_required_variable(complete_env, name):
    complete_env.delenv(name)
    with pytest.raises(ImproperlyConfigured) as caught:
        _import_production()
    message = str(caught.value)
    assert name in message and "not set" in message and "docs/deploy.md" in message
    others = [other for other in REQUIRED_ENVIRONMENT if other != name]
    assert not any(f"{other} (" in message for other in others), message


def test_a_blank_variable_counts_as_missing(complete_env):
    complete_env.setenv("CACHE_URL", "  ")
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        _import_production()


def test_production_never_falls_back_to_the_demo_model(complete_env):
    complete_env.setenv("RECOMMENDER_DEMO_FALLBACK", "true")
    with pytest.raises(ImproperlyConfigured, match="never falls back to the demo model"):
        _import_production()


def _production_values(env: dict, names: list[str]) -> dict:
    """Setting values as a fresh production process reads them from ``env``."""
    code = (
        "import json, config.settings.production as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_defaults_are_safe_and_switchable(production_env):
    names = [
        "DEBUG",
        "RECOMMENDER_DEMO_FALLBACK",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
        "CACHES",
        "CELERY_TASK_ALWAYS_EAGER",
        "LOGGING",
    ]
    values = _production_values({**production_env, "DJANGO_DEBUG": "true"}, names)
    assert values["DEBUG"] is False and values["RECOMMENDER_DEMO_FALLBACK"] is False
    assert values["SECURE_SSL_REDIRECT"] is True and values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    # No proxy named: a client's X-Forwarded-Proto is not believed.
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["CACHES"]["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    assert values["LOGGING"]["handlers"]["console"]["formatter"] == "json"

    switched = _production_values(
        {
            **production_env,
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "LOOKALIKE_TRUSTED_PROXY_COUNT": "1",
        },
        ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER"],
    )
    assert switched == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_check_deploy_is_clean(production_env):
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout, out.stdout + out.stderr


def test_entry_points_default_to_production_and_manage_py_to_development():
    for module in ("wsgi", "asgi", "celery_app"):
        text = (ROOT / "config" / f"{module}.py").read_text()
        assert 'setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")' in text, module
    assert 'setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")' in (ROOT / "manage.py").read_text()


def test_s3_storage_by_setting_keeps_uploads_private(production_env):
    values = _production_values({**production_env, "LOOKALIKE_S3_BUCKET": "shop-media"}, ["STORAGES"])
    media, uploads = values["STORAGES"]["default"], values["STORAGES"]["uploads"]
    assert media["BACKEND"] == uploads["BACKEND"] == "storages.backends.s3.S3Storage"
    assert media["OPTIONS"]["bucket_name"] == uploads["OPTIONS"]["bucket_name"] == "shop-media"
    assert uploads["OPTIONS"]["default_acl"] == "private" and uploads["OPTIONS"]["location"] == "private"
    assert media["OPTIONS"]["location"] == "media" and media["OPTIONS"]["endpoint_url"] is None
    # Local disk is the default: uploads outside MEDIA_ROOT, with no URL.
    local = _production_values(production_env, ["STORAGES"])["STORAGES"]
    assert local["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert local["uploads"]["BACKEND"] == "config.storage.PrivateFileSystemStorage"


def test_production_serves_whole_pages_from_the_shared_cache(production_env):
    values = _production_values(production_env, ["SHOP_PAGE_CACHE_SECONDS", "MIDDLEWARE"])
    assert values["SHOP_PAGE_CACHE_SECONDS"] > 0
    # Last, so the view is resolved and the language active before a page is looked up.
    assert values["MIDDLEWARE"][-1] == "shop.middleware.PageCacheMiddleware"
    # Without a shared cache (development), a worker's writes would not reach the web
    # process's catalogue version: no whole pages.
    code = "import config.settings.base as s; print(s.SHOP_PAGE_CACHE_SECONDS)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**production_env, "DJANGO_SETTINGS_MODULE": "config.settings.base", "CACHE_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0"
