"""``pyconsul operator raft list-peers|remove-peer``: the Raft servers."""

from pyconsul.cli.command import Command, Group
from pyconsul.cli.columnize import columnize
from pyconsul.cli.flags import StringFlag
from pyconsul.cli.http import ApiError, UnexpectedStatus
from pyconsul.cli.httpflags import CLIENT_FLAGS, SERVER_FLAGS, connect
from pyconsul.golang import json as go_json
from pyconsul.golang.errors import GoError


class Operator:
    def __init__(self, client):
        self.client = client

    def _call(self, method, path, params=None):
        response = self.client.request(method, path, params)
        if response.status != 200:
            raise UnexpectedStatus(response.status, response.body)
        return response

    def raft_configuration(self):
        body = self._call("GET", "/v1/operator/raft/configuration").body
        try:
            configuration = go_json.unmarshal(body, into=go_json.MAP)
        except GoError as error:
            raise ApiError(str(error))
        return configuration

    def remove_peer(self, server_id="", address=""):
        params = {"id": server_id} if server_id else {"address": address}
        self._call("DELETE", "/v1/operator/raft/peer", params)


class ListPeersCommand(Command):
    synopsis = "Lists the servers of the Raft cluster"
    usage = """
Usage: {prog} operator raft list-peers [options]

  Shows every server of the Raft cluster: its node, ID, address, whether it
  leads and whether it votes. With -stale any server answers, which works
  even when the cluster has no leader.
"""
    flag_groups = (CLIENT_FLAGS + SERVER_FLAGS,)

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
        operator = connect(Operator, parsed, console)
        if operator is None:
            return 1
        try:
            configuration = operator.raft_configuration()
        except ApiError as error:
            console.err("Error getting peers: %s" % error)
            return 1
        rows = ["Node|ID|Address|State|Voter|RaftProtocol"]
        for server in configuration.get("Servers") or []:
            rows.append(
                "|".join(
                    [
                        server.get("Node", ""),
                        server.get("ID", ""),
                        server.get("Address", ""),
                        "leader" if server.get("Leader") else "follower",
                        "true" if server.get("Voter") else "false",
                        server.get("ProtocolVersion", "") or "<=1",
                    ]
                )
            )
        console.out(columnize(rows))
        return 0


class RemovePeerCommand(Command):
    synopsis = "Removes a server from the Raft cluster"
    usage = """
Usage: {prog} operator raft remove-peer -id=ID | -address=IP:PORT [options]

  Removes a server from the Raft configuration, for instance one that failed
  and will not come back. A server that is still running joins again.
"""
    flag_groups = (
        (
            StringFlag("id", "The ID of the server to remove.", placeholder="id"),
            StringFlag("address", "The address (IP:port) of the server to remove.", placeholder="addr"),
        ),
        CLIENT_FLAGS + SERVER_FLAGS,
    )

    def execute(self, parsed, console):
        if self.refuse_arguments(parsed, console):
            return 1
        if bool(parsed.id) == bool(parsed.address):
            problem = "cannot give both an address and id" if parsed.id else (
                "an address or id is required for the peer to remove"
            )
            console.err("Error removing peer: %s" % problem)
            return 1
        operator = connect(Operator, parsed, console)
        if operator is None:
            return 1
        try:
            operator.remove_peer(server_id=parsed.id, address=parsed.address)
        except ApiError as error:
            console.err("Error removing peer: %s" % error)
            return 1
        if parsed.id:
            console.out('Removed peer with id "%s"' % parsed.id)
        else:
            console.out('Removed peer with address "%s"' % parsed.address)
        return 0


raft_group = Group(
    synopsis="Inspects and changes the Raft cluster",
    usage="""
Usage: {prog} operator raft <subcommand> [options]

  Looks at and changes the Raft configuration of the servers.
""",
    subcommands={"list-peers": ListPeersCommand(), "remove-peer": RemovePeerCommand()},
)

operator_group = Group(
    synopsis="Operator tools for the servers",
    usage="""
Usage: {prog} operator <subcommand> [options]

  Tools for operators of a pyconsul cluster.
""",
    subcommands={"raft": raft_group},
)
