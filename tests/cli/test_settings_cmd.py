"""`oz settings` loads Textual only when the app starts."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_leaves_textual_unloaded() -> None:
    probe = (
        "import sys, oz.cli.app\n"
        "prefixes = ('textual', 'oz.settings_app')\n"
        "print(sorted(name for name in sys.modules if name.startswith(prefixes)))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"
