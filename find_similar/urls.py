from django.urls import path

from find_similar import views

app_name = "find_similar"

urlpatterns = [
    path("find-similar/", views.find_similar, name="find_similar"),
    path("find-similar/<uuid:pk>/", views.find_similar_result, name="find_similar_result"),
    path("find-similar/<uuid:pk>/photo/", views.find_similar_photo, name="find_similar_photo"),
    path("find-similar/product/<int:pk>/", views.find_similar_product, name="find_similar_product"),
]
