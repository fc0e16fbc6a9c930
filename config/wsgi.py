import os

from django.core.wsgi import get_wsgi_application

# Entry points that only production runs (gunicorn, celery) default to production settings;
# manage.py stays on development.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
