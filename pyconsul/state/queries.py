"""Prepared queries: the replicated table (Consul 1.10's
``state/prepared_query.go``).

A query is kept in Consul's shape (``structs.PreparedQuery``: ``ID``,
``Name``, ``Session``, ``Token``, ``Template``, ``Service``, ``DNS`` and the
Raft indexes). It is found by ID (a UUID, in any case), by name (without
regard to case), or -- for a name no query has -- by the template whose
name is the longest prefix of it (a template with an empty name catches
every name). A template is compiled when it is written, and rendered for
the name it is resolved with.

Writes are checked as Consul's state store checks them, with its messages:
a name may not alias another query's name nor any query's ID, only one
template may have the empty name, the session must exist, a template must
compile. A query tied to a session goes when the session does
(:meth:`QueryTable.delete_session`, called when a session ends).

Blocking reads watch ``("prepared-queries",)`` (any change) and
``("prepared-query", id)`` on the catalog's watch registry.
"""

import copy

from pyconsul.core.preparedquery import template as templates
from pyconsul.state.records import int_of, text_of
from pyconsul.state.sessions import uuid_problem

CREATE, UPDATE, DELETE = "create", "update", "delete"
MISSING_QUERY_ID = "Missing query ID"
QUERY_NOT_FOUND = "Query not found"


class QueryError(Exception):
    """A prepared query write or lookup refused; the message is Consul's."""


def is_uuid(text):
    """Consul's isUUID: 8-4-4-4-12 hex digits, any case."""
    if not isinstance(text, str) or len(text) != 36:
        return False
    for i, char in enumerate(text):
        if i in (8, 13, 18, 23):
            if char != "-":
                return False
        elif char not in "0123456789abcdefABCDEF":
            return False
    return True


def _strings(value):
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else None


def _string_map(value):
    if not isinstance(value, dict):
        return None
    return {key: item for key, item in value.items() if isinstance(key, str) and isinstance(item, str)}


def query_record(query):
    """A query with every field of structs.PreparedQuery, in Go's order, and
    Go's zero values for what it lacks."""
    template = query.get("Template") if isinstance(query.get("Template"), dict) else {}
    service = query.get("Service") if isinstance(query.get("Service"), dict) else {}
    failover = service.get("Failover") if isinstance(service.get("Failover"), dict) else {}
    dns = query.get("DNS") if isinstance(query.get("DNS"), dict) else {}
    return {
        "ID": text_of(query.get("ID")),
        "Name": text_of(query.get("Name")),
        "Session": text_of(query.get("Session")),
        "Token": text_of(query.get("Token")),
        "Template": {
            "Type": text_of(template.get("Type")),
            "Regexp": text_of(template.get("Regexp")),
            "RemoveEmptyTags": template.get("RemoveEmptyTags") is True,
        },
        "Service": {
            "Service": text_of(service.get("Service")),
            "Failover": {"NearestN": int_of(failover.get("NearestN")), "Datacenters": _strings(failover.get("Datacenters"))},
            "OnlyPassing": service.get("OnlyPassing") is True,
            "IgnoreCheckIDs": _strings(service.get("IgnoreCheckIDs")),
            "Near": text_of(service.get("Near")),
            "Tags": _strings(service.get("Tags")),
            "NodeMeta": _string_map(service.get("NodeMeta")),
            "ServiceMeta": _string_map(service.get("ServiceMeta")),
            "Connect": service.get("Connect") is True,
        },
        "DNS": {"TTL": text_of(dns.get("TTL"))},
        "CreateIndex": int_of(query.get("CreateIndex")),
        "ModifyIndex": int_of(query.get("ModifyIndex")),
    }


def _id_key(query_id):
    return query_id.lower()


class QueryTable:
    def __init__(self, watches):
        self.watches = watches
        self.queries = {}  # ID key -> record
        self.compiled = {}  # ID key -> CompiledTemplate (templates only)
        self.by_name = {}  # lower-case name -> ID key (named queries, templates too)
        self.templates = {}  # lower-case name -> ID key (templates only, "" included)
        self.index = 0  # of the last change to the table

    # -- reads -----------------------------------------------------------------

    def get(self, query_id):
        """The query with this ID, or None; QueryError for an ID the UUID
        index cannot read."""
        problem = uuid_problem(query_id)
        if problem is not None:
            raise QueryError("failed prepared query lookup: index error: %s" % problem)
        return self.queries.get(_id_key(query_id))

    def all(self):
        """Every query, in the ID index's order."""
        return [self.queries[key] for key in sorted(self.queries)]

    def resolve(self, id_or_name, source=None):
        """The query an execute request names: by ID (a template cannot be
        named so), by exact name, then by the longest template prefix --
        rendered if it is a template. None when there is none."""
        if id_or_name == "":
            raise QueryError(MISSING_QUERY_ID)
        if is_uuid(id_or_name):
            query = self.queries.get(_id_key(id_or_name))
            if query is not None:
                if templates.is_template(query):
                    raise QueryError("prepared query templates can only be resolved up by name, not by ID")
                return query
        lower = id_or_name.lower()
        key = self.by_name.get(lower)
        if key is None:
            best = None
            for name, candidate in self.templates.items():
                if lower.startswith(name) and (best is None or len(name) > len(best)):
                    best, key = name, candidate
        if key is None:
            return None
        query = self.queries[key]
        if templates.is_template(query):
            try:
                return self.compiled[key].render(id_or_name, source or {})
            except templates.TemplateError as error:
                raise QueryError(str(error))
        return query

    # -- writes ----------------------------------------------------------------

    def _touch(self, index, key):
        self.index = index
        self.watches.changed(("prepared-queries",))
        self.watches.changed(("prepared-query", key))

    def set(self, index, query, sessions):
        """Create or replace a query (Consul's preparedQuerySetTxn)."""
        query = query_record(query)
        if not query["ID"]:
            raise QueryError(MISSING_QUERY_ID)
        key = _id_key(query["ID"])
        existing = self.queries.get(key)
        query["CreateIndex"] = existing["CreateIndex"] if existing is not None else index
        query["ModifyIndex"] = index
        name = query["Name"]
        is_template = templates.is_template(query)
        if name:
            other = self.by_name.get(name.lower())
            if other is not None and other != key:
                raise QueryError("name '%s' aliases an existing query name" % name)
        elif is_template:
            other = self.templates.get("")
            if other is not None and other != key:
                raise QueryError("a query template with an empty name already exists")
        if is_uuid(name) and _id_key(name) in self.queries:
            raise QueryError("name '%s' aliases an existing query ID" % name)
        if query["Session"]:
            problem = uuid_problem(query["Session"])
            if problem is not None:
                raise QueryError("invalid session: index error: %s" % problem)
            if sessions.get(query["Session"]) is None:
                raise QueryError('invalid session "%s"' % query["Session"])
        compiled = None
        if is_template:
            try:
                compiled = templates.compile(query)
            except templates.TemplateError as error:
                raise QueryError("failed compiling template: %s" % error)
        if existing is not None:
            self._unlink(key, existing)
        self._link(key, query, compiled)
        self._touch(index, key)
        return query

    def _link(self, key, query, compiled):
        self.queries[key] = query
        if query["Name"]:
            self.by_name[query["Name"].lower()] = key
        if compiled is not None:
            self.compiled[key] = compiled
            self.templates[query["Name"].lower()] = key

    def _unlink(self, key, query):
        del self.queries[key]
        self.compiled.pop(key, None)
        for table in (self.by_name, self.templates):
            name = query["Name"].lower()
            if table.get(name) == key:
                del table[name]

    def delete(self, index, query_id):
        """Delete a query; one that does not exist is no error."""
        key = _id_key(query_id)
        query = self.queries.get(key)
        if query is None:
            return
        self._unlink(key, query)
        self._touch(index, key)

    def delete_session(self, index, session_id):
        """Delete the queries tied to a session that has ended."""
        for key, query in list(self.queries.items()):
            if query["Session"] and query["Session"].lower() == session_id.lower():
                self.delete(index, key)

    def copy(self):
        other = QueryTable(self.watches)
        other.queries = dict(self.queries)
        other.compiled = dict(self.compiled)
        other.by_name = dict(self.by_name)
        other.templates = dict(self.templates)
        other.index = self.index
        return other

    def all_views(self):
        """Every view a blocking read may watch (for a restore)."""
        return [("prepared-queries",)] + [("prepared-query", key) for key in self.queries]

    # -- snapshots ---------------------------------------------------------------

    def snapshot_records(self):
        queries = [copy.deepcopy(query) for query in self.all()]
        index = self.index

        def records():
            yield ["prepared-queries-index", index]
            for query in queries:
                yield ["prepared-query", query]

        return records()

    def restore_record(self, record):
        if record[0] == "prepared-queries-index":
            self.index = record[1]
        elif record[0] == "prepared-query":
            query = query_record(record[1])
            compiled = None
            if templates.is_template(query):
                try:
                    compiled = templates.compile(query)
                except templates.TemplateError as error:
                    raise ValueError("failed compiling template: %s" % error)
            self._link(_id_key(query["ID"]), query, compiled)
            self.index = max(self.index, query["ModifyIndex"])
        else:
            return False
        return True


def apply(store, index, request):
    """A PreparedQueryRequest from the log: ``{"Op", "Query"}``."""
    op = request.get("Op")
    query = request.get("Query") or {}
    table = store.queries
    if op in (CREATE, UPDATE):
        return table.set(index, query, store.sessions)
    if op == DELETE:
        table.delete(index, text_of(query.get("ID")))
        return None
    raise QueryError("Unknown prepared query operation: %s" % op)
