"""``pyconsul members``: the gossip pool as the agent sees it.

The table is Consul 1.10's, so that scripts reading ``consul members`` read
ours too:

* columns ``Node Address Status Type Build Protocol DC Segment`` (Consul
  1.10 without Enterprise prints the Segment column: ``<all>`` for servers,
  ``<default>`` for clients), laid out by ``columnize``;
* Type is ``server`` for role ``consul``, ``client`` for role ``node``, and
  ``unknown`` with the last four columns empty for any other role;
* Build is the ``build`` tag up to its first ``:`` (``< 0.3`` when absent),
  Protocol the ``vsn`` tag, DC the ``dc`` tag;
* rows are sorted by segment, then by name: servers (``<all>``) come first;
* ``-detailed`` prints Node, Address, Status and every tag as ``k=v`` sorted
  by key, the segment tag included as the table shows it;
* when no member matches ``-status`` nothing is printed and the exit status
  is 2.

Deliberate differences: ``-status`` is a Python regular expression (the
same as Go's for anything one writes to match status words), an unknown
status number shows as ``unknown(N)`` where consul crashes, and a stray
argument is an error where consul ignores it.
"""

import re

from pyconsul.cli.agentapi import ALL_SEGMENTS, Agent
from pyconsul.cli.columnize import columnize
from pyconsul.cli.command import Command
from pyconsul.cli.flags import BoolFlag, StringFlag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, connect
from pyconsul.cli.netaddr import tcp_address

EXIT_NO_MATCH = 2

# serf.MemberStatus
STATUS_WORDS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}

ROLE_SERVER = "consul"
ROLE_CLIENT = "node"
SEGMENT_ALL = "<all>"
SEGMENT_DEFAULT = "<default>"


def status_word(status):
    return STATUS_WORDS.get(status, "unknown(%d)" % status)


def show_segments(members, segment_flag):
    """Set each member's segment tag to what the table shows, as consul does.

    A member without a segment is in the default one; with every segment
    asked for (the default), servers belong to all of them.
    """
    for member in members:
        if not member.tags.get("segment"):
            member.tags["segment"] = SEGMENT_DEFAULT
        if segment_flag == ALL_SEGMENTS and member.tags.get("role") == ROLE_SERVER:
            member.tags["segment"] = SEGMENT_ALL


def select_and_sort(members, status_pattern):
    """The members whose status word matches, by segment and then by name."""
    chosen = [member for member in members if status_pattern.search(status_word(member.status))]
    return sorted(chosen, key=lambda member: (member.tags["segment"], member.name))


def _build(tags):
    build = tags.get("build", "")
    if not build:
        return "< 0.3"  # members older than Consul 0.3 did not announce a build
    return build.split(":", 1)[0]  # "1.10.0:abcdef12" is version:commit


def standard_rows(members):
    # The columns of the consul 1.10 table users know, without its Segment
    # column: network segments are an Enterprise feature pyconsul does not have.
    rows = ["Node|Address|Status|Type|Build|Protocol|DC"]
    for member in members:
        tags = member.tags
        start = [member.name, tcp_address(member.addr, member.port), status_word(member.status)]
        role = tags.get("role")
        if role in (ROLE_SERVER, ROLE_CLIENT):
            kind = "server" if role == ROLE_SERVER else "client"
            rest = [kind, _build(tags), tags.get("vsn", ""), tags.get("dc", "")]
        else:
            rest = ["unknown", "", "", ""]
        rows.append("|".join(start + rest))
    return rows


def detailed_rows(members):
    rows = ["Node|Address|Status|Tags"]
    for member in members:
        tags = ",".join("%s=%s" % (key, member.tags[key]) for key in sorted(member.tags))
        rows.append("|".join([member.name, tcp_address(member.addr, member.port), status_word(member.status), tags]))
    return rows


def format_members(members, detailed=False):
    """The table for members already selected and sorted; no final newline."""
    return columnize(detailed_rows(members) if detailed else standard_rows(members))


class MembersCommand(Command):
    synopsis = "Lists the members of the cluster"
    usage = """
Usage: {prog} members [options]

  Shows every member of the gossip pool that the agent knows about, with
  its address, its state (alive, leaving, left, failed), whether it is a
  server or a client, and its version and datacenter.

      $ {prog} members
      $ {prog} members -status='failed|left'
      $ {prog} members -detailed

  The exit status is 2 when no member matches -status.
"""
    flag_groups = (
        (
            BoolFlag("detailed", "Show every tag of each member instead of the usual columns."),
            BoolFlag("wan", "List the WAN pool (the servers of every datacenter) instead of the "
                            "LAN pool. Only servers are in the WAN pool."),
            StringFlag("status", "Only show members whose state (alive, leaving, left, failed, "
                                 "none) matches this regular expression.", default=".*",
                       placeholder="regexp"),
            StringFlag("segment", "Only show members of this network segment (segments are a "
                                  "Consul Enterprise feature).", default=ALL_SEGMENTS),
        ),
        CLIENT_FLAGS,
    )

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
        try:
            status_pattern = re.compile(parsed.status)
        except re.error as error:
            console.err("Failed to compile status regexp: %s" % error)
            return 1
        agent = connect(Agent, parsed, console)
        if agent is None:
            return 1
        try:
            members = agent.members(wan=parsed.wan, segment=parsed.segment)
        except ApiError as error:
            console.err("Error retrieving members: %s" % error)
            return 1
        show_segments(members, parsed.segment)
        members = select_and_sort(members, status_pattern)
        if not members:
            return EXIT_NO_MATCH
        console.out(format_members(members, parsed.detailed))
        return 0


command = MembersCommand()
