from django.urls import path

from portal.finetune import views

app_name = "finetune"
urlpatterns = [
    path("", views.registry, name="registry"),
    path("<str:adapter_id>/loss.png", views.loss_plot, name="loss_plot"),
    path("<str:adapter_id>/promote", views.promote, name="promote"),
    path("rollback", views.rollback, name="rollback"),
]
