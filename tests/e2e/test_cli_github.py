"""GitHub identity end to end: a real `ozd` with a GitHub App and an OAuth app, a local
GitHub, and the `oz` CLI connecting accounts, enabling orgs and running in environments.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ServerFactory, create_agent, create_key, failure, unique
from tests.support.github import APP_ID, APP_PRIVATE_KEY, FakeGitHub, running_github
from tests.support.secrets import remember
from tests.support.server import OzServer, clean_env

USER_TOKEN = remember("ghp_e2eUserToken0000000000000000000000")
CLIENT = ("Iv1.e2etestclient", remember("e2e-oauth-client-secret-000000000000000"))

# Commit a change in every cloned repository and push it; print the pushes' result.
AGENT = """
import os, pathlib, subprocess
for repository in sorted(p for p in pathlib.Path.cwd().iterdir() if (p / ".git").exists()):
    (repository / "agent.txt").write_text(os.environ["OZ_PROMPT"] + "\\n")
    subprocess.run(["git", "-C", str(repository), "add", "."], check=True)
    subprocess.run(["git", "-C", str(repository), "commit", "-q", "-m", "agent"], check=True)
    push = subprocess.run(["git", "-C", str(repository), "push", "-q", "origin", "HEAD:main"])
    print(repository.name, "pushed" if push.returncode == 0 else "not pushed")
"""


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGitHub]:
    root = tmp_path_factory.mktemp("github")
    fake = FakeGitHub(root=root, installations={777: "acme"}, oauth_client=CLIENT)
    with running_github(fake) as running:
        running.add_user(USER_TOKEN, "octocat", 583231)
        running.grants["octocat"] = {"acme/widgets"}
        running.approving_token = USER_TOKEN
        running.add_repository("acme/widgets")
        yield running


@pytest.fixture(scope="module")
def server(
    backend: str,
    server_factory: ServerFactory,
    github: FakeGitHub,
    tmp_path_factory: pytest.TempPathFactory,
) -> OzServer:
    files = tmp_path_factory.mktemp("github-app")
    key_file = files / "app.pem"
    key_file.write_text(APP_PRIVATE_KEY)
    agent = files / "agent.py"
    agent.write_text(AGENT)
    return server_factory(
        backend,
        OZ_GITHUB_URL=github.url,
        OZ_GITHUB_API_URL=github.url,
        OZ_GITHUB_APP_ID=APP_ID,
        OZ_GITHUB_APP_PRIVATE_KEY_FILE=str(key_file),
        OZ_GITHUB_CLIENT_ID=CLIENT[0],
        OZ_GITHUB_CLIENT_SECRET=CLIENT[1],
        OZ_HARNESS="command",
        OZ_HARNESS_COMMAND=shlex.join([sys.executable, str(agent)]),
    )


def environment(server: OzServer, *repos: str) -> str:
    flags = [flag for repo in repos for flag in ("-r", repo)]
    created = server.oz_json(
        "environment",
        "create",
        "--name",
        unique("env"),
        *flags,
        "-c",
        "git -C widgets status --short",
        api_key=server.owner_key,
    )
    return str(created["uid"])


def run_cloud(server: OzServer, key: str, environment_uid: str, prompt: str) -> dict[str, object]:
    result = server.oz(
        "--output-format",
        "json",
        "agent",
        "run-cloud",
        "-e",
        environment_uid,
        "-p",
        prompt,
        "--wait",
        "--timeout",
        "60",
        api_key=key,
    )
    assert result.returncode in (0, 1), failure(result)
    run: dict[str, object] = json.loads(result.stdout)
    return run


def test_personal_run_pushes_as_account(server: OzServer, github: FakeGitHub) -> None:
    key = create_key(server, unique("personal"))["raw_api_key"]
    widgets = environment(server, "acme/widgets")

    refused = server.oz("agent", "run-cloud", "-e", widgets, "-p", "fix it", api_key=key)
    assert refused.returncode == 3, failure(refused)
    assert "have not connected a GitHub account" in refused.stderr
    assert "[external_authentication_required]\nConnect GitHub: " in refused.stderr
    assert f"Connect GitHub: {github.url}/login/oauth/authorize?" in refused.stderr

    connect(server, key)
    run = run_cloud(server, key, widgets, "personal change")

    assert run["state"] == "SUCCEEDED", run
    assert "widgets pushed" in str(run["output"])
    assert run["github_identity"] == {"type": "user", "login": "octocat"}
    author = "Octocat <octocat@users.noreply.github.com>"
    assert github.last_commit("acme/widgets") == f"{author} | {author}"
    assert USER_TOKEN not in json.dumps(run)


def start_connect(server: OzServer, key: str) -> tuple[subprocess.Popen[str], httpx.Response]:
    """Start `oz github connect` and approve in a "browser" that follows the printed URL."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "oz"), "github", "connect"],
        env=clean_env(WARP_API_KEY=key, WARP_SERVER_ROOT_URL=server.url),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    url = ""
    for line in process.stderr:
        if line.strip().startswith("http"):
            url = line.strip()
            break
    return process, httpx.get(url, follow_redirects=True, timeout=10)


def page_code(page: httpx.Response) -> str:
    found = re.search(r'id="code">([A-Z-]+)<', page.text)
    assert found is not None, page.text
    return found.group(1)


def connect(server: OzServer, key: str) -> None:
    """Run `oz github connect`, approve, and paste the page's code into the command."""
    process, page = start_connect(server, key)
    stdout, stderr = process.communicate(page_code(page) + "\n", timeout=30)

    assert page.status_code == 200, page.text
    assert "Finish connecting GitHub" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert process.returncode == 0, stderr
    assert "Connected to GitHub as octocat" in stdout


def test_connect_finishes_with_code_option(server: OzServer, github: FakeGitHub) -> None:
    key = create_key(server, unique("personal"))["raw_api_key"]
    process, page = start_connect(server, key)
    _, waiting_stderr = process.communicate("", timeout=30)

    finished = server.oz("github", "connect", "--code", page_code(page), api_key=key)

    assert process.returncode == 2
    assert "oz github connect --code CODE" in waiting_stderr
    assert finished.returncode == 0, failure(finished)
    assert "Connected to GitHub as octocat" in finished.stdout


def test_connect_code_of_another_user_rejected(server: OzServer, github: FakeGitHub) -> None:
    asker = create_key(server, unique("asker"))["raw_api_key"]
    process, page = start_connect(server, asker)
    process.communicate("", timeout=30)
    added = server.ozd(
        "user", "add", f"{unique('member')}@example.com", "--team", server.team_uid, "--with-key"
    )
    assert added.returncode == 0, failure(added)
    member_key = remember(added.stdout.strip().splitlines()[-1])

    rejected = server.oz("github", "connect", "--code", page_code(page), api_key=member_key)
    status = server.oz_json("github", "status", api_key=member_key)

    assert rejected.returncode == 5, failure(rejected)
    assert "started by another user" in rejected.stderr
    assert status == {"connected": False}


def test_agent_run_pushes_as_app(server: OzServer, github: FakeGitHub) -> None:
    agent = create_agent(server, unique("Release bot"))
    agent_key = create_key(server, unique("agent"), "--agent", agent["uid"], "--no-expiration")
    widgets = environment(server, "acme/widgets")

    enabled = server.oz_json("github", "org", "enable", "Acme", api_key=server.owner_key)
    run = run_cloud(server, agent_key["raw_api_key"], widgets, "agent change")

    assert enabled["installation_id"] == 777
    assert run["state"] == "SUCCEEDED", run
    assert run["github_identity"] == {"type": "app", "org": "acme"}
    assert github.last_commit("acme/widgets").startswith("oz-test-app[bot] <")
    for token in github.minted:
        remember(token)
        assert token not in json.dumps(run)

    shown = server.oz("run", "get", str(run["run_id"]), api_key=server.owner_key)
    assert "  github:   GitHub App on acme\n" in shown.stdout

    listed = server.oz("github", "org", "list", api_key=server.owner_key)
    assert "acme" in listed.stdout
    disabled = server.oz("github", "org", "disable", "acme", api_key=server.owner_key)
    assert disabled.returncode == 0, failure(disabled)


def test_members_cannot_enable_orgs(server: OzServer) -> None:
    added = server.ozd(
        "user", "add", f"{unique('member')}@example.com", "--team", server.team_uid, "--with-key"
    )
    assert added.returncode == 0, failure(added)
    member_key = remember(added.stdout.strip().splitlines()[-1])

    refused = server.oz("github", "org", "enable", "acme", api_key=member_key)

    assert refused.returncode == 4, failure(refused)
    assert "only the team's owner or admins may enable GitHub organizations" in refused.stderr


def test_environment_commands_round_trip(server: OzServer) -> None:
    key = server.owner_key
    uid = environment(server, "acme/widgets")

    bad = server.oz("environment", "update", uid, "-r", "widgets", api_key=key)
    updated = server.oz_json("environment", "update", uid, "-c", "make", api_key=key)
    shown = server.oz("environment", "get", uid, api_key=key)
    listed = server.oz_json("environment", "list", api_key=key)
    deleted = server.oz("environment", "delete", uid, api_key=key)
    forced = server.oz("environment", "delete", uid, "--force", api_key=key)

    assert bad.returncode == 1, failure(bad)
    assert "(field repos[0])" in bad.stderr
    assert updated["setup_commands"] == ["make"]
    assert updated["repos"] == ["acme/widgets"]
    assert "1. make" in shown.stdout
    assert uid in [item["uid"] for item in listed["environments"]]
    assert deleted.returncode == 1
    assert "pass --force" in deleted.stderr
    assert forced.returncode == 0, failure(forced)


def test_bad_org_and_environment_are_usage_errors(server: OzServer) -> None:
    slash = server.oz("github", "org", "enable", "acme/widgets", api_key=server.owner_key)
    empty = server.oz("agent", "run-cloud", "-e", " ", "-p", "p", api_key=server.owner_key)

    assert slash.returncode == 2, failure(slash)
    assert "not a GitHub organization login" in slash.stderr
    assert empty.returncode == 2, failure(empty)
