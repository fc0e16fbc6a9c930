# The Lookalike image: web (gunicorn), workers (celery), beat and migrate all run it.
#
#   docker build -t lookalike .                        # CPU: torch from PyTorch's CPU index
#   docker build -t lookalike:cuda --build-arg VARIANT=cuda .   # CUDA: torch's default wheels
#
# The CUDA wheels carry their own CUDA runtime; the host needs the NVIDIA driver and the
# NVIDIA Container Toolkit (compose.gpu.yaml reserves the GPU). docs/deploy.md walks through it.
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm

ARG VARIANT=cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    # Model weights live in the "models" volume (manage.py fetch_models fills it once).
    HF_HOME=/models/huggingface \
    TORCH_HOME=/models/torch \
    LOOKALIKE_MEDIA_ROOT=/data/media \
    LOOKALIKE_PRIVATE_MEDIA_ROOT=/data/private

# libglib2.0-0: OpenCV's headless wheel still links it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system app && useradd --system --gid app --home-dir /app app \
    && mkdir -p /app /models /data/media /data/private \
    && chown app:app /models /data /data/media /data/private

WORKDIR /app
COPY requirements.txt .
# The same torch pins as requirements.txt; the CPU build first, so pip keeps it.
RUN if [ "$VARIANT" = "cpu" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu torch==2.14.1 torchvision==0.29.1; \
    elif [ "$VARIANT" != "cuda" ]; then \
        echo "VARIANT must be cpu or cuda, not $VARIANT" >&2; exit 1; \
    fi \
    && pip install -r requirements.txt

COPY . .
# Hashed static files for WhiteNoise. The production settings need their variables set;
# these placeholders are never connected to.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/build CELERY_BROKER_URL=redis://localhost:6379/0 \
    CACHE_URL=redis://localhost:6379/1 python manage.py collectstatic --noinput -v 0 \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "-c", "gunicorn.conf.py"]
