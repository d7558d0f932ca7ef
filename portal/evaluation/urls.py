from django.urls import path

from portal.evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("<int:pk>/plot.png", views.plot, name="plot"),
]
