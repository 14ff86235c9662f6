"""`oz team`: members, roles, ownership and invitations, as in the Admin Panel."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import (
    EXIT_USAGE,
    CliContext,
    CliError,
    confirm_unless_forced,
    segment,
    team_query,
)
from oz.cli.output import Column, emit_object, emit_rows, when

MEMBER_COLUMNS: list[Column] = [
    ("Email", lambda member: member["email"]),
    ("Name", lambda member: member["display_name"]),
    ("Role", lambda member: member["role"]),
    ("Joined", lambda member: when(member["joined_at"])),
    ("User ID", lambda member: member["user_uid"]),
]
INVITATION_COLUMNS: list[Column] = [
    ("Email", lambda invitation: invitation["email"]),
    ("Role", lambda invitation: invitation["role"]),
    ("Created", lambda invitation: when(invitation["created_at"])),
    ("Expires at", lambda invitation: when(invitation["expires_at"])),
    ("ID", lambda invitation: invitation["uid"]),
]
ROLES = ("admin", "member")
TEAM_HELP = "team uid (your first team)"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "team",
        help="Manage your team's members, roles and invitations (owner and admins).",
        description="Members, roles, ownership and invitations of a team, as in the Admin"
        " Panel. Members are named by email or user id.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    member = actions.add_parser("member", help="List members, change roles, remove members.")
    member_actions = member.add_subparsers(dest="member_action", metavar="ACTION", required=True)
    listing = member_actions.add_parser("list", parents=[common], help="List the team's members.")
    listing.add_argument("--team", metavar="UID", help=TEAM_HELP)
    listing.set_defaults(handler=list_members)
    role = member_actions.add_parser(
        "role", parents=[common], help="Make a member an admin, or an admin a member."
    )
    role.add_argument("user", metavar="USER", help="email or user id")
    role.add_argument("role", choices=ROLES)
    role.add_argument("--team", metavar="UID", help=TEAM_HELP)
    role.set_defaults(handler=change_role)
    remove = member_actions.add_parser(
        "remove", parents=[common], help="Remove a member; their personal keys stop acting here."
    )
    remove.add_argument("user", metavar="USER", help="email or user id")
    remove.add_argument("--team", metavar="UID", help=TEAM_HELP)
    remove.add_argument("--force", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(handler=remove_member)

    transfer = actions.add_parser(
        "transfer",
        parents=[common],
        help="Make another member the owner; you become an admin (the owner only).",
    )
    transfer.add_argument("user", metavar="USER", help="email or user id of the new owner")
    transfer.add_argument("--team", metavar="UID", help=TEAM_HELP)
    transfer.add_argument("--force", action="store_true", help="do not ask for confirmation")
    transfer.set_defaults(handler=transfer_ownership)

    invitation = actions.add_parser("invitation", help="Invite people by one-time links.")
    invitation_actions = invitation.add_subparsers(
        dest="invitation_action", metavar="ACTION", required=True
    )
    pending = invitation_actions.add_parser(
        "list", parents=[common], help="List pending invitations."
    )
    pending.add_argument("--team", metavar="UID", help=TEAM_HELP)
    pending.set_defaults(handler=list_invitations)
    create = invitation_actions.add_parser(
        "create",
        parents=[common],
        help="Invite an email address; prints a join link, valid 7 days, shown once.",
    )
    create.add_argument("email", metavar="EMAIL")
    create.add_argument("--role", choices=ROLES, default="member", help="default: member")
    create.add_argument("--team", metavar="UID", help=TEAM_HELP)
    create.set_defaults(handler=create_invitation)
    revoke = invitation_actions.add_parser(
        "revoke", parents=[common], help="Revoke a pending invitation; its link stops working."
    )
    revoke.add_argument("uid", metavar="ID", help="the invitation's id, from `list`")
    revoke.add_argument("--team", metavar="UID", help=TEAM_HELP)
    revoke.set_defaults(handler=revoke_invitation)


def _with_team(body: dict[str, Any], team: str | None) -> dict[str, Any]:
    return {**body, "team": team} if team else body


def _user(user: str) -> str:
    """Return USER as one path segment; the server resolves an email to its member."""
    target = user.strip()
    if not target:
        raise CliError("USER must be a member's email address or user id", EXIT_USAGE)
    return segment(target)


def list_members(context: CliContext, args: argparse.Namespace) -> int:
    document = context.call("GET", f"/team/members{team_query(args.team)}")
    emit_rows(
        context.output_format,
        document["members"],
        MEMBER_COLUMNS,
        json_document=document,
        title="Team members",
    )
    return 0


def change_role(context: CliContext, args: argparse.Namespace) -> int:
    changed = context.call(
        "PUT", f"/team/members/{_user(args.user)}", body=_with_team({"role": args.role}, args.team)
    )
    role = "an admin" if changed["role"] == "admin" else "a member"
    emit_object(context.output_format, changed, f"{changed['email']} is now {role}.")
    return 0


def remove_member(context: CliContext, args: argparse.Namespace) -> int:
    user = _user(args.user)
    confirm_unless_forced(
        args.force,
        "Removing a member",
        f"Remove {args.user} from the team? Their personal keys stop acting in it.",
    )
    context.call("DELETE", f"/team/members/{user}{team_query(args.team)}")
    emit_object(
        context.output_format,
        {"user": args.user, "removed": True},
        f"Removed {args.user} from the team. Agent keys they created keep working"
        " until an admin deletes them.",
    )
    return 0


def transfer_ownership(context: CliContext, args: argparse.Namespace) -> int:
    _user(args.user)
    confirm_unless_forced(
        args.force,
        "Transferring ownership",
        f"Make {args.user} the team's owner? You become an admin, and agent keys bill the"
        " new owner.",
    )
    result = context.call(
        "PUT",
        "/team/owner",
        body=_with_team({"user_uid": args.user.strip()}, args.team),
    )
    emit_object(context.output_format, result, f"{args.user} now owns the team; you are an admin.")
    return 0


def list_invitations(context: CliContext, args: argparse.Namespace) -> int:
    document = context.call("GET", f"/team/invitations{team_query(args.team)}")
    emit_rows(
        context.output_format,
        document["invitations"],
        INVITATION_COLUMNS,
        json_document=document,
        title="Pending invitations",
    )
    return 0


def create_invitation(context: CliContext, args: argparse.Namespace) -> int:
    created = context.call(
        "POST",
        "/team/invitations",
        body=_with_team({"email": args.email, "role": args.role}, args.team),
    )
    replaced = (
        " It replaces the pending invitation to that address, whose link no longer works."
        if created["replaced_pending"]
        else ""
    )
    emit_object(
        context.output_format,
        created,
        f"Invited {created['email']} as {created['role']}.{replaced} Send them this link; it"
        f" works once, until {when(created['expires_at'])}, and is not shown again:\n\n"
        f"  {created['join_url']}",
    )
    return 0


def revoke_invitation(context: CliContext, args: argparse.Namespace) -> int:
    context.call("DELETE", f"/team/invitations/{segment(args.uid)}{team_query(args.team)}")
    emit_object(
        context.output_format,
        {"uid": args.uid, "revoked": True},
        "Revoked the invitation. Its link no longer works.",
    )
    return 0
