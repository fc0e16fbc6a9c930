"""A bound on redelivery after a worker dies mid-task.

With ``acks_late`` a task's message is acknowledged only when it finishes, and with
``reject_on_worker_lost`` it is put back when the pool process running it dies. A task that
itself kills the process (a photo that exhausts memory, a crash in native code) would then
kill every worker that takes it, for ever. So such tasks count their starts and give up
after CELERY_TASK_MAX_DELIVERIES, marking their work failed with the reason.

The count lives in the broker's Redis (one INCR per start, keyed by task id and retry
number, kept a day): a dead process cannot lose it, and every worker sees it. Other brokers
(RabbitMQ has delivery limits of its own on quorum queues) and eager mode do not count.
"""

from __future__ import annotations

import logging

from django.conf import settings
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Longer than any redelivery takes: a message of a worker killed outright comes back after
# the visibility timeout (2 h by default).
COUNT_TTL_SECONDS = 24 * 60 * 60
KEY_PREFIX = "lookalike:deliveries:"


def delivery_count(task) -> int:
    """How many times this task (this id and retry) has started, this start included."""
    request = task.request
    if request.is_eager or not request.id:
        return 1
    key = f"{KEY_PREFIX}{request.id}:{request.retries or 0}"
    try:
        with task.app.connection_for_write() as connection:
            client = getattr(connection.default_channel, "client", None)
            if client is None:  # not a Redis broker
                return 1
            count = client.incr(key)
            client.expire(key, COUNT_TTL_SECONDS)
    except (OperationalError, RedisError, OSError) as exc:
        # Not counting is the lesser harm: the task runs as it would without the bound.
        logger.warning("Could not count the starts of %s[%s]: %s", task.name, request.id, exc)
        return 1
    return int(count)


def deliveries_exhausted(task) -> bool:
    """True when this start is past CELERY_TASK_MAX_DELIVERIES: the previous ones each died
    with their worker, so the caller marks its work failed instead of running it again."""
    count = delivery_count(task)
    limit = settings.CELERY_TASK_MAX_DELIVERIES
    if count <= limit:
        return False
    logger.error(
        "%s[%s] started %d times: its worker died each time (out of memory?); given up after %d",
        task.name,
        task.request.id,
        count,
        limit,
    )
    return True
