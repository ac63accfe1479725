"""Errors an RPC can answer; the HTTP layer maps each to Consul's status code."""


class RPCError(Exception):
    """An error reported to the caller with Consul's wording."""

    status = 500

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class NoPathToDatacenter(RPCError):
    def __init__(self):
        super().__init__("No path to datacenter")


class NoClusterLeader(RPCError):
    def __init__(self):
        super().__init__("No cluster leader")


class BadRequest(RPCError):
    status = 400


class PermissionDenied(RPCError):
    status = 403

    def __init__(self):
        super().__init__("Permission denied")


class RPCUnavailable(RPCError):
    """A server could not be reached, or the connection to it broke."""


class RPCNotSent(RPCUnavailable):
    """The request never left: no server can have acted on it, so it may be
    sent again, to the same server or another."""
