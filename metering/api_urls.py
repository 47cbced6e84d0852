from django.urls import path

from . import api

urlpatterns = [
    path("events", api.EventsIngestView.as_view(), name="api-events"),
]
