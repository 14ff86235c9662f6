from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oz.harness import builtin
from oz.harness.report import (
    DISCLAIMER,
    MARKER_LOCATION_LIMIT,
    MAX_TEXT_FILE_BYTES,
    FileLineCount,
    LanguageStats,
    MarkerLocation,
    RepositoryReport,
    is_test_file,
    language_for_path,
    render_report,
    scan_repository,
)

SOURCE_DIRECTORY = Path(__file__).resolve().parents[2] / "src"

requires_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MAIN_PY = """\
import sys

# TODO: handle missing arguments
def main() -> None:
    print(sys.argv)  # FIXME: print something useful
"""

UTIL_PY = """\
def helper() -> int:
    return 1  # TODO: rename helper, TODO: add a docstring

"""

TEST_MAIN_PY = """\
def test_main() -> None:
    assert True

"""

PYPROJECT_TOML = """\
[project]
name = "sample"
version = "0.1.0"
"""

GUIDE_MD = """\
# Guide
A HACK keeps the build working.
"""


def _write(root: Path, relative_path: str, content: str | bytes) -> None:
    path = root / relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def _git(root: Path, *arguments: str) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=Sample Author",
            "-c",
            "user.email=author@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *arguments,
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture(autouse=True)
def isolate_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Stop git from finding a repository above tmp_path or reading user settings."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def sample_repository(tmp_path: Path) -> Path:
    root = tmp_path / "sample"
    _write(root, "src/app/__init__.py", "")
    _write(root, "src/app/main.py", MAIN_PY)
    _write(root, "src/app/util.py", UTIL_PY)
    _write(root, "tests/test_main.py", TEST_MAIN_PY)
    _write(root, "README.md", "# Sample\n\nA small repository.\nThe last line has no newline.")
    _write(root, "docs/guide.md", GUIDE_MD)
    _write(root, "pyproject.toml", PYPROJECT_TOML)
    _write(root, "requirements-dev.txt", "pytest\n")
    _write(root, "assets/logo.bin", b"\x89PNG\r\n\x00\x00TODO\nFIXME\n")
    _write(root, "node_modules/left-pad/index.js", "// TODO: pad\n" * 10)
    _write(root, "node_modules/left-pad/package.json", "{}\n")
    _write(root, ".venv/lib/site.py", "# TODO: hidden\n")
    return root


@pytest.fixture
def git_repository(sample_repository: Path) -> Path:
    _git(sample_repository, "init", "-q")
    _git(sample_repository, "add", "src", "README.md", "pyproject.toml")
    _git(sample_repository, "commit", "-q", "-m", "Add application code")
    _git(sample_repository, "add", "-A")
    _git(sample_repository, "commit", "-q", "-m", "Add tests and docs")
    return sample_repository


def _language(report: RepositoryReport, language: str) -> LanguageStats:
    matches = [item for item in report.languages if item.language == language]
    assert len(matches) == 1, f"{language} not in {report.languages}"
    return matches[0]


def test_scan_counts_lines_per_language(sample_repository: Path) -> None:
    report = scan_repository(sample_repository)

    assert _language(report, "Python") == LanguageStats("Python", files=4, lines=11)
    assert _language(report, "Markdown") == LanguageStats("Markdown", files=2, lines=6)
    assert _language(report, "TOML") == LanguageStats("TOML", files=1, lines=3)
    assert _language(report, "Text") == LanguageStats("Text", files=1, lines=1)
    assert [item.language for item in report.languages] == [
        "Python",
        "Markdown",
        "TOML",
        "Text",
    ]
    assert report.text_file_count == 8
    assert report.total_lines == 21


def test_scan_lists_largest_files_first(sample_repository: Path) -> None:
    report = scan_repository(sample_repository)

    assert report.largest_files[:3] == [
        FileLineCount("src/app/main.py", 5),
        FileLineCount("README.md", 4),
        FileLineCount("pyproject.toml", 3),
    ]
    assert len(report.largest_files) == 8


def test_scan_skips_binary_files(sample_repository: Path) -> None:
    report = scan_repository(sample_repository)

    assert report.binary_files == ["assets/logo.bin"]
    assert all(item.path != "assets/logo.bin" for item in report.largest_files)
    assert "Other" not in [item.language for item in report.languages]


def test_scan_skips_ignored_directories(sample_repository: Path) -> None:
    report = scan_repository(sample_repository)

    all_paths = [item.path for item in report.largest_files] + report.manifests
    assert not [path for path in all_paths if path.startswith(("node_modules/", ".venv/"))]
    assert "JavaScript" not in [item.language for item in report.languages]
    assert all(not item.path.startswith("node_modules/") for item in report.marker_locations)


def test_scan_counts_markers(sample_repository: Path) -> None:
    report = scan_repository(sample_repository)

    assert report.marker_counts == {"TODO": 3, "FIXME": 1, "XXX": 0, "HACK": 1}
    assert report.marker_locations == [
        MarkerLocation("HACK", "docs/guide.md", 2, "A HACK keeps the build working."),
        MarkerLocation("TODO", "src/app/main.py", 3, "# TODO: handle missing arguments"),
        MarkerLocation(
            "FIXME",
            "src/app/main.py",
            5,
            "print(sys.argv)  # FIXME: print something useful",
        ),
        MarkerLocation(
            "TODO",
            "src/app/util.py",
            2,
            "return 1  # TODO: rename helper, TODO: add a docstring",
        ),
    ]


def test_scan_limits_marker_locations(tmp_path: Path) -> None:
    _write(tmp_path, "notes.txt", "".join(f"TODO item {n}\n" for n in range(1, 26)))

    report = scan_repository(tmp_path)

    assert report.marker_counts["TODO"] == 25
    assert len(report.marker_locations) == MARKER_LOCATION_LIMIT
    assert report.marker_locations[-1] == MarkerLocation(
        "TODO", "notes.txt", MARKER_LOCATION_LIMIT, f"TODO item {MARKER_LOCATION_LIMIT}"
    )


def test_scan_ignores_marker_inside_words(tmp_path: Path) -> None:
    _write(tmp_path, "words.py", "TODOS = 1\nXXXL = 2\nunhacked = 3\n")

    report = scan_repository(tmp_path)

    assert report.marker_counts == {"TODO": 0, "FIXME": 0, "XXX": 0, "HACK": 0}


def test_scan_finds_manifests(sample_repository: Path) -> None:
    _write(sample_repository, "web/package.json", "{}\n")
    _write(sample_repository, "service/go.mod", "module example.com/service\n")

    report = scan_repository(sample_repository)

    assert sorted(report.manifests) == [
        "pyproject.toml",
        "requirements-dev.txt",
        "service/go.mod",
        "web/package.json",
    ]


def test_scan_finds_test_files(sample_repository: Path) -> None:
    _write(sample_repository, "src/app/util_test.py", "")
    _write(sample_repository, "web/button.spec.ts", "")

    report = scan_repository(sample_repository)

    assert sorted(report.test_files) == [
        "src/app/util_test.py",
        "tests/test_main.py",
        "web/button.spec.ts",
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_main.py", True),
        ("tests/fixtures/data.json", True),
        ("test/helpers.go", True),
        ("web/__tests__/app.js", True),
        ("src/test_utils.py", True),
        ("src/parser_test.py", True),
        ("pkg/server_test.go", True),
        ("web/app.test.js", True),
        ("web/app.spec.tsx", True),
        ("src/testing.py", False),
        ("src/contest.py", False),
        ("src/latest/app.py", False),
        ("web/app.js", False),
    ],
)
def test_is_test_file(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a/b.py", "Python"),
        ("app.js", "JavaScript"),
        ("app.ts", "TypeScript"),
        ("main.go", "Go"),
        ("lib.rs", "Rust"),
        ("README.MD", "Markdown"),
        ("config.yml", "YAML"),
        ("config.yaml", "YAML"),
        ("run.sh", "Shell"),
        ("schema.sql", "SQL"),
        ("Makefile", "Makefile"),
        ("Dockerfile", "Dockerfile"),
        ("docker/Dockerfile.dev", "Dockerfile"),
        ("LICENSE", "Other"),
    ],
)
def test_language_for_path(path: str, language: str) -> None:
    assert language_for_path(path) == language


def test_scan_skips_oversized_files(tmp_path: Path) -> None:
    _write(tmp_path, "huge.txt", "x" * MAX_TEXT_FILE_BYTES + "\n")
    _write(tmp_path, "small.txt", "one line\n")

    report = scan_repository(tmp_path)

    assert report.oversized_files == ["huge.txt"]
    assert report.largest_files == [FileLineCount("small.txt", 1)]


def test_scan_does_not_follow_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, "secret.py", "# TODO: outside\n")
    root = tmp_path / "root"
    _write(root, "inside.py", "x = 1\n")
    (root / "linked_directory").symlink_to(outside, target_is_directory=True)
    (root / "linked_file.py").symlink_to(outside / "secret.py")

    report = scan_repository(root)

    assert report.largest_files == [FileLineCount("inside.py", 1)]
    assert report.skipped_symlinks == ["linked_directory", "linked_file.py"]
    assert report.marker_counts["TODO"] == 0


@requires_git
def test_scan_reads_git_history(git_repository: Path) -> None:
    report = scan_repository(git_repository)

    assert report.git.error is None
    assert report.git.commit_count == 2
    assert [commit.subject for commit in report.git.commits] == [
        "Add tests and docs",
        "Add application code",
    ]
    assert {commit.author for commit in report.git.commits} == {"Sample Author"}
    assert all(len(commit.date) == len("2024-01-31") for commit in report.git.commits)


@requires_git
def test_scan_limits_git_history_to_subdirectory(git_repository: Path) -> None:
    report = scan_repository(git_repository / "src")

    assert report.git.path_prefix == "src/"
    assert report.git.commit_count == 1
    assert [commit.subject for commit in report.git.commits] == ["Add application code"]


@requires_git
def test_scan_reports_repository_without_commits(sample_repository: Path) -> None:
    _git(sample_repository, "init", "-q")

    report = scan_repository(sample_repository)

    assert report.git.error == "The git repository has no commits yet."
    assert report.git.commits == []


@requires_git
def test_scan_reports_missing_repository(sample_repository: Path) -> None:
    report = scan_repository(sample_repository)

    assert report.git.error == "Not a git repository."


def test_scan_reports_missing_git(
    sample_repository: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty_directory = tmp_path / "empty-path"
    empty_directory.mkdir()
    monkeypatch.setenv("PATH", str(empty_directory))

    report = scan_repository(sample_repository)

    assert report.git.error == "git is not installed or not on PATH."


@requires_git
def test_render_report_contains_sections(git_repository: Path) -> None:
    report = scan_repository(git_repository)

    text = render_report(report, "Summarize this repository.\nFocus on tests.")

    lines = text.splitlines()
    assert lines[0] == DISCLAIMER
    assert "> Summarize this repository." in lines
    assert "> Focus on tests." in lines
    assert "- Python: 11 lines in 4 files" in lines
    assert "- src/app/main.py: 5 lines" in lines
    assert "Found 1 test file." in lines
    assert "- tests/test_main.py" in lines
    assert "TODO: 3, FIXME: 1, XXX: 0, HACK: 1 (5 in total)." in lines
    assert "- src/app/main.py:3: # TODO: handle missing arguments" in lines
    assert "- pyproject.toml" in lines
    assert "Skipped 1 binary file (NUL byte in the first 8 KiB)." in lines
    assert "2 commits in HEAD." in lines
    assert any(line.endswith("Sample Author: Add application code") for line in lines)
    assert any(line.endswith("Sample Author: Add tests and docs") for line in lines)


def test_render_report_without_git(sample_repository: Path) -> None:
    text = render_report(scan_repository(sample_repository), "Explain.")

    assert text.splitlines()[-1] == "Not a git repository."


def test_main_prints_report(
    sample_repository: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(sample_repository)
    monkeypatch.setenv("OZ_PROMPT", "Where are the tests?")

    exit_code = builtin.main([])

    captured = capsys.readouterr()
    assert exit_code == 0
    assert captured.out.splitlines()[0] == DISCLAIMER
    assert "> Where are the tests?" in captured.out.splitlines()
    assert captured.err == ""


def test_main_rejects_empty_prompt(
    sample_repository: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(sample_repository)
    monkeypatch.setenv("OZ_PROMPT", "  ")

    exit_code = builtin.main([])

    captured = capsys.readouterr()
    assert exit_code == 2
    assert "OZ_PROMPT is empty" in captured.err
    assert captured.out == ""


def _run_builtin(root: Path, prompt: str | None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(SOURCE_DIRECTORY)
    environment.pop("OZ_PROMPT", None)
    if prompt is not None:
        environment["OZ_PROMPT"] = prompt
    return subprocess.run(
        [sys.executable, "-m", "oz.harness.builtin"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_builtin_module_prints_report(sample_repository: Path) -> None:
    completed = _run_builtin(sample_repository, "Summarize this repository.")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == DISCLAIMER
    assert "> Summarize this repository." in completed.stdout.splitlines()
    assert "- Python: 11 lines in 4 files" in completed.stdout.splitlines()


def test_builtin_module_requires_prompt(sample_repository: Path) -> None:
    completed = _run_builtin(sample_repository, None)

    assert completed.returncode == 2
    assert "OZ_PROMPT is not set" in completed.stderr
    assert completed.stdout == ""
