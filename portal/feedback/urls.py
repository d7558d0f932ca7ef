from django.urls import path

from portal.feedback import views

app_name = "feedback"
urlpatterns = [
    path("<uuid:public_id>/", views.submit, name="submit"),
]
