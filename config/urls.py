from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from config.settings.base import env
from find_similar import urls as find_similar_urls

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # the language switcher posts here
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("find_similar.urls")),
    # The names Find similar's pages had while they lived in the recommender ("recommender:
    # find_similar", ...): the same routes under the old namespace, so a template or link written
    # before the move (issue 12) still reverses. The first include above answers every request.
    path("", include((find_similar_urls.urlpatterns, "recommender"), namespace="recommender")),
    path("", include("looks.urls")),
    path("", include("shop.urls")),
    prefix_default_language=False,
)
# Product images and uploads. In production a web server or object storage serves media;
# the demo and tests serve it from the app.
if settings.DEBUG or env.bool("LOOKALIKE_SERVE_MEDIA", default=True):
    urlpatterns += [
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
    ]
