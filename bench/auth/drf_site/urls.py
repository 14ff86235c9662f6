"""`GET /healthz` needs no credential; `GET /api/v1/me` needs `Authorization: Api-Key ...`."""

from __future__ import annotations

from typing import ClassVar

from django.urls import path
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.models import APIKey
from rest_framework_api_key.permissions import HasAPIKey, KeyParser


class Health(APIView):
    permission_classes: ClassVar[list[type[BasePermission]]] = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class Me(APIView):
    permission_classes: ClassVar[list[type[BasePermission]]] = [HasAPIKey]

    def get(self, request: Request) -> Response:
        # The library's documented way to identify the caller: parse the header again and
        # load the key, after HasAPIKey has checked it.
        key = KeyParser().get(request)
        api_key = APIKey.objects.get_from_key(key)
        return Response({"name": api_key.name, "prefix": api_key.prefix})


urlpatterns = [
    path("healthz", Health.as_view()),
    path("api/v1/me", Me.as_view()),
]
