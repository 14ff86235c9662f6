"""A run acts on GitHub as its creator's connected account, through its environment only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from oz.billing.plans import PlanCatalog
from oz.db.models import GitHubAccount, Run
from oz.github.sealing import seal
from oz.harness.runner import HarnessSpec
from oz.principal import Principal
from oz.runs import states
from oz.runs.service import RunRequest, create_run
from oz.runs.worker import EmbeddedWorker
from tests.support.secrets import remember
from tests.support.world import World

TOKEN = remember("ghp_workerTestToken0000000000000000000")

AGENT = """
import json, os, subprocess, sys
repository = sys.argv[1]
subprocess.run(["git", "init", "-q", repository], check=True)
with open(os.path.join(repository, "change.txt"), "w") as change:
    change.write("made by the agent\\n")
subprocess.run(["git", "-C", repository, "add", "."], check=True)
# The fallback identity applies only when the environment sets none: GIT_AUTHOR_* win.
fallback = ["-c", "user.name=No Identity", "-c", "user.email=none@example.invalid"]
commit = ["git", "-C", repository, *fallback, "commit", "-q", "-m", "agent change"]
subprocess.run(commit, check=True)
seen = {name: os.environ.get(name) for name in ("GITHUB_TOKEN", "GIT_AUTHOR_NAME")}
with open(sys.argv[2], "w") as record:
    json.dump(seen, record)
print("committed")
"""


def connect(world: World, principal: Principal) -> None:
    with world.database.transaction() as session:
        session.add(
            GitHubAccount(
                user_uid=principal.uid,
                github_id=583231,
                login="octocat",
                name="The Octocat",
                email="octocat@example.com",
                token_sealed=seal(world.secret, TOKEN, principal.uid),
            )
        )


def run_agent(world: World, tmp_path: Path, principal: Principal) -> tuple[Run, dict[str, str]]:
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    repository, record = tmp_path / "repository", tmp_path / "seen.json"
    spec = HarnessSpec("command", (sys.executable, str(script), str(repository), str(record)))
    catalog = PlanCatalog()
    with world.database.transaction() as session:
        uid = create_run(session, principal, RunRequest(prompt="commit", config={}), catalog).uid
    worker = EmbeddedWorker(
        world.database,
        spec,
        catalog=catalog,
        secret=world.secret,
        concurrency=1,
        timeout_seconds=60,
    )

    worker.run_once()

    with world.database.read() as session:
        run = session.get(Run, uid)
        assert run is not None
    author = subprocess.run(
        ["git", "-C", str(repository), "log", "-1", "--format=%an <%ae>"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    seen = json.loads(record.read_text())
    seen["author"] = author
    return run, seen


def test_user_run_commits_as_the_connected_account(world: World, tmp_path: Path) -> None:
    connect(world, world.owner)

    run, seen = run_agent(world, tmp_path, world.owner)

    assert run.state == states.SUCCEEDED
    assert run.github_identity == {"type": "user", "login": "octocat"}
    assert seen["GITHUB_TOKEN"] == TOKEN
    assert seen["author"] == "The Octocat <octocat@example.com>"
    assert TOKEN not in (run.output or "")
    assert TOKEN not in json.dumps(run.github_identity)


def test_agent_run_gets_no_github_credentials(world: World, tmp_path: Path) -> None:
    connect(world, world.owner)
    agent = Principal("service_account", world.default_agent_uid, "bot", team_uid=world.team_uid)

    run, seen = run_agent(world, tmp_path, agent)

    assert run.github_identity == {"type": "none"}
    assert seen["GITHUB_TOKEN"] is None
    assert seen["GIT_AUTHOR_NAME"] is None


def test_user_without_account_has_no_identity(world: World, tmp_path: Path) -> None:
    run, seen = run_agent(world, tmp_path, world.owner)

    assert run.github_identity == {"type": "none"}
    assert seen["GITHUB_TOKEN"] is None
