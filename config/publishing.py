"""Queueing a Celery task from a web request or a command without letting a broker outage
become a 500 or a hung request.

The broker settings (config/settings/base.py) bound how long one attempt may take (connect
and socket timeouts) and how often it is retried; ``task_publish`` turns what is left (Redis
down, silent, out of memory) into QueueUnavailable, which each caller answers in words:
a 503 "temporarily unavailable, try again" for shoppers, a warning in the admin, a line in
the log where a periodic sweep picks the work up later.
"""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError  # the Redis transport's own, when one escapes kombu

logger = logging.getLogger(__name__)


class QueueUnavailable(RuntimeError):
    """The task broker did not accept the task (down, unreachable, or not answering)."""


def task_publish(task, *args, **options):
    """``task.apply_async(args, **options)``; raises QueueUnavailable if the broker fails.

    Eager mode (no broker, the demo) runs the task here, and its own errors propagate as usual.
    """
    try:
        return task.apply_async(args, **options)
    except (OperationalError, RedisError, OSError) as exc:
        logger.error("Could not queue %s: the task broker is unavailable (%s)", task.name, exc)
        raise QueueUnavailable(f"The task broker is unavailable: {exc}") from exc
