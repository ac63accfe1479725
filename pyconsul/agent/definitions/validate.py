"""Consul's validation of service and check definitions, with its messages.

From ``agent/structs``: ``ValidateServiceMetadata`` (which, for a service
too, says "Node metadata"), ``ValidateWeights``, ``ValidStatus`` and
``CheckType.Validate``; from ``agent/agent.go``: the tagged-address checks of
``validateService`` and the check minimums.
"""

import ipaddress
import re

from pyconsul.golang.duration import MINUTE, SECOND

PASSING, WARNING, CRITICAL = "passing", "warning", "critical"
STATUSES = (PASSING, WARNING, CRITICAL)

META_MAX_PAIRS = 64
META_KEY_MAX_LENGTH = 128
META_VALUE_MAX_LENGTH = 512
META_RESERVED_PREFIX = "consul-"
_META_KEY = re.compile(r"[a-zA-Z0-9_-]+\Z")

MAX_DNS_WEIGHT = 65535

# checks.MinInterval: shorter intervals are raised to this, with a warning,
# so that a typo cannot fork-bomb the host.
MIN_INTERVAL = SECOND
# check_deregister_interval_min: the soonest a critical service is reaped.
MIN_DEREGISTER_AFTER = MINUTE


def valid_status(status):
    return status in STATUSES


def _length(text):
    """Go's len: bytes, not characters."""
    return len(text.encode("utf-8", "surrogateescape"))


def meta_problem(meta):
    """What ValidateServiceMetadata says of meta (pairs in order), or None."""
    if len(meta) > META_MAX_PAIRS:
        return "Node metadata cannot contain more than %d key/value pairs" % META_MAX_PAIRS
    for key, value in meta:
        problem = _meta_pair_problem(key, value)
        if problem is not None:
            return "Couldn't load metadata pair ('%s', '%s'): %s" % (key, value, problem)
    return None


def _meta_pair_problem(key, value):
    if key == "":
        return "Key cannot be blank"
    if not _META_KEY.match(key):
        return "Key contains invalid characters"
    if len(key) > META_KEY_MAX_LENGTH:
        return "Key is too long (limit: %d characters)" % META_KEY_MAX_LENGTH
    if key.startswith(META_RESERVED_PREFIX):
        return "Key prefix '%s' is reserved for internal use" % META_RESERVED_PREFIX
    if _length(value) > META_VALUE_MAX_LENGTH:
        return "Value is too long (limit: %d characters)" % META_VALUE_MAX_LENGTH
    return None


def weights_problem(passing, warning):
    """What ValidateWeights says, or None."""
    if passing < 1:
        return "Passing must be greater than 0"
    if warning < 0:
        return "Warning must be greater or equal than 0"
    if passing > MAX_DNS_WEIGHT or warning > MAX_DNS_WEIGHT:
        return "DNS Weight must be between 0 and 65535"
    return None


def _is_ipv4(text):
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def _is_ipv6(text):
    # Go's net.ParseIP takes IPv4-mapped forms as IPv4 (To4 succeeds).
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None


def parse_ip(text):
    """The address as Go's net.ParseIP reads it: "4", "6", or None."""
    if _is_ipv4(text):
        return "4"
    if _is_ipv6(text):
        return "6"
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return "4"  # an IPv4-mapped IPv6 address


def tagged_address_problem(tagged_addresses):
    """validateService's checks of the IP tagged addresses, or None.

    Consul checks lan_ipv6 twice and wan_ipv6 not at all; so does this.
    """
    addresses = dict(tagged_addresses)
    for key, family in (("lan_ipv4", "4"), ("wan_ipv4", "4"), ("lan_ipv6", "6"), ("lan_ipv6", "6")):
        if key in addresses and parse_ip(addresses[key].address) != family:
            return "Service tagged address %s must be a valid ipv%s address" % (_go_quote(key), family)
    return None


def _go_quote(text):
    return '"' + text + '"'


def check_problem(check):
    """What CheckType.Validate says of a check definition, or None."""
    interval_check = bool(check.script_args or check.http or check.tcp or check.grpc or check.h2ping)
    alias = bool(check.alias_node or check.alias_service)
    if check.interval > 0 and check.ttl > 0:
        return "Interval and TTL cannot both be specified"
    if interval_check and check.interval <= 0:
        return "Interval must be > 0 for Script, HTTP, H2PING, or TCP checks"
    if interval_check and alias:
        return "Interval cannot be set for Alias checks"
    if alias and check.ttl > 0:
        return "TTL must be not be set for Alias checks"
    if not interval_check and not alias and check.ttl <= 0:
        return "TTL must be > 0 for TTL checks"
    if check.output_max_size < 0:
        return "MaxOutputMaxSize must be positive"
    if check.failures_before_warning > check.failures_before_critical:
        return "FailuresBeforeWarning can't be higher than FailuresBeforeCritical"
    return None
