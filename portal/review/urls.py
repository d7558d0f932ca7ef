from django.urls import path

from portal.review import views

app_name = "review"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<uuid:public_id>/", views.item, name="item"),
]
