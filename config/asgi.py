import os

from django.core.asgi import get_asgi_application

# Entry points that only production runs (gunicorn, celery) default to production settings;
# manage.py stays on development.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
