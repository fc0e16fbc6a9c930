"""compose.yaml, checked without Docker: the services of the stack, their images and
commands, health checks, and the environment each one needs to start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from config.settings.required import REQUIRED_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker-crawl", "worker-inference", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _queues(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(","))


def test_every_service_of_the_stack_is_there(compose):
    assert set(compose["services"]) == {"db", "redis", *APP_SERVICES}
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "media", "private", "models"}


def test_database_is_the_official_pgvector_image_and_redis_keeps_its_queue(compose):
    db, redis = compose["services"]["db"], compose["services"]["redis"]
    assert re.fullmatch(r"pgvector/pgvector:pg1[5-9]", db["image"])
    assert {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(db["environment"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert redis["image"].startswith("redis:7")
    assert "--appendonly" in redis["command"]
    # The caches share the server: a cap that evicts only keys with a TTL (cache entries).
    policy = redis["command"][redis["command"].index("--maxmemory-policy") + 1]
    assert policy == "volatile-lru"
    assert "--maxmemory" in redis["command"]
    assert redis["healthcheck"]["test"][-1] == "ping"


def test_app_services_share_one_image_and_the_production_environment(compose):
    images = {compose["services"][name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"]["context"] == "."
        environment = service["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        missing = set(REQUIRED_ENVIRONMENT) - set(environment)
        assert not missing, (name, missing)
        # Secrets come from .env and compose refuses to start without them.
        assert ":?" in environment["DJANGO_SECRET_KEY"] and ":?" in environment["DATABASE_URL"]
        assert (
            environment["DATABASE_URL"].startswith("postgres://")
            and "@db:5432/" in environment["DATABASE_URL"]
        )
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
        assert environment["CACHE_URL"].startswith("redis://redis:6379/")
        assert environment["CACHE_URL"] != environment["CELERY_BROKER_URL"]
        # Uploads, product images and model weights on volumes, shared by web and workers.
        assert {"media:/data/media", "private:/data/private", "models:/models"} <= set(service["volumes"])


def test_commands_migrate_once_then_serve_work_and_schedule(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"][:4] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"
    assert services["web"]["command"] == ["gunicorn", "config.wsgi:application", "-c", "gunicorn.conf.py"]
    assert (ROOT / "gunicorn.conf.py").is_file()
    for name in ("web", "worker-crawl", "worker-inference", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["db"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1  # exactly one scheduler


def test_workers_cover_every_routed_queue_and_inference_runs_one_process(compose):
    crawl = compose["services"]["worker-crawl"]["command"]
    inference = compose["services"]["worker-inference"]["command"]
    assert crawl[:4] == inference[:4] == ["celery", "-A", "config", "worker"]
    assert _queues(crawl) == {"crawl"} and _queues(inference) == {"embed", "query"}
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed <= _queues(crawl) | _queues(inference)
    assert inference[inference.index("--concurrency") + 1] == "1"


def test_health_checks_probe_readiness(compose):
    services = compose["services"]
    web = " ".join(services["web"]["healthcheck"]["test"])
    assert "/readyz" in web
    for name in ("worker-crawl", "worker-inference"):
        service = services[name]
        heartbeat = service["environment"]["LOOKALIKE_WORKER_HEARTBEAT_FILE"]
        assert heartbeat in " ".join(service["healthcheck"]["test"]) and "-mmin" in " ".join(
            service["healthcheck"]["test"]
        )


def test_gpu_override_reserves_a_gpu_for_inference_only():
    override = yaml.safe_load((ROOT / "compose.gpu.yaml").read_text())
    assert set(override["services"]) == {"worker-inference"}
    worker = override["services"]["worker-inference"]
    assert worker["build"]["args"]["VARIANT"] == "cuda"
    assert worker["environment"]["RECOMMENDER_DEVICE"] == "cuda"
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def test_dockerfile_builds_cpu_and_cuda_variants_and_runs_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    assert (
        "ARG VARIANT=cpu" in text and '"$VARIANT" = "cpu"' in text and "download.pytorch.org/whl/cpu" in text
    )
    assert "collectstatic" in text and "\nUSER app\n" in text
    assert 'CMD ["gunicorn", "config.wsgi:application", "-c", "gunicorn.conf.py"]' in text
    # The torch pins match requirements.txt (a mismatch would make pip replace the CPU build).
    requirements = (ROOT / "requirements.txt").read_text()
    for pin in re.findall(r"(torch(?:vision)?==[\d.]+)", text):
        assert pin in requirements, pin
