"""Celery tasks of Find similar: thin wrappers that take ids and call one service.

Routed to the "query" queue by name (config/settings/base.py, CELERY_TASK_ROUTES). Until
issue 12 they were recommender.tasks.*; those names stay registered (LEGACY_PREFIX) so a
message queued by a process that still ran the old code is not dropped as unregistered.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext_noop

from config.deliveries import deliveries_exhausted
from config.publishing import QueueUnavailable

logger = logging.getLogger(__name__)


def _segment_upload(self, upload_id: str) -> str | None:
    """Detect the garments on an upload. Idempotent: a redelivered task redoes the same work;
    one that killed its worker CELERY_TASK_MAX_DELIVERIES times marks the upload failed."""
    from find_similar.models import QueryImage
    from find_similar.uploads import (
        upload_choice_default,
        upload_fail,
        upload_problem,
        upload_region_request,
        upload_segment,
    )

    upload = QueryImage.objects.filter(pk=upload_id).first()
    if upload is None:
        logger.info("Upload %s is gone (deleted or expired); nothing to segment", upload_id)
        return None
    if deliveries_exhausted(self):
        return upload_fail(
            upload=upload,
            # Stored untranslated: the result page translates it for each reader's language.
            message=gettext_noop(
                "This photo stopped our garment detection several times, so we gave up on it. "
                "Please try another photo."
            ),
        ).status
    upload = upload_segment(upload=upload)
    if upload.status == QueryImage.Status.READY and not upload_problem(upload):
        # Its result page opens on the default choice: have that region ready as well.
        try:
            upload_region_request(upload=upload, choice=upload_choice_default(upload))
        except QueueUnavailable:
            logger.warning("Upload %s: its default region was not queued; the page queues it", upload.pk)
    return upload.status


def _region_embed(self, region_id: int) -> str | None:
    """Cut out and embed one searched region of an upload (a box, a garment, the whole photo).
    Expires at the result page's deadline; one that killed its worker
    CELERY_TASK_MAX_DELIVERIES times is marked failed."""
    from find_similar.models import QueryRegion
    from find_similar.uploads import upload_region_compute

    region = QueryRegion.objects.select_related("upload").filter(pk=region_id).first()
    if region is None:
        logger.info("Region %s is gone (its upload was deleted, or it was retried); nothing to do", region_id)
        return None
    if region.status != QueryRegion.Status.PENDING:
        return region.status  # a redelivered task whose work is done
    if deliveries_exhausted(self):
        region.status = QueryRegion.Status.FAILED
        region.error = gettext_noop(
            "This part of your photo stopped our search worker several times. Please choose another "
            "garment or box."
        )
        region.save(update_fields=["status", "error", "updated_at"])
        return region.status
    return upload_region_compute(region=region).status


def _requeue_stale() -> int:
    """Queue again pending uploads whose task was lost; beat runs it every 30 s."""
    from find_similar.uploads import uploads_requeue_stale as requeue_stale

    return requeue_stale()


def _delete_expired() -> int:
    """Delete uploads (rows and photos) older than FIND_SIMILAR_RETENTION_DAYS; runs daily."""
    from find_similar.uploads import uploads_delete_expired as delete_expired

    return delete_expired()


# Each task is registered under its name here and, for messages (and beat rows) written before
# the move, under the name it had in recommender.tasks (LEGACY_PREFIX); the routes and time limits
# in config/settings/base.py cover both names.
LEGACY_PREFIX = "recommender.tasks."
_QUERY = {"bind": True, "acks_late": True, "reject_on_worker_lost": True}


def _register(name: str, run, **options):
    shared_task(name=LEGACY_PREFIX + name, **options)(run)
    return shared_task(name=f"{__name__}.{name}", **options)(run)


query_segment_upload = _register("query_segment_upload", _segment_upload, **_QUERY)
query_region_embed = _register("query_region_embed", _region_embed, **_QUERY)
uploads_requeue_stale = _register("uploads_requeue_stale", _requeue_stale, acks_late=True)
uploads_delete_expired = _register("uploads_delete_expired", _delete_expired)
