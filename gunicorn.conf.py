"""Gunicorn settings for the web process (compose.yaml runs `gunicorn -c gunicorn.conf.py`).

Environment: WEB_CONCURRENCY (workers), GUNICORN_BIND, GUNICORN_TIMEOUT, GUNICORN_ACCESS_LOG.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers, one per core by default: the pages are CPU work (templates, a vector search)
# between short database calls, so more workers than cores only queue on the CPU.
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
worker_class = "sync"
# Load Django once in the master and fork: faster restarts and shared memory. Nothing opens a
# database connection or loads a model at import, so nothing is shared across the fork.
preload_app = True
# A first Find-similar search embeds the photo in the web process (a second or two on a CPU).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: a Find-similar search loads the model into the worker that
# served it, and long-lived workers only grow.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory, not on the container's overlay disk (a slow disk stalls them).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Django alone decides whether a request came over https (SECURE_PROXY_SSL_HEADER, only with
# LOOKALIKE_TRUSTED_PROXY_COUNT): gunicorn must not believe X-Forwarded-Proto on its own.
secure_scheme_headers = {}
forwarded_allow_ips = ""

# One JSON object per access, with the request id Django put on the response.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s"}'
)
