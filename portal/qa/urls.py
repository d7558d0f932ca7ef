from django.urls import path

from portal.qa import views

app_name = "qa"
urlpatterns = [
    path("", views.ask, name="ask"),
    path("api/ask", views.ask_api, name="ask_api"),
]
