"""The agent's own node in the catalog: its services and checks, their local
state, and anti-entropy, put together from injected parts."""

from pyconsul.agent.antientropy import SERVER_UP_DELAY, AntiEntropy
from pyconsul.agent.local import LocalState
from pyconsul.agent.services import AgentServices
from pyconsul.core.serf.events import EventType, MemberEvent


def node_registration(config):
    """What this agent registers about its node: Consul's tagged addresses
    (lan and wan, and their ipv4 or ipv6 forms) and node meta. The wan one
    is advertise_addr_wan, which defaults to advertise_addr."""
    address = config.advertise_addr
    wan = config.advertise_addr_wan or address

    def family(ip):
        return "ipv6" if ":" in ip else "ipv4"

    tagged = {"lan": address, "lan_" + family(address): address, "wan": wan, "wan_" + family(wan): wan}
    return {
        "Datacenter": config.datacenter,
        "Node": config.node_name,
        "ID": config.node_id,
        "Address": address,
        "TaggedAddresses": tagged,
        "NodeMeta": {"consul-network-segment": "", **config.node_meta},
    }


class LocalAgent:
    def __init__(self, config, clock, rng, rpc, lan, deps):
        self.config = config
        self.local = LocalState(lambda: node_registration(config), rpc, clock, rng,
                                check_update_interval=config.check_update_interval, on_change=self._changed)
        self.sync = AntiEntropy(self.local, clock, rng, cluster_size=lambda: len(lan.members()))
        self.services = AgentServices(config, self.local, deps, clock, data_dir=config.data_dir, rpc=rpc)
        self.rng = rng
        lan.subscribe(self._on_gossip)

    def _changed(self):
        self.sync.changed()

    def start(self):
        self.services.start()
        self.sync.start()

    def stop(self):
        self.sync.stop()
        self.services.stop()

    def reload(self, config):
        """The config files' services and checks, read again."""
        self.services.load_files(config.services, config.checks)

    def _on_gossip(self, event):
        # A server that joins may be one that lost its data: sync in full soon.
        if (isinstance(event, MemberEvent) and event.type is EventType.JOIN
                and event.member.tags.get("role") == "consul"):
            self.sync.full_sync_soon(SERVER_UP_DELAY + self.rng.uniform(0, SERVER_UP_DELAY))
