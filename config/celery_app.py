"""The Celery app. Queues: crawl (network bound), embed and query (model inference)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("lookalike")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
