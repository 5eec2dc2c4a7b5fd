"""Dispatch pages: /wall/ (command wall) and /dispatch/ (dispatcher console)."""

urlpatterns = []
