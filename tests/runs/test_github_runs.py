"""Runs act on GitHub as the identity their key type calls for, against a local GitHub.

Each run's environment clones a repository from the local GitHub over git's smart HTTP;
the agent commits and pushes, and the commit that reaches GitHub names its author.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oz.billing.plans import PlanCatalog
from oz.clock import utcnow
from oz.db.models import GitHubAccount, Run
from oz.errors import ExternalAuthenticationRequired
from oz.github.app import GitHubApp
from oz.github.client import GitHubClient
from oz.github.context import GitHubContext
from oz.github.identity import GitHubLinks
from oz.github.orgs import enable_org
from oz.github.sealing import seal
from oz.harness.runner import HarnessSpec
from oz.principal import Principal
from oz.runs import states
from oz.runs.environments import EnvironmentChange, create_environment
from oz.runs.service import RunRequest, create_run
from oz.runs.worker import EmbeddedWorker
from tests.conftest import Clock
from tests.support.github import (
    APP_ID,
    APP_PRIVATE_KEY,
    BOT_USER_ID,
    FakeGitHub,
    running_github,
)
from tests.support.secrets import remember
from tests.support.world import World

USER_TOKEN = remember("ghp_runsTestUserToken00000000000000000")

# Commit in the cloned repository and push; report what happened, print the token.
AGENT = """
import json, os, subprocess, sys
repository = sys.argv[1]
with open(os.path.join(repository, "change.txt"), "w") as change:
    change.write("made by the agent\\n")
subprocess.run(["git", "-C", repository, "add", "."], check=True)
fallback = ["-c", "user.name=No Identity", "-c", "user.email=none@example.invalid"]
subprocess.run(["git", "-C", repository, *fallback, "commit", "-q", "-m", "agent"], check=True)
push = subprocess.run(
    ["git", "-C", repository, "push", "-q", "origin", "HEAD:main"],
    capture_output=True, text=True,
)
with open(sys.argv[2], "w") as record:
    json.dump({"pushed": push.returncode == 0, "stderr": push.stderr}, record)
print("token seen by the agent:", os.environ.get("GITHUB_TOKEN"))
"""


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(root=tmp_path / "github", installations={777: "acme"})
    with running_github(fake) as running:
        running.add_user(USER_TOKEN, "octocat", 583231)
        running.add_repository("acme/widgets")
        running.add_repository("octocat/public-notes", private=False)
        running.add_repository("elsewhere/tools")
        yield running


class Setup:
    def __init__(self, world: World, github: FakeGitHub, tmp_path: Path) -> None:
        self.world, self.github, self.tmp_path = world, github, tmp_path
        self.agent = Principal(
            "service_account", world.default_agent_uid, "CI agent", team_uid=world.team_uid
        )
        self.context = GitHubContext(
            GitHubClient(github.url),
            GitHubApp(APP_ID, APP_PRIVATE_KEY),
            GitHubLinks(github.url, world.secret),
        )

    def connect_user(self) -> None:
        with self.world.database.transaction() as session:
            session.add(
                GitHubAccount(
                    user_uid=self.world.owner.uid,
                    github_id=583231,
                    login="octocat",
                    name="The Octocat",
                    email="octocat@example.com",
                    token_sealed=seal(self.world.secret, USER_TOKEN, self.world.owner.uid),
                )
            )

    def enable_acme(self) -> None:
        with self.world.database.transaction() as session:
            enable_org(session, self.world.team_uid, "acme", 777, self.world.owner.uid)

    def environment(self, repo: str, *commands: str) -> str:
        change = EnvironmentChange(name=f"env {repo}", repos=[repo], setup_commands=list(commands))
        with self.world.database.transaction() as session:
            return create_environment(session, self.world.owner, None, change).uid

    def start(self, principal: Principal, environment_uid: str) -> str:
        request = RunRequest(prompt="change it", config={"environment_id": environment_uid})
        with self.world.database.transaction() as session:
            return create_run(session, principal, request, PlanCatalog()).uid

    def work(self, uid: str, repo_dir: str) -> tuple[Run, dict[str, Any]]:
        script = self.tmp_path / "agent.py"
        script.write_text(AGENT)
        record = self.tmp_path / "record.json"
        spec = HarnessSpec("command", (sys.executable, str(script), repo_dir, str(record)))
        worker = EmbeddedWorker(
            self.world.database,
            spec,
            catalog=PlanCatalog(),
            github=self.context,
            secret=self.world.secret,
            concurrency=1,
            timeout_seconds=60,
        )
        worker.run_once()
        for token in self.github.minted:
            remember(token)
        with self.world.database.read() as session:
            run = session.get(Run, uid)
            assert run is not None
            session.expunge(run)
        seen = json.loads(record.read_text()) if record.exists() else {}
        return run, seen


@pytest.fixture
def setup(world: World, github: FakeGitHub, tmp_path: Path) -> Setup:
    return Setup(world, github, tmp_path)


def assert_no_token(run: Run, *tokens: str) -> None:
    recorded = json.dumps([run.output, run.status_message, run.github_identity])
    for token in tokens:
        assert token not in recorded


def test_personal_run_pushes_as_the_connected_account(setup: Setup) -> None:
    setup.github.grants["octocat"] = {"acme/widgets"}
    setup.connect_user()
    uid = setup.start(setup.world.owner, setup.environment("acme/widgets"))

    run, seen = setup.work(uid, "widgets")

    assert run.state == states.SUCCEEDED, run.status_message
    assert seen["pushed"] is True, seen["stderr"]
    expected = "The Octocat <octocat@example.com>"
    assert setup.github.last_commit("acme/widgets") == f"{expected} | {expected}"
    assert run.github_identity == {"type": "user", "login": "octocat"}
    assert "token seen by the agent: ***" in (run.output or "")
    assert_no_token(run, USER_TOKEN)


def test_personal_run_without_account_rejected(setup: Setup) -> None:
    environment = setup.environment("acme/widgets")

    with pytest.raises(ExternalAuthenticationRequired) as refused:
        request = RunRequest(prompt="change it", config={"environment_id": environment})
        with setup.world.database.transaction() as session:
            links = GitHubLinks(setup.github.url, setup.world.secret)
            create_run(session, setup.world.owner, request, PlanCatalog(), links)

    assert refused.value.extras["provider"] == "github"
    assert refused.value.extras["auth_url"].startswith(f"{setup.github.url}/settings/tokens/new")
    with setup.world.database.read() as session:
        assert session.query(Run).count() == 0


def test_agent_run_pushes_as_the_app_bot(setup: Setup) -> None:
    setup.enable_acme()
    uid = setup.start(setup.agent, setup.environment("acme/widgets"))

    run, seen = setup.work(uid, "widgets")

    assert run.state == states.SUCCEEDED, run.status_message
    assert seen["pushed"] is True, seen["stderr"]
    bot = f"oz-test-app[bot] <{BOT_USER_ID}+oz-test-app[bot]@users.noreply.github.com>"
    assert setup.github.last_commit("acme/widgets") == f"{bot} | {bot}"
    assert run.github_identity == {"type": "app", "org": "acme"}
    assert len(setup.github.minted) == 1
    assert_no_token(run, *setup.github.minted)


def test_agent_run_without_authorization_reads_but_cannot_push(setup: Setup) -> None:
    uid = setup.start(setup.agent, setup.environment("octocat/public-notes"))

    run, seen = setup.work(uid, "public-notes")

    assert run.state == states.SUCCEEDED, run.status_message
    assert run.github_identity == {"type": "none"}
    assert seen["pushed"] is False
    assert "oz: this run has no GitHub credentials" in seen["stderr"]
    assert "oz github org enable" in seen["stderr"]
    assert "write" not in seen["stderr"]
    assert setup.github.last_commit("octocat/public-notes").startswith("Seed")


def test_unauthorized_agent_cannot_clone_private_repo(setup: Setup) -> None:
    uid = setup.start(setup.agent, setup.environment("acme/widgets"))

    run, _ = setup.work(uid, "widgets")

    assert run.state == states.FAILED
    assert run.status_message is not None
    assert run.status_message["error_code"] == "environment_setup_failed"
    assert run.status_message["message"].startswith("cloning acme/widgets failed")
    assert "no GitHub credentials" in run.status_message["message"]


def test_repo_outside_the_enabled_orgs_is_refused(setup: Setup) -> None:
    setup.enable_acme()
    environment = setup.environment("elsewhere/tools")

    with pytest.raises(ExternalAuthenticationRequired) as refused:
        setup.start(setup.agent, environment)

    assert refused.value.extras["inaccessible_repos"] == ["elsewhere/tools"]


def test_expired_app_jwt_fails_the_run(setup: Setup, frozen_clock: Clock) -> None:
    setup.enable_acme()
    uid = setup.start(setup.agent, setup.environment("acme/widgets"))
    # The server clock runs behind, so the JWT it signs has expired when GitHub checks it.
    frozen_clock.now = utcnow().replace(year=2020)

    run, seen = setup.work(uid, "widgets")

    assert run.state == states.FAILED
    assert run.status_message is not None
    assert run.status_message["error_code"] == "external_authentication_required"
    assert "too far in the past" in run.status_message["message"]
    assert "clock" in run.status_message["message"]
    assert seen == {}
    assert setup.github.minted == {}


def test_revoked_user_token_fails_run(setup: Setup) -> None:
    setup.github.grants["octocat"] = {"acme/widgets"}
    setup.connect_user()
    uid = setup.start(setup.world.owner, setup.environment("acme/widgets"))
    setup.github.revoke(USER_TOKEN)

    run, seen = setup.work(uid, "widgets")

    assert run.state == states.FAILED
    assert run.status_message is not None
    assert run.status_message["error_code"] == "external_authentication_required"
    assert "revoked or expired" in run.status_message["message"]
    assert run.status_message["provider"] == "github"
    assert run.status_message["auth_url"].startswith(setup.github.url)
    assert seen == {}


def test_repository_the_user_cannot_see_is_named(setup: Setup) -> None:
    setup.connect_user()
    uid = setup.start(setup.world.owner, setup.environment("elsewhere/tools"))

    run, _ = setup.work(uid, "tools")

    assert run.state == states.FAILED
    assert run.status_message is not None
    assert run.status_message["inaccessible_repos"] == ["elsewhere/tools"]


def test_failing_setup_command_is_named(setup: Setup) -> None:
    setup.github.grants["octocat"] = {"acme/widgets"}
    setup.connect_user()
    environment = setup.environment("acme/widgets", "test -f widgets/README.md", "exit 3")
    uid = setup.start(setup.world.owner, environment)

    run, seen = setup.work(uid, "widgets")

    assert run.state == states.FAILED
    assert run.status_message is not None
    assert run.status_message["error_code"] == "environment_setup_failed"
    assert run.status_message["message"].startswith("setup command 2 ('exit 3') failed")
    assert "status 3" in run.status_message["message"]
    assert seen == {}


def test_setup_commands_get_credentials(setup: Setup) -> None:
    setup.github.grants["octocat"] = {"acme/widgets"}
    setup.connect_user()
    environment = setup.environment(
        "acme/widgets", 'test -n "$GITHUB_TOKEN" && echo ready > widgets/setup.txt'
    )
    uid = setup.start(setup.world.owner, environment)

    run, seen = setup.work(uid, "widgets")

    assert run.state == states.SUCCEEDED, run.status_message
    assert seen["pushed"] is True


def test_deleted_environment_fails_the_run(setup: Setup) -> None:
    from oz.runs.environments import delete_environment

    environment = setup.environment("octocat/public-notes")
    uid = setup.start(setup.agent, environment)
    with setup.world.database.transaction() as session:
        delete_environment(session, setup.world.owner, environment)

    run, _ = setup.work(uid, "public-notes")

    assert run.state == states.FAILED
    assert run.status_message is not None
    assert "no longer exists" in run.status_message["message"]
