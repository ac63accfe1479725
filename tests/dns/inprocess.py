"""An agent's DNS server in this process: the in-memory server on its fake
clock, the authority and factory as the agent wires them, and the UDP and
TCP protocols on fake transports."""

import random
import struct

from twisted.internet.testing import StringTransport

from pyconsul.config import build
from pyconsul.dns.answers import Settings
from pyconsul.dns.authority import Authority
from pyconsul.dns.queries import PreparedQueries
from pyconsul.dns.server import ConsulDNSFactory, UDPProtocol
from pyconsul.dns.source import CatalogSource
from pyconsul.testing.server import NODE_ID, InMemoryServer
from tests.vectors.dns import load_dns_vectors, load_fixture, wait_for_fixture
from tests.vectors.targets import InMemoryAgent

CLIENT = ("127.0.0.1", 53000)


class FakeUDPTransport:
    def __init__(self):
        self.sent = []

    def write(self, data, address):
        self.sent.append((data, address))


class InProcessDNS:
    def __init__(self, node_name="s1", config=None, recursors=None, seed=0):
        values = {"datacenter": "dc1", "node_id": NODE_ID}
        values.update(config or {})
        agent_config = build(values, dev=True, hostname=node_name)[0]
        self.server = InMemoryServer(config=agent_config, node_name=node_name)
        self.clock = self.server.clock
        self.settings = Settings.from_config(agent_config)
        self.source = CatalogSource(self.server.cache, self.server.rpc, agent_config.datacenter,
                                    allow_stale=agent_config.dns.allow_stale, max_stale=agent_config.dns.max_stale)
        self.queries = PreparedQueries(self.server.rpc, agent_config.datacenter, node_name,
                                       allow_stale=agent_config.dns.allow_stale,
                                       max_stale=agent_config.dns.max_stale)
        self.authority = Authority(self.settings, self.source, self.clock, recursors, queries=self.queries)
        self.factory = ConsulDNSFactory(self.authority, self.settings, self.clock, random.Random(seed))
        self.udp = UDPProtocol(self.factory)
        self.udp.transport = FakeUDPTransport()
        self.http = InMemoryAgent(self.server)

    def ask_udp(self, query, address=CLIENT):
        """The datagrams sent back for one query datagram."""
        self.udp.transport.sent.clear()
        self.udp.datagramReceived(query, address)
        self.server.advance()
        return [data for data, _ in self.udp.transport.sent]

    def ask_tcp(self, query):
        """The messages sent back for one length-prefixed query."""
        protocol = self.factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(struct.pack("!H", len(query)) + query)
        self.server.advance()
        data, messages = transport.value(), []
        while len(data) >= 2:
            (length,) = struct.unpack("!H", data[:2])
            messages.append(data[2:2 + length])
            data = data[2 + length:]
        protocol.connectionLost(None)
        return messages

    def register(self, body):
        result = self.http.http("PUT", "/v1/catalog/register", body=_json(body))
        assert result.status == 200, result


def _json(body):
    import json

    return json.dumps(body).encode()


_recorded = None


def recorded_agent():
    """One in-process agent with the recorded vectors' catalog, shared by
    the tests that only read it."""
    global _recorded
    if _recorded is None:
        agent = InProcessDNS()
        fixture = load_dns_vectors()["fixture"]
        load_fixture(agent.http, fixture)
        wait_for_fixture(agent.http, fixture, "s1", clock=agent.clock.seconds)
        _recorded = agent
    return _recorded
