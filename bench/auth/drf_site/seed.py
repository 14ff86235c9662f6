"""Create the schema and `total` API keys, and write the header value of each to a file.

Usage: python -m drf_site.seed TOTAL KEYS_FILE (with bench/auth on the path).
"""

from __future__ import annotations

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drf_site.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from rest_framework_api_key.models import APIKey  # noqa: E402


def seed(total: int, keys_file: str) -> None:
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        raw_keys = [APIKey.objects.create_key(name=f"bench-{index}")[1] for index in range(total)]
    with open(keys_file, "w", encoding="utf-8") as output:
        output.writelines(f"Api-Key {raw}\n" for raw in raw_keys)


if __name__ == "__main__":
    seed(int(sys.argv[1]), sys.argv[2])
