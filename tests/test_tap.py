"""The twistd plugin's options and the service tree it builds."""

import os

from twisted.internet.defer import ensureDeferred
from twisted.internet.testing import MemoryReactorClock
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from pyconsul import tap


class OptionsTests(SynchronousTestCase):
    def parse(self, *argv):
        options = tap.Options()
        options.parseOptions(list(argv))
        return options

    def test_dev(self):
        options = self.parse("--dev", "--http-port", "18500")
        self.assertTrue(options.config.dev)
        self.assertEqual(options.config.ports.http, 18500)

    def test_repeatable_options(self):
        data_dir = self.mktemp()
        options = self.parse(
            "--data-dir", data_dir, "--retry-join", "10.0.0.1", "--retry-join", "10.0.0.2"
        )
        self.assertEqual(options.config.retry_join, ("10.0.0.1", "10.0.0.2"))

    def test_config_errors_are_usage_errors(self):
        with self.assertRaises(usage.UsageError) as caught:
            self.parse("--config-file", "/no/such/file.json")
        self.assertIn("/no/such/file.json", str(caught.exception))
        self.assertRaises(usage.UsageError, self.parse, "--http-port", "eighty")

    def test_plugin_is_found(self):
        from twisted import plugins
        from twisted.application.service import IServiceMaker

        names = [p.tapname for p in getPlugins(IServiceMaker, plugins)]
        self.assertIn("pyconsul", names)


class FakePort:
    def __init__(self):
        self.written = []

    def write(self, data, address):
        self.written.append((data, address))

    def stopListening(self):
        return None


class MemoryReactorWithUDP(MemoryReactorClock):
    def __init__(self):
        super().__init__()
        self.udpServers = []

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        self.udpServers.append((port, protocol, interface))
        return FakePort()


class ServiceTests(SynchronousTestCase):
    def make(self, *argv):
        options = tap.Options()
        options.parseOptions(list(argv))
        reactor = MemoryReactorWithUDP()
        return tap.makeService(options, reactor), reactor

    def test_dev_server_listens_on_http(self):
        service, reactor = self.make("--dev", "--http-port", "18500", "--client", "127.0.0.5")
        service.startService()
        listening = {port: interface for port, _, _, interface in reactor.tcpServers}
        # Gossip (LAN and WAN) and server RPC on the bind address; HTTP and DNS on the client one.
        self.assertEqual(listening, {8301: "127.0.0.1", 8302: "127.0.0.1", 8300: "127.0.0.1", 18500: "127.0.0.5",
                                     8600: "127.0.0.5"})
        udp = {port: interface for port, _, interface in reactor.udpServers}
        self.assertEqual(udp, {8301: "127.0.0.1", 8302: "127.0.0.1", 8600: "127.0.0.5"})
        reactor.advance(0.2)
        self.assertTrue(service.server.driver.is_leader)
        d = ensureDeferred(_stop(service))
        self.successResultOf(d)

    def test_http_and_dns_can_be_disabled(self):
        service, reactor = self.make("--dev", "--http-port", "-1", "--dns-port", "-1")
        service.startService()
        self.assertEqual(sorted(port for port, *_ in reactor.tcpServers), [8300, 8301, 8302])
        self.assertEqual(sorted(port for port, *_ in reactor.udpServers), [8301, 8302])
        self.successResultOf(ensureDeferred(_stop(service)))

    def test_the_wan_pool_can_be_disabled_and_clients_have_none(self):
        service, reactor = self.make("--dev", "--http-port", "-1", "--dns-port", "-1", "--serf-wan-port", "-1")
        service.startService()
        self.assertEqual(sorted(port for port, *_ in reactor.udpServers), [8301])
        self.successResultOf(ensureDeferred(_stop(service)))
        service, reactor = self.make("--data-dir", self.mktemp(), "--http-port", "-1", "--dns-port", "-1")
        service.startService()
        self.assertEqual(sorted(port for port, *_ in reactor.udpServers), [8301])
        self.assertIsNone(service.wan_gossip)
        self.successResultOf(ensureDeferred(_stop(service)))

    def test_dns_listens_on_every_client_address(self):
        service, reactor = self.make("--dev", "--dns-port", "18600", "--client", "127.0.0.5 127.0.0.6")
        service.startService()
        tcp = sorted(interface for port, _, _, interface in reactor.tcpServers if port == 18600)
        udp = sorted(interface for port, _, interface in reactor.udpServers if port == 18600)
        self.assertEqual((tcp, udp), (["127.0.0.5", "127.0.0.6"], ["127.0.0.5", "127.0.0.6"]))
        self.successResultOf(ensureDeferred(_stop(service)))

    def test_durable_server_keeps_its_data_dir_locked(self):
        data_dir = self.mktemp()
        service, _ = self.make("--server", "--bootstrap", "--data-dir", data_dir)
        self.assertTrue(os.path.exists(os.path.join(data_dir, "raft", "raft.db")))
        with self.assertRaises(SystemExit) as caught:
            self.make("--server", "--data-dir", data_dir)
        self.assertIn("in use by another agent", str(caught.exception))

    def test_a_taken_port_fails_the_start(self):
        from twisted.internet.error import CannotListenError

        service, reactor = self.make("--dev")
        real_listen = reactor.listenTCP

        def refuse_http(port, factory, backlog=50, interface=""):
            if port == 8500:
                raise CannotListenError(interface, port, OSError(98, "Address already in use"))
            return real_listen(port, factory, backlog, interface)

        reactor.listenTCP = refuse_http
        with self.assertRaises(SystemExit) as caught:
            service.startService()
        self.assertIn("cannot listen for HTTP on 127.0.0.1:8500", str(caught.exception))

    def test_a_taken_gossip_port_fails_the_start(self):
        from twisted.internet.error import CannotListenError

        service, reactor = self.make("--dev")

        def refuse(*args, **kwargs):
            raise CannotListenError("127.0.0.1", 8301, OSError(98, "Address already in use"))

        reactor.listenUDP = refuse
        with self.assertRaises(SystemExit) as caught:
            service.startService()
        self.assertIn("cannot listen for gossip on 127.0.0.1:8301", str(caught.exception))


async def _stop(service):
    await service.stopService()
