"""The one error the definition parsers raise."""

BAD_REQUEST = 400
SERVER_ERROR = 500


class DefinitionError(Exception):
    """A definition Consul would refuse: ``message`` is Consul's text, and
    ``status`` the HTTP status its agent answers with.

    Most refusals are 400s written by the endpoint itself. A few come from
    deeper in Consul's agent (``AddService``), which the endpoint answers
    with a 500 and the same text; ``status`` says which.
    """

    def __init__(self, message, status=BAD_REQUEST):
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self):
        return self.message
