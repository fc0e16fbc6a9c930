from django.urls import path

from looks import views

app_name = "looks"

urlpatterns = [
    path("looks/new/<uuid:upload_pk>/", views.look_new, name="look_new"),
    path("looks/<uuid:pk>/", views.look_detail, name="look_detail"),
]
