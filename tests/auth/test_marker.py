"""The revocation marker shared through a mapped file by processes on one host."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from oz.auth.marker import MARKER_FILE, SIZE, RevocationMarker


def test_marker_creates_private_file(tmp_path: Path) -> None:
    marker = RevocationMarker.in_data_dir(tmp_path)

    path = tmp_path / MARKER_FILE
    assert path.stat().st_size == SIZE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert marker.read() == bytes(SIZE)
    marker.close()


def test_marker_bump_changes_every_time(tmp_path: Path) -> None:
    marker = RevocationMarker.in_data_dir(tmp_path)
    seen = {marker.read()}

    for _ in range(100):
        marker.bump()
        seen.add(marker.read())

    assert len(seen) == 101
    marker.close()


def test_marker_bump_reaches_other_process(tmp_path: Path) -> None:
    reader = RevocationMarker.in_data_dir(tmp_path)
    before = reader.read()
    script = (
        "import sys; from pathlib import Path; from oz.auth.marker import RevocationMarker;"
        " RevocationMarker.in_data_dir(Path(sys.argv[1])).bump()"
    )

    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)

    assert reader.read() != before
    assert reader.read() == (tmp_path / MARKER_FILE).read_bytes()
    reader.close()


def test_marker_keeps_existing_bytes(tmp_path: Path) -> None:
    path = tmp_path / MARKER_FILE
    path.write_bytes(b"0123456789abcdefXYZ")

    marker = RevocationMarker(path)

    assert marker.read() == b"0123456789abcdef"
    assert path.stat().st_size == 19
    marker.close()


def test_marker_grows_short_file(tmp_path: Path) -> None:
    path = tmp_path / MARKER_FILE
    path.write_bytes(b"abc")

    marker = RevocationMarker(path)
    marker.bump()

    assert path.stat().st_size == SIZE
    assert marker.read() == path.read_bytes()
    marker.close()
