from django.urls import path

from portal.feedback import views

app_name = "feedback"
urlpatterns = [
    path("", views.feedback_page, name="list"),
    path("<uuid:public_id>/", views.submit, name="submit"),
]
