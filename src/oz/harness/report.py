"""Static repository report produced by oz's built-in offline harness.

`scan_repository` walks a directory once and collects facts that need no
language model: lines per language, the largest files, test files, TODO-style
markers, dependency manifests and recent git history. `render_report` formats
those facts as plain text with markdown headings.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_TEXT_FILE_BYTES = 2 * 1024 * 1024
BINARY_SNIFF_BYTES = 8 * 1024
LARGEST_FILE_LIMIT = 10
MARKER_LOCATION_LIMIT = 20
MARKER_TEXT_MAX_CHARS = 120
TEST_FILE_LIST_LIMIT = 10
COMMIT_LIMIT = 10
GIT_TIMEOUT_SECONDS = 10.0

DISCLAIMER = (
    "This is oz's built-in offline harness, not a language model. "
    "It produced a static report of the repository."
)

# Hidden directories (names starting with ".") are skipped as well.
SKIPPED_DIRECTORY_NAMES = frozenset({"node_modules", "venv", "__pycache__", "dist", "build"})

MARKER_KINDS = ("TODO", "FIXME", "XXX", "HACK")
MARKER_PATTERN = re.compile(rb"\b(" + b"|".join(k.encode() for k in MARKER_KINDS) + rb")\b")

LANGUAGE_BY_FILENAME = {
    "Makefile": "Makefile",
    "GNUmakefile": "Makefile",
    "makefile": "Makefile",
    "Dockerfile": "Dockerfile",
    "Containerfile": "Dockerfile",
    "CMakeLists.txt": "CMake",
    "Gemfile": "Ruby",
    "Rakefile": "Ruby",
    "Jenkinsfile": "Groovy",
    "Vagrantfile": "Ruby",
    "uv.lock": "TOML",
    "poetry.lock": "TOML",
    "Cargo.lock": "TOML",
    "go.mod": "Go Module",
    "go.sum": "Go Checksums",
}

LANGUAGE_BY_EXTENSION = {
    ".py": "Python",
    ".pyi": "Python",
    ".ipynb": "Jupyter Notebook",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".tsx": "TypeScript",
    ".go": "Go",
    ".rs": "Rust",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hh": "C++",
    ".hpp": "C++",
    ".cs": "C#",
    ".java": "Java",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".scala": "Scala",
    ".swift": "Swift",
    ".m": "Objective-C",
    ".rb": "Ruby",
    ".php": "PHP",
    ".pl": "Perl",
    ".lua": "Lua",
    ".r": "R",
    ".jl": "Julia",
    ".dart": "Dart",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".erl": "Erlang",
    ".hs": "Haskell",
    ".ml": "OCaml",
    ".clj": "Clojure",
    ".zig": "Zig",
    ".nim": "Nim",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".rst": "reStructuredText",
    ".txt": "Text",
    ".toml": "TOML",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".json": "JSON",
    ".xml": "XML",
    ".ini": "INI",
    ".cfg": "INI",
    ".csv": "CSV",
    ".sh": "Shell",
    ".bash": "Shell",
    ".zsh": "Shell",
    ".fish": "Shell",
    ".ps1": "PowerShell",
    ".bat": "Batchfile",
    ".html": "HTML",
    ".htm": "HTML",
    ".css": "CSS",
    ".scss": "SCSS",
    ".sass": "Sass",
    ".less": "Less",
    ".sql": "SQL",
    ".proto": "Protocol Buffers",
    ".graphql": "GraphQL",
    ".tf": "HCL",
    ".hcl": "HCL",
    ".nix": "Nix",
    ".gradle": "Gradle",
    ".mk": "Makefile",
    ".cmake": "CMake",
    ".dockerfile": "Dockerfile",
}

MANIFEST_NAMES = frozenset(
    {
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "Pipfile",
        "Pipfile.lock",
        "uv.lock",
        "poetry.lock",
        "environment.yml",
        "package.json",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "go.mod",
        "go.sum",
        "Cargo.toml",
        "Cargo.lock",
        "Gemfile",
        "Gemfile.lock",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "composer.json",
        "composer.lock",
        "mix.exs",
        "pubspec.yaml",
        "Package.swift",
        "CMakeLists.txt",
        "vcpkg.json",
        "conanfile.txt",
    }
)

TEST_DIRECTORY_NAMES = frozenset({"tests", "test", "__tests__"})
JAVASCRIPT_TEST_SUFFIXES = tuple(
    f".{kind}.{extension}"
    for kind in ("test", "spec")
    for extension in ("js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts")
)


@dataclass(frozen=True)
class LanguageStats:
    """Number of text files and lines for one language."""

    language: str
    files: int
    lines: int


@dataclass(frozen=True)
class FileLineCount:
    """Line count of one text file, with its path relative to the root."""

    path: str
    lines: int


@dataclass(frozen=True)
class MarkerLocation:
    """A line that contains a TODO, FIXME, XXX or HACK marker."""

    kind: str
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class Commit:
    """One entry of `git log`, with the author date as YYYY-MM-DD."""

    short_hash: str
    date: str
    author: str
    subject: str


@dataclass
class GitHistory:
    """Recent commits, or the reason why no history is available.

    `error` is None when git ran successfully. `path_prefix` is the root's path
    inside the work tree, so history is limited to it when it is not empty.
    """

    commits: list[Commit] = field(default_factory=list)
    commit_count: int = 0
    path_prefix: str = ""
    error: str | None = None


@dataclass
class RepositoryReport:
    """Facts collected by `scan_repository`.

    All paths are relative to `root` and use "/" as the separator. Binary
    files, files over MAX_TEXT_FILE_BYTES and unreadable paths are listed
    separately and are not part of the line counts. Marker counts include
    every occurrence, but `marker_locations` keeps only the first
    MARKER_LOCATION_LIMIT lines that contain a marker.
    """

    root: Path
    text_file_count: int = 0
    total_lines: int = 0
    languages: list[LanguageStats] = field(default_factory=list)
    largest_files: list[FileLineCount] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    marker_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MARKER_KINDS, 0))
    marker_locations: list[MarkerLocation] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    binary_files: list[str] = field(default_factory=list)
    oversized_files: list[str] = field(default_factory=list)
    unreadable_paths: list[str] = field(default_factory=list)
    skipped_symlinks: list[str] = field(default_factory=list)
    git: GitHistory = field(default_factory=GitHistory)


@dataclass
class _LanguageTotals:
    files: int = 0
    lines: int = 0


@dataclass
class _ScanState:
    report: RepositoryReport
    language_totals: dict[str, _LanguageTotals] = field(default_factory=dict)
    file_line_counts: list[FileLineCount] = field(default_factory=list)


def scan_repository(root: Path) -> RepositoryReport:
    """Walk `root` and collect the facts for a repository report.

    Symbolic links are skipped, both files and directories, so the scan never
    leaves `root`. Raises OSError if `root` itself cannot be listed.
    """
    state = _ScanState(report=RepositoryReport(root=root))
    for relative_path, entry in _walk_files(root, state.report):
        _scan_file(relative_path, entry, state)

    report = state.report
    report.languages = _sorted_language_stats(state.language_totals)
    report.largest_files = sorted(
        state.file_line_counts, key=lambda item: (-item.lines, item.path)
    )[:LARGEST_FILE_LIMIT]
    report.git = read_git_history(root)
    return report


def _walk_files(root: Path, report: RepositoryReport) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Yield each directory's files by name, then descend into its subdirectories."""
    pending: list[tuple[str, str]] = [(os.fspath(root), "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = _sorted_entries(directory)
        except OSError:
            # Only a failure on the root is fatal. A subdirectory can be
            # unreadable or vanish while the walk is running.
            if not prefix:
                raise
            report.unreadable_paths.append(prefix.rstrip("/"))
            continue

        subdirectories: list[tuple[str, str]] = []
        for entry in entries:
            relative_path = prefix + entry.name
            if entry.is_symlink():
                report.skipped_symlinks.append(relative_path)
            elif entry.is_dir(follow_symlinks=False):
                if not _is_skipped_directory(entry.name):
                    subdirectories.append((entry.path, relative_path + "/"))
            elif entry.is_file(follow_symlinks=False):
                yield relative_path, entry

        pending.extend(reversed(subdirectories))


def _sorted_entries(directory: str) -> list[os.DirEntry[str]]:
    with os.scandir(directory) as iterator:
        return sorted(iterator, key=lambda entry: entry.name)


def _is_skipped_directory(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRECTORY_NAMES or name.endswith(".egg-info")


def _scan_file(relative_path: str, entry: os.DirEntry[str], state: _ScanState) -> None:
    report = state.report
    name = entry.name
    if name in MANIFEST_NAMES or _is_requirements_file(name):
        report.manifests.append(relative_path)
    if is_test_file(relative_path):
        report.test_files.append(relative_path)

    try:
        if entry.stat(follow_symlinks=False).st_size > MAX_TEXT_FILE_BYTES:
            report.oversized_files.append(relative_path)
            return
        with open(entry.path, "rb") as stream:
            data = stream.read(MAX_TEXT_FILE_BYTES + 1)
    except OSError:
        report.unreadable_paths.append(relative_path)
        return

    if len(data) > MAX_TEXT_FILE_BYTES:
        # The file grew between stat() and read().
        report.oversized_files.append(relative_path)
        return
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        report.binary_files.append(relative_path)
        return

    _record_text_file(relative_path, data, state)


def _record_text_file(relative_path: str, data: bytes, state: _ScanState) -> None:
    report = state.report
    line_count = count_lines(data)
    report.text_file_count += 1
    report.total_lines += line_count
    state.file_line_counts.append(FileLineCount(relative_path, line_count))

    totals = state.language_totals.setdefault(language_for_path(relative_path), _LanguageTotals())
    totals.files += 1
    totals.lines += line_count

    _collect_markers(relative_path, data, report)


def _is_requirements_file(name: str) -> bool:
    return name.startswith("requirements") and name.endswith((".txt", ".in"))


def _sorted_language_stats(totals: dict[str, _LanguageTotals]) -> list[LanguageStats]:
    stats = [LanguageStats(language, item.files, item.lines) for language, item in totals.items()]
    return sorted(stats, key=lambda item: (-item.lines, -item.files, item.language))


def count_lines(data: bytes) -> int:
    """Count lines, including a last line without a trailing newline."""
    newline_count = data.count(b"\n")
    if data and not data.endswith(b"\n"):
        return newline_count + 1
    return newline_count


def language_for_path(relative_path: str) -> str:
    """Map a file name to a language by exact name or extension, else "Other"."""
    name = relative_path.rsplit("/", 1)[-1]
    if name in LANGUAGE_BY_FILENAME:
        return LANGUAGE_BY_FILENAME[name]
    if name.startswith(("Dockerfile.", "Containerfile.")):
        return "Dockerfile"
    _, extension = os.path.splitext(name)
    return LANGUAGE_BY_EXTENSION.get(extension.lower(), "Other")


def is_test_file(relative_path: str) -> bool:
    """Return whether a path looks like a test file by directory or name.

    Any file under a directory named tests, test or __tests__ counts, as do
    test_*.py, *_test.py, *_test.go and *.test.* or *.spec.* JavaScript and
    TypeScript files.
    """
    *directories, name = relative_path.split("/")
    if any(directory in TEST_DIRECTORY_NAMES for directory in directories):
        return True
    if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
        return True
    return name.endswith("_test.go") or name.endswith(JAVASCRIPT_TEST_SUFFIXES)


def _collect_markers(relative_path: str, data: bytes, report: RepositoryReport) -> None:
    line_number = 1
    position = 0
    last_recorded_line = 0
    for match in MARKER_PATTERN.finditer(data):
        line_number += data.count(b"\n", position, match.start())
        position = match.start()
        kind = match.group(1).decode("ascii")
        report.marker_counts[kind] += 1

        if line_number == last_recorded_line:
            continue
        last_recorded_line = line_number
        if len(report.marker_locations) < MARKER_LOCATION_LIMIT:
            text = _line_text(data, match.start())
            report.marker_locations.append(MarkerLocation(kind, relative_path, line_number, text))


def _line_text(data: bytes, offset: int) -> str:
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    if end == -1:
        end = len(data)
    text = data[start:end].decode("utf-8", errors="replace").strip()
    if len(text) > MARKER_TEXT_MAX_CHARS:
        return text[: MARKER_TEXT_MAX_CHARS - 3].rstrip() + "..."
    return text


class _GitError(Exception):
    """A git command failed. The message is ready to show to the user."""


def read_git_history(root: Path) -> GitHistory:
    """Read the commit count and the last COMMIT_LIMIT commits of `root`.

    When `root` is a subdirectory of a work tree, only commits that touch it
    are counted and listed. Never raises for git failures, which are stored
    in `GitHistory.error` instead.
    """
    try:
        return _read_git_history(root)
    except _GitError as error:
        return GitHistory(error=str(error))


def _read_git_history(root: Path) -> GitHistory:
    inside_work_tree, _, path_prefix = _run_git(
        root, ["rev-parse", "--is-inside-work-tree", "--show-prefix"]
    ).partition("\n")
    if inside_work_tree.strip() != "true":
        raise _GitError("Not inside a git work tree.")
    path_prefix = path_prefix.strip()

    if _start_git(root, ["rev-parse", "--verify", "--quiet", "HEAD"]).returncode != 0:
        raise _GitError("The git repository has no commits yet.")

    pathspec = ["--", "."] if path_prefix else []
    count_output = _run_git(root, ["rev-list", "--count", "HEAD", *pathspec]).strip()
    if not count_output.isdigit():
        raise _GitError(f"git rev-list returned an invalid commit count: {count_output!r}")
    commit_count = int(count_output)
    log_output = _run_git(
        root,
        [
            "log",
            f"--max-count={COMMIT_LIMIT}",
            "--no-color",
            "--no-show-signature",
            "--date=short",
            "--format=%h%x1f%ad%x1f%an%x1f%s",
            "HEAD",
            *pathspec,
        ],
    )
    return GitHistory(
        commits=_parse_log(log_output),
        commit_count=commit_count,
        path_prefix=path_prefix,
    )


def _parse_log(output: str) -> list[Commit]:
    commits = []
    for line in output.splitlines():
        fields = line.split("\x1f")
        if len(fields) == 4:
            commits.append(Commit(*fields))
    return commits


def _run_git(root: Path, arguments: Sequence[str]) -> str:
    completed = _start_git(root, arguments)
    if completed.returncode != 0:
        stderr_lines = completed.stderr.strip().splitlines()
        detail = stderr_lines[0] if stderr_lines else f"exit code {completed.returncode}"
        if "not a git repository" in detail:
            raise _GitError("Not a git repository.")
        raise _GitError(f"git {arguments[0]} failed: {detail}")
    return completed.stdout


def _start_git(root: Path, arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run git in `root` and return its result, whatever the exit code."""
    try:
        return subprocess.run(
            ["git", *arguments],
            cwd=root,
            # English messages, so "not a git repository" can be recognized.
            env={**os.environ, "LC_ALL": "C"},
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise _GitError("git is not installed or not on PATH.") from None
    except subprocess.TimeoutExpired:
        raise _GitError(
            f"git {arguments[0]} timed out after {GIT_TIMEOUT_SECONDS:g} seconds."
        ) from None
    except OSError as error:
        raise _GitError(f"git failed to start: {error}") from None


def render_report(report: RepositoryReport, prompt: str) -> str:
    """Format the report as plain text with markdown headings and lists.

    The first line is always DISCLAIMER, followed by the prompt.
    """
    sections = [
        _render_header(report, prompt),
        _render_languages(report),
        _render_largest_files(report),
        _render_tests(report),
        _render_markers(report),
        _render_manifests(report),
        _render_git_history(report.git),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _render_header(report: RepositoryReport, prompt: str) -> list[str]:
    lines = [DISCLAIMER, "", "## Prompt"]
    lines += ["> " + line if line else ">" for line in prompt.splitlines() or [""]]
    lines += [
        "",
        f"# Repository report: {report.root}",
        "",
        f"Counted {report.total_lines} lines in {report.text_file_count} text files.",
    ]
    lines += _render_skipped(report)
    return lines


def _render_skipped(report: RepositoryReport) -> list[str]:
    skipped = [
        (
            len(report.binary_files),
            "binary file",
            f" (NUL byte in the first {BINARY_SNIFF_BYTES // 1024} KiB)",
        ),
        (len(report.oversized_files), "file", f" over {MAX_TEXT_FILE_BYTES // 1024**2} MiB"),
        (len(report.unreadable_paths), "path", " that could not be read"),
        (len(report.skipped_symlinks), "symbolic link", ""),
    ]
    return [f"Skipped {_plural(count, noun)}{detail}." for count, noun, detail in skipped if count]


def _render_languages(report: RepositoryReport) -> list[str]:
    lines = ["## Languages by lines"]
    if not report.languages:
        return [*lines, "No text files found."]
    return lines + [
        f"- {item.language}: {_plural(item.lines, 'line')} in {_plural(item.files, 'file')}"
        for item in report.languages
    ]


def _render_largest_files(report: RepositoryReport) -> list[str]:
    lines = [f"## Largest files (top {LARGEST_FILE_LIMIT} by lines)"]
    if not report.largest_files:
        return [*lines, "No text files found."]
    return lines + [
        f"- {item.path}: {_plural(item.lines, 'line')}" for item in report.largest_files
    ]


def _render_tests(report: RepositoryReport) -> list[str]:
    test_files = report.test_files
    lines = ["## Tests", f"Found {_plural(len(test_files), 'test file')}."]
    if len(test_files) > TEST_FILE_LIST_LIMIT:
        lines.append(f"The first {TEST_FILE_LIST_LIMIT}:")
    return lines + [f"- {path}" for path in test_files[:TEST_FILE_LIST_LIMIT]]


def _render_markers(report: RepositoryReport) -> list[str]:
    counts = report.marker_counts
    total = sum(counts.values())
    summary = ", ".join(f"{kind}: {counts[kind]}" for kind in MARKER_KINDS)
    lines = ["## TODO, FIXME, XXX and HACK markers", f"{summary} ({total} in total)."]
    locations = report.marker_locations
    if len(locations) == MARKER_LOCATION_LIMIT:
        lines.append(f"The first {MARKER_LOCATION_LIMIT} lines with a marker:")
    return lines + [f"- {item.path}:{item.line}: {item.text}" for item in locations]


def _render_manifests(report: RepositoryReport) -> list[str]:
    lines = ["## Dependency manifests"]
    if not report.manifests:
        return [*lines, "No dependency manifests found."]
    return lines + [f"- {path}" for path in report.manifests]


def _render_git_history(git: GitHistory) -> list[str]:
    lines = ["## Recent git history"]
    if git.error is not None:
        return [*lines, git.error]

    scope = f" that touch {git.path_prefix}" if git.path_prefix else ""
    lines.append(f"{_plural(git.commit_count, 'commit')} in HEAD{scope}.")
    if git.commit_count > len(git.commits):
        lines.append(f"The last {len(git.commits)}:")
    return lines + [
        f"- {commit.short_hash} {commit.date} {commit.author}: {commit.subject}"
        for commit in git.commits
    ]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
