"""Django settings for the comparison app: the smallest set that djangorestframework-api-key needs.

The database is SQLite, Django's default, in the file named by DRF_DATABASE_PATH. The
API key replaces Django's session and basic authentication, so no authentication classes
are configured and the auth and session apps are not installed.
"""

from __future__ import annotations

import os

SECRET_KEY = os.environ["DRF_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework_api_key",
]
ROOT_URLCONF = "drf_site.urls"
WSGI_APPLICATION = "drf_site.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["DRF_DATABASE_PATH"],
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework_api_key.permissions.HasAPIKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
