"""The flags every command that talks to an agent accepts, and the client they make.

Flags win over the ``CONSUL_*`` environment variables, and a flag given with an
empty value (``-token=``) still wins, as with Consul.
"""

from pyconsul.cli import http
from pyconsul.cli.flags import BoolFlag, StringFlag

HTTP_SECTION = "HTTP API Options"

CLIENT_FLAGS = (
    StringFlag(
        "http-addr",
        "Address of the agent's HTTP API: host:port, http://host:port, https://host:port "
        "or unix:///path/to/socket. Also read from CONSUL_HTTP_ADDR; 127.0.0.1:8500 when "
        "neither is given. CONSUL_HTTP_SSL=true selects https for a bare host:port.",
        placeholder="address",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "token",
        "ACL token sent with every request (X-Consul-Token). Also read from "
        "CONSUL_HTTP_TOKEN; without one the agent applies its own default token.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "token-file",
        "File holding the ACL token; when set it is used instead of -token or "
        "CONSUL_HTTP_TOKEN. Also read from CONSUL_HTTP_TOKEN_FILE.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "ca-file",
        "CA certificate file used to verify the agent's TLS certificate. Also read "
        "from CONSUL_CACERT.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "ca-path",
        "Directory of CA certificates used to verify the agent's TLS certificate. "
        "Also read from CONSUL_CAPATH.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "client-cert",
        "Client certificate presented to an agent that verifies incoming TLS "
        "connections. Also read from CONSUL_CLIENT_CERT.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "client-key",
        "Private key of -client-cert. Also read from CONSUL_CLIENT_KEY.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    StringFlag(
        "tls-server-name",
        "Server name used for SNI and to check the agent's certificate, instead of "
        "the host of the address. Also read from CONSUL_TLS_SERVER_NAME.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
)

SERVER_FLAGS = (
    StringFlag(
        "datacenter",
        "Datacenter to send the request to; the agent's own datacenter when not given.",
        placeholder="value",
        section=HTTP_SECTION,
    ),
    BoolFlag(
        "stale",
        "Let any server answer a read, not only the leader: faster, but the answer "
        "may be slightly out of date. Writes ignore it.",
        section=HTTP_SECTION,
    ),
)

NAMESPACE_FLAGS = (
    StringFlag(
        "namespace",
        "Namespace to use (an Enterprise feature; agents without namespaces refuse it).",
        placeholder="value",
        section=HTTP_SECTION,
    ),
)

ALL_HTTP_FLAGS = CLIENT_FLAGS + SERVER_FLAGS + NAMESPACE_FLAGS

# flag name -> (attribute of ClientConfig or of its TLSSettings)
_CONFIG_FIELDS = {
    "http-addr": ("address",),
    "token": ("token",),
    "token-file": ("token_file",),
    "datacenter": ("datacenter",),
    "stale": ("stale",),
    "namespace": ("namespace",),
    "ca-file": ("tls", "ca_file"),
    "ca-path": ("tls", "ca_path"),
    "client-cert": ("tls", "cert_file"),
    "client-key": ("tls", "key_file"),
    "tls-server-name": ("tls", "server_name"),
}


def client_config(parsed, environ):
    """The environment's settings with every flag that was given laid over them."""
    config = http.config_from_environment(environ)
    for name, path in _CONFIG_FIELDS.items():
        if name in parsed.given:
            target = config
            for attribute in path[:-1]:
                target = getattr(target, attribute)
            setattr(target, path[-1], parsed.values[name.replace("-", "_")])
    return config


def make_client(parsed, console):
    """An http.Client for these flags; raises http.ConfigError with Go's wording."""
    return http.Client(client_config(parsed, console.environ), transport=console.transport)


def connect(api, parsed, console):
    """``api(client)`` for these flags, or None after saying why the agent
    cannot be reached."""
    try:
        return api(make_client(parsed, console))
    except http.ApiError as error:
        console.err("Error connecting to Consul agent: %s" % error)
        return None
