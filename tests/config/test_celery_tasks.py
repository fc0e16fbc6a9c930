"""Every task has soft and hard time limits for its kind, under the broker's visibility
timeout, and none is redelivered for ever after killing its worker (issue 11, item 16)."""

from __future__ import annotations

from django.conf import settings

from config.celery_app import app


def _ours() -> list:
    app.loader.import_default_modules()  # what a worker does at start: every app's tasks module
    return [
        app.tasks[n]
        for n in sorted(app.tasks)
        if n.split(".")[0] in ("shop", "recommender", "crawler", "find_similar", "looks")
    ]


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
    segment = app.tasks["find_similar.tasks.query_segment_upload"]
    assert segment.time_limit <= settings.FIND_SIMILAR_SEGMENT_TIMEOUT


def test_redelivery_after_a_lost_worker_is_bounded_not_global():
    assert not app.conf.task_reject_on_worker_lost  # no longer for every task
    redelivered = [t for t in _ours() if t.reject_on_worker_lost]
    assert {t.name for t in redelivered} >= {
        "crawler.tasks.crawl_source",
        "recommender.tasks.embed_products",
        "find_similar.tasks.query_segment_upload",
    }
    assert 1 <= settings.CELERY_TASK_MAX_DELIVERIES <= 5


def test_find_similar_tasks_route_to_the_query_queue_under_their_new_and_old_names():
    """Moved out of recommender.tasks (issue 12): the new names go to the query queue, and the
    old names stay registered (a message queued by the old code still runs) on the same queue
    with the same limits."""
    from find_similar import tasks

    app.loader.import_default_modules()
    router = app.amqp.router
    for name in (
        "query_segment_upload",
        "query_region_embed",
        "uploads_requeue_stale",
        "uploads_delete_expired",
    ):
        new, old = f"find_similar.tasks.{name}", f"recommender.tasks.{name}"
        assert getattr(tasks, name).name == new
        for task_name in (new, old):
            assert task_name in app.tasks, task_name
            assert router.route({}, task_name)["queue"].name == "query", task_name
        assert app.tasks[old].run.__code__ is app.tasks[new].run.__code__
        assert (app.tasks[old].soft_time_limit, app.tasks[old].time_limit) == (
            app.tasks[new].soft_time_limit,
            app.tasks[new].time_limit,
        )
    beat_tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "find_similar.tasks.uploads_requeue_stale",
        "find_similar.tasks.uploads_delete_expired",
    } <= beat_tasks
