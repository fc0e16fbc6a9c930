"""Production: everything that differs from development comes from the environment, and
nothing falls back to a development default.

Refuses to start (ImproperlyConfigured, naming each missing variable) without a secret key,
the allowed hosts, DATABASE_URL (otherwise importing base would start the embedded demo
database), CELERY_BROKER_URL (otherwise tasks run inside web requests: a whole crawl in an
admin click) and CACHE_URL (otherwise rate limits and caches count per process). The checks
run before base is imported, so nothing is started on the way to the error.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

# The same optional .env file as base.py, read first so the checks below see it.
_ENV_FILE = Path(__file__).resolve().parent.parent.parent / ".env"
if _ENV_FILE.is_file():
    environ.Env.read_env(_ENV_FILE, overwrite=False)

from config.settings.required import production_environment_check  # noqa: E402

production_environment_check()

from config.settings.base import *  # noqa: E402, F403
from config.settings.base import LOGGING, STORAGES, env  # noqa: E402

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# Never the demo model: a web host without the weights would search under another model key
# than the workers index with, and no product would get alternatives. Missing weights stop
# start-up (recommender.checks) and show in /readyz.
if env.bool("RECOMMENDER_DEMO_FALLBACK", default=False):
    raise ImproperlyConfigured(
        "RECOMMENDER_DEMO_FALLBACK is on, but production never falls back to the demo model. "
        "Unset it, and install the weights with `python manage.py fetch_models`."
    )
RECOMMENDER_DEMO_FALLBACK = False

# --- HTTPS ----------------------------------------------------------------------------
# On by default. Behind a TLS-terminating proxy set LOOKALIKE_TRUSTED_PROXY_COUNT so that
# X-Forwarded-Proto is believed (base.py); turn the redirect off only where the proxy itself
# redirects http to https.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# HSTS: browsers keep to https for this long (a year, the preload list's minimum). Include
# subdomains and preload are on, as `check --deploy` asks; turn them off when other sites
# share the domain and are not all on https.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Files and logs -------------------------------------------------------------------
# Hashed names for static files (collectstatic), so they can be cached for ever.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# One JSON object per line for the log collector (LOG_FORMAT=plain for a console).
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")
