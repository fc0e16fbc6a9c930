"""Every task has soft and hard time limits for its kind, under the broker's visibility
timeout, and none is redelivered for ever after killing its worker (issue 11, item 16)."""

from __future__ import annotations

from django.conf import settings

from config.celery_app import app


def _ours() -> list:
    return [app.tasks[n] for n in sorted(app.tasks) if n.split(".")[0] in ("shop", "recommender", "crawler")]


def test_every_task_has_a_soft_and_a_hard_time_limit_under_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    tasks = _ours()
    assert len(tasks) >= 6
    for task in tasks:
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        hard = task.time_limit or app.conf.task_time_limit
        assert soft and hard, f"{task.name} has no time limit"
        # The soft limit comes first so the task can stop cleanly and say why; the hard one
        # is the backstop; both before Redis would hand the task to another worker.
        assert soft < hard < visibility, (task.name, soft, hard, visibility)
    # The kinds differ: a crawl may run for an hour, a shopper's photo must not take minutes.
    assert app.tasks["crawler.tasks.crawl_source"].soft_time_limit >= 30 * 60
    segment = app.tasks["recommender.tasks.query_segment_upload"]
    assert segment.time_limit <= settings.FIND_SIMILAR_SEGMENT_TIMEOUT


def test_redelivery_after_a_lost_worker_is_bounded_not_global():
    assert not app.conf.task_reject_on_worker_lost  # no longer for every task
    redelivered = [t for t in _ours() if t.reject_on_worker_lost]
    assert {t.name for t in redelivered} >= {
        "crawler.tasks.crawl_source",
        "recommender.tasks.embed_products",
        "recommender.tasks.query_segment_upload",
    }
    assert 1 <= settings.CELERY_TASK_MAX_DELIVERIES <= 5
