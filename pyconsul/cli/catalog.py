"""``pyconsul catalog datacenters|nodes|services``: what the catalog holds.

The output is Consul 1.10's, byte for byte, because scripts parse it:

* ``datacenters``: one name per line, in the order the agent gives them;
* ``nodes``: a ``columnize`` table ``Node ID Address DC`` with the ID cut at
  its first "-" (the first group of a UUID); ``-detailed`` shows the whole
  ID and adds ``TaggedAddresses`` and ``Meta`` as ``k=v`` pairs sorted by
  key and joined by ", ". ``-service`` lists the nodes of one service
  (its node metadata standing in for Meta);
* ``services``: one name per line, sorted; ``-tags`` adds each service's
  tags, sorted and comma-separated, aligned by Go's tabwriter (padding 6),
  the whole text trimmed of surrounding white space; ``-node`` lists the
  services of one node;
* nothing matching is not a failure: ``No nodes match the given query - try
  expanding your search.`` (or ``No services ...``) on stderr, exit 0;
* a positional argument is refused with ``Too many arguments (expected 0,
  got N)``.

Two of Consul 1.10's quirks are kept on purpose: ``catalog datacenters``
reports a failed request on stderr but still exits 0, and these commands
accept ``-stale`` without putting it in their queries.
"""

from pyconsul.cli.catalogapi import Catalog
from pyconsul.cli.columnize import GO_SPACE, columnize
from pyconsul.cli.command import Command, Group
from pyconsul.cli.console import to_bytes
from pyconsul.cli.flags import BoolFlag, KeyValueFlag, StringFlag
from pyconsul.cli.http import ApiError
from pyconsul.cli.httpflags import CLIENT_FLAGS, NAMESPACE_FLAGS, SERVER_FLAGS, connect
from pyconsul.cli.tabwriter import TabWriter

NO_NODES = "No nodes match the given query - try expanding your search."
NO_SERVICES = "No services match the given query - try expanding your search."


def _node_meta_flag(help_text):
    return KeyValueFlag("node-meta", help_text, placeholder="key=value")


class CatalogCommand(Command):
    """A catalog listing: takes no arguments, reads through a Catalog."""

    flag_groups = (CLIENT_FLAGS + SERVER_FLAGS,)

    def execute(self, parsed, console):
        if parsed.args:
            console.err("Too many arguments (expected 0, got %d)" % len(parsed.args))
            return 1
        catalog = connect(Catalog, parsed, console)
        if catalog is None:
            return 1
        # Consul's catalog commands accept -stale but never ask for a stale read.
        catalog.client.config.stale = False
        return self.list(catalog, parsed, console)

    def list(self, catalog, parsed, console):
        raise NotImplementedError


class DatacentersCommand(CatalogCommand):
    synopsis = "Lists the datacenters the servers know of"
    usage = """
Usage: {prog} catalog datacenters [options]

  Prints the name of every datacenter the servers can reach over the WAN,
  one a line, nearest first (by the servers' estimated round-trip times).

      $ {prog} catalog datacenters
"""

    def list(self, catalog, parsed, console):
        try:
            names = catalog.datacenters()
        except ApiError as error:
            # Consul 1.10 says so but still exits 0 here.
            console.err("Error listing datacenters: %s" % error)
            return 0
        for name in names:
            console.out(name)
        return 0


def short_id(node_id):
    """The node ID up to its first "-" (the whole ID when there is none)."""
    dash = node_id.find("-")
    return node_id[:dash] if dash > 0 else node_id


def key_values(mapping):
    """``a=1, b=2``: the pairs sorted by key, as Consul prints maps in tables."""
    mapping = mapping or {}
    return ", ".join("%s=%s" % (key, mapping[key] or "") for key in sorted(mapping))


def node_rows(nodes, detailed):
    if detailed:
        rows = ["Node|ID|Address|DC|TaggedAddresses|Meta"]
        for node in nodes:
            rows.append("|".join([node.get("Node", ""), node.get("ID", ""), node.get("Address", ""),
                                  node.get("Datacenter", ""), key_values(node.get("TaggedAddresses")),
                                  key_values(node.get("Meta"))]))
        return rows
    rows = ["Node|ID|Address|DC"]
    for node in nodes:
        rows.append("|".join([node.get("Node", ""), short_id(node.get("ID", "")), node.get("Address", ""),
                              node.get("Datacenter", "")]))
    return rows


def node_of_instance(instance):
    """The node part of a /v1/catalog/service entry, shaped as an api.Node."""
    return {
        "ID": instance.get("ID", ""),
        "Node": instance.get("Node", ""),
        "Address": instance.get("Address", ""),
        "Datacenter": instance.get("Datacenter", ""),
        "TaggedAddresses": instance.get("TaggedAddresses"),
        "Meta": instance.get("NodeMeta"),
    }


class NodesCommand(CatalogCommand):
    synopsis = "Lists the nodes of a datacenter"
    usage = """
Usage: {prog} catalog nodes [options]

  Lists the nodes registered in the catalog of a datacenter (the agent's
  own unless -datacenter says otherwise), with their IDs and addresses.

      $ {prog} catalog nodes
      $ {prog} catalog nodes -detailed
      $ {prog} catalog nodes -service=web
      $ {prog} catalog nodes -node-meta=rack=r1 -node-meta=zone=a
      $ {prog} catalog nodes -near=_agent
      $ {prog} catalog nodes -filter='Meta.env == "prod"'
"""
    flag_groups = (
        (
            BoolFlag("detailed", "Show the whole node ID, the tagged addresses and the node metadata."),
            StringFlag("near", 'Sort the nodes by estimated round-trip time from this node, nearest '
                               'first; "_agent" means the agent\'s own node.'),
            _node_meta_flag("Only list nodes with this metadata pair. Repeat the flag to require "
                            "several pairs."),
            StringFlag("service", "Only list the nodes that provide the service with this name.",
                       placeholder="id or name"),
            StringFlag("filter", "A filter expression the servers apply to the list before "
                                 "answering."),
        ),
    ) + CatalogCommand.flag_groups

    def list(self, catalog, parsed, console):
        options = {"near": parsed.near, "node_meta": parsed.node_meta, "node_filter": parsed.filter}
        if parsed.service:
            try:
                nodes = [node_of_instance(entry) for entry in catalog.service(parsed.service, **options)]
            except ApiError as error:
                console.err("Error listing nodes for service: %s" % error)
                return 1
        else:
            try:
                nodes = catalog.nodes(**options)
            except ApiError as error:
                console.err("Error listing nodes: %s" % error)
                return 1
        if not nodes:
            console.err(NO_NODES)
            return 0
        console.out(columnize(node_rows(nodes, parsed.detailed)))
        return 0


def services_with_tags(columns):
    """Go's tabwriter over "name\\ttags" lines, trimmed as Consul trims it."""
    writer = TabWriter(min_width=0, tab_width=2, padding=6)
    for name, tags in columns:
        writer.write(to_bytes("%s\t%s\n" % (name, ",".join(tags))))
    text = writer.flush().decode("utf-8", "surrogateescape")
    return text.strip(GO_SPACE)


class ServicesCommand(CatalogCommand):
    synopsis = "Lists the services of a datacenter"
    usage = """
Usage: {prog} catalog services [options]

  Lists the names of the services registered in the catalog of a
  datacenter (the agent's own unless -datacenter says otherwise), sorted.

      $ {prog} catalog services
      $ {prog} catalog services -tags
      $ {prog} catalog services -node=web-01
      $ {prog} catalog services -node-meta=rack=r1
"""
    flag_groups = (
        (
            StringFlag("node", "Only list the services registered on this node.",
                       placeholder="id or name"),
            _node_meta_flag("Only list services running on nodes with this metadata pair. Repeat "
                            "the flag to require several pairs."),
            BoolFlag("tags", "Show each service's tags, comma-separated, beside its name."),
        ),
        CLIENT_FLAGS + SERVER_FLAGS + NAMESPACE_FLAGS,
    )

    def list(self, catalog, parsed, console):
        if parsed.node:
            try:
                node = catalog.node(parsed.node, node_meta=parsed.node_meta)
            except ApiError as error:
                console.err("Error listing services for node: %s" % error)
                return 1
            services = {}
            for instance in ((node or {}).get("Services") or {}).values():
                if instance is not None:
                    # Instances of one service add up their tags, repeats and all.
                    services.setdefault(instance.get("Service", ""), []).extend(instance.get("Tags") or [])
        else:
            try:
                services = catalog.services(node_meta=parsed.node_meta)
            except ApiError as error:
                console.err("Error listing services: %s" % error)
                return 1
        if not services:
            console.err(NO_SERVICES)
            return 0
        names = sorted(services)
        if parsed.tags:
            console.out(services_with_tags((name, sorted(services[name] or [])) for name in names))
        else:
            for name in names:
                console.out(name)
        return 0


catalog_group = Group(
    synopsis="Lists the datacenters, nodes and services of the catalog",
    usage="""
Usage: {prog} catalog <subcommand> [options] [args]

  Reads the catalog that the servers keep: every datacenter, node and
  service of the cluster. (The agent's own view of its local services is
  under "{prog} services".)

      $ {prog} catalog datacenters
      $ {prog} catalog nodes
      $ {prog} catalog services
""",
    subcommands={
        "datacenters": DatacentersCommand(),
        "nodes": NodesCommand(),
        "services": ServicesCommand(),
    },
)
