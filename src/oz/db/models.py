"""Tables of users, teams, cloud agents, API keys and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from oz.clock import utcnow
from oz.db.types import UTCDateTime
from oz.uids import new_uid

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class User(Base):
    __tablename__ = "users"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Team(Base):
    __tablename__ = "teams"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    name: Mapped[str] = mapped_column(String(200))
    # free, build, max, business or enterprise
    plan: Mapped[str] = mapped_column(String(16), default="build", server_default="build")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        # Exactly one owner per team: at most one here, at least one by the service.
        Index(
            "uq_memberships_team_owner",
            "team_uid",
            unique=True,
            sqlite_where=text("role = 'owner'"),
            postgresql_where=text("role = 'owner'"),
        ),
    )

    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), primary_key=True)
    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CloudAgent(Base):
    __tablename__ = "cloud_agents"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Fields the Oz API carries for an agent that oz stores but does not act on yet
    # (skills, secrets, memory, default_runner_uid, ...).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class ApiKey(Base):
    """An API key. Only its digest and display suffix are stored, never the key."""

    __tablename__ = "api_keys"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    name: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(16))  # "personal" or "agent"
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    suffix: Mapped[str] = mapped_column(String(4))
    creator_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), index=True)
    agent_uid: Mapped[str | None] = mapped_column(
        ForeignKey("cloud_agents.uid"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_team_uid_updated_at", "team_uid", "updated_at"),
        Index("ix_runs_state_created_at", "state", "created_at"),
    )

    uid: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"))
    title: Mapped[str] = mapped_column(String(400))
    prompt: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    execution_location: Mapped[str] = mapped_column(String(16))
    creator_type: Mapped[str] = mapped_column(String(16))  # "user" or "service_account"
    creator_name: Mapped[str] = mapped_column(String(200))
    creator_user_uid: Mapped[str | None] = mapped_column(ForeignKey("users.uid"), default=None)
    creator_agent_uid: Mapped[str | None] = mapped_column(
        ForeignKey("cloud_agents.uid"), default=None
    )
    api_key_uid: Mapped[str | None] = mapped_column(ForeignKey("api_keys.uid"), default=None)
    scope_type: Mapped[str] = mapped_column(String(8))  # "User" or "Team"
    scope_uid: Mapped[str] = mapped_column(String(32))
    agent_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    worker_host: Mapped[str | None] = mapped_column(String(200), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    # Last sign of life from a self-hosted worker; None for runs of embedded workers.
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    status_message: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # Who the run acts as on GitHub: {"type": "user", "login": ...}, or {"type": "none"}.
    github_identity: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    output: Mapped[str | None] = mapped_column(Text, default=None)
    inference_cost: Mapped[float] = mapped_column(Float, default=0.0)
    compute_cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class CreditLot(Base):
    """Credits that one owner may spend: a cycle's plan-included credits, an add-on
    purchase, or an Enterprise team pool grant. `remaining_milli` changes only together
    with a ledger entry, in one transaction.
    """

    __tablename__ = "credit_lots"
    __table_args__ = (
        UniqueConstraint("kind", "owner_uid", "team_uid", "cycle"),
        CheckConstraint("remaining_milli >= 0", name="remaining_not_negative"),
        Index("ix_credit_lots_owner", "owner_type", "owner_uid", "kind"),
    )

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    kind: Mapped[str] = mapped_column(String(16))  # "included", "addon" or "team"
    owner_type: Mapped[str] = mapped_column(String(8))  # "user" or "team"
    owner_uid: Mapped[str] = mapped_column(String(32))
    # The team whose plan granted included credits; None for add-on lots.
    team_uid: Mapped[str | None] = mapped_column(ForeignKey("teams.uid"), default=None)
    cycle: Mapped[str | None] = mapped_column(String(7), default=None)  # "2030-01"
    granted_milli: Mapped[int] = mapped_column(BigInteger)
    remaining_milli: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """One change to one lot. The ledger is append-only and the source of truth."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    lot_uid: Mapped[str] = mapped_column(ForeignKey("credit_lots.uid"), index=True)
    amount_milli: Mapped[int] = mapped_column(BigInteger)  # positive grants, negative debits
    reason: Mapped[str] = mapped_column(String(16))  # "grant", "purchase" or "usage"
    run_uid: Mapped[str | None] = mapped_column(ForeignKey("runs.uid"), index=True, default=None)
    usage_report_id: Mapped[str | None] = mapped_column(String(64), default=None)
    purchase_uid: Mapped[str | None] = mapped_column(String(32), default=None)
    # Who the usage is attributed to (user or service_account) and who pays (user or team).
    attributed_type: Mapped[str | None] = mapped_column(String(16), default=None)
    attributed_uid: Mapped[str | None] = mapped_column(String(32), default=None)
    billed_type: Mapped[str] = mapped_column(String(8))
    billed_uid: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageReport(Base):
    """A usage report of a run, kept so that a retried report is charged once."""

    __tablename__ = "usage_reports"

    run_uid: Mapped[str] = mapped_column(ForeignKey("runs.uid"), primary_key=True)
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requested_milli: Mapped[int] = mapped_column(BigInteger)
    charged_milli: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamBilling(Base):
    """A team's billing settings and the state of its automatic reloads."""

    __tablename__ = "team_billing"

    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), primary_key=True)
    auto_reload: Mapped[bool] = mapped_column(Boolean, default=False)
    reload_pack_credits: Mapped[int] = mapped_column(Integer, default=400)
    reload_threshold_credits: Mapped[int] = mapped_column(Integer, default=100)
    monthly_cap_cents: Mapped[int] = mapped_column(Integer, default=20_000)
    # After a declined payment no reload is tried before this time.
    declined_until: Mapped[datetime | None] = mapped_column(default=None)
    decline_streak: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Purchase(Base):
    """A purchase of an add-on pack, approved or not, with the provider's response."""

    __tablename__ = "purchases"
    __table_args__ = (Index("ix_purchases_team_uid_month", "team_uid", "month"),)

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"))
    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"))
    credits: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))  # calendar month in UTC, "2030-01"
    status: Mapped[str] = mapped_column(String(16))  # approved, declined, failed
    trigger: Mapped[str] = mapped_column(String(16))  # auto_reload or manual
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(200), default=None)
    message: Mapped[str | None] = mapped_column(String(400), default=None)
    lot_uid: Mapped[str | None] = mapped_column(ForeignKey("credit_lots.uid"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillingNotice(Base):
    """A message for a team's admins, such as a declined reload, shown until read."""

    __tablename__ = "billing_notices"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GitHubAccount(Base):
    """A user's connected GitHub account; the token is sealed and never returned."""

    __tablename__ = "github_accounts"

    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), primary_key=True)
    github_id: Mapped[int] = mapped_column(BigInteger)
    login: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    token_sealed: Mapped[str] = mapped_column(Text)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)


class GitHubPendingConnection(Base):
    """A GitHub account approved in a browser, waiting for its code from the terminal.

    `oz github connect` finishes only when the code the callback page shows is entered,
    so an authorization URL passed to someone else connects nobody's account.
    """

    __tablename__ = "github_pending_connections"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), index=True)
    github_id: Mapped[int] = mapped_column(BigInteger)
    login: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    token_sealed: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class GitHubOrg(Base):
    """A GitHub organization a team enabled for its agents: the App's installation on it.

    Agent runs of the team act on repositories of enabled organizations with installation
    tokens of the App; `org` is stored lower-case, as GitHub logins compare.
    """

    __tablename__ = "github_orgs"

    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), primary_key=True)
    org: Mapped[str] = mapped_column(String(100), primary_key=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    enabled_by: Mapped[str] = mapped_column(String(32))
    enabled_at: Mapped[datetime] = mapped_column(default=utcnow)


class Environment(Base):
    """A cloud environment: repositories to clone and setup commands to run before a run."""

    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("team_uid", "name"),)

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    # ["owner/repo", ...] and ["command", ...], in order.
    repos: Mapped[list[str]] = mapped_column(JSON, default=list)
    setup_commands: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserPassword(Base):
    """A user's password as an argon2id hash; a user without one cannot sign in."""

    __tablename__ = "user_passwords"

    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInFailure(Base):
    """Failed sign-ins per email address, whether or not a user has it.

    Counting unknown addresses too means a lockout message reveals no account.
    """

    __tablename__ = "sign_in_failures"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class SignInClientFailure(Base):
    """Failed sign-ins per client network address, across every email address it tried.

    One client guessing passwords for many addresses is locked out too, which the
    per-email count alone does not catch.
    """

    __tablename__ = "sign_in_client_failures"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its digest is stored."""

    __tablename__ = "web_sessions"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    # The one-time token of the key-creation form this session last opened, so a
    # resubmitted form (a reload of the page that showed a new key) creates nothing.
    form_nonce: Mapped[str | None] = mapped_column(String(64), default=None)


class DeviceAuthorization(Base):
    """A device authorization request (RFC 8628): a CLI waiting for a user to approve it.

    Only a digest of the device code is stored; the short user code is what the user
    types in the browser.
    """

    __tablename__ = "device_authorizations"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    device_code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    client_name: Mapped[str] = mapped_column(String(100))
    # "pending", "approved", "denied" or "used"
    status: Mapped[str] = mapped_column(String(16), default="pending")
    user_uid: Mapped[str | None] = mapped_column(ForeignKey("users.uid"), default=None)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_polled_at: Mapped[datetime | None] = mapped_column(default=None)


class CliSession(Base):
    """A revocable credential `oz login` received; only its digest is stored."""

    __tablename__ = "cli_sessions"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    user_uid: Mapped[str] = mapped_column(ForeignKey("users.uid"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Invitation(Base):
    """An invitation to join a team with a role, sent as a one-time link.

    Only the HMAC digest of the link's token is stored, like a session's; the link is shown
    once to the admin who made it.
    """

    __tablename__ = "invitations"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    team_uid: Mapped[str] = mapped_column(ForeignKey("teams.uid"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(ForeignKey("users.uid"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_by: Mapped[str | None] = mapped_column(ForeignKey("users.uid"), default=None)


class RevocationEpoch(Base):
    """A counter that every revocation raises in its own transaction (one row, id 1).

    Each replica tags the keys it caches with the value it read first, and a cached key
    is used only while the value is unchanged, so a revocation committed on any replica
    reaches every cache by the next request.
    """

    __tablename__ = "revocation_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
