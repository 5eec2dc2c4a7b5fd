"""fences pages: /fences/ (the fence and rule editor)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("fences/", pages.fences_page, name="fences-page"),
]
