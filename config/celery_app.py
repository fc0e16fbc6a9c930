"""The Celery app. Queues: crawl (network bound), embed and query (model inference)."""

import os
from pathlib import Path

from celery import Celery, bootsteps

# Entry points that only production runs (gunicorn, celery) default to production settings;
# manage.py stays on development.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("lookalike")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Touched this often while the worker consumes; a health check calls the worker stuck when
# the file is older than a few beats (compose.yaml: 60 s).
HEARTBEAT_SECONDS = 10


class HeartbeatFile(bootsteps.StartStopStep):
    """Worker readiness for container health checks, with no broker round trip: a file that
    exists only while the consumer is connected (the step starts after the task consumers,
    and stops when the broker connection is lost), touched every HEARTBEAT_SECONDS by the
    worker's own event loop, so a hung loop stops touching it.

    Path: LOOKALIKE_WORKER_HEARTBEAT_FILE (unset: off, as in development, where several
    workers may share a host).
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        path = os.environ.get("LOOKALIKE_WORKER_HEARTBEAT_FILE", "")
        self.path = Path(path) if path else None
        self.timer_ref = None

    def start(self, parent):
        if self.path is None:
            return
        self.beat()
        self.timer_ref = parent.timer.call_repeatedly(HEARTBEAT_SECONDS, self.beat)

    def stop(self, parent):
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    shutdown = stop

    def beat(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()


app.steps["consumer"].add(HeartbeatFile)
