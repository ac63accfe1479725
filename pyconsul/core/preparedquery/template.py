"""Prepared query templates (Consul 1.10's ``agent/consul/prepared_query``).

A query with ``Template.Type`` set is a template: it answers every name
that starts with its own ``Name`` (the longest such prefix wins), and before
it runs, every string of its ``Service`` part is interpolated as HIL with

- ``${name.full}``: the name looked up; ``${name.prefix}``: the template's
  Name; ``${name.suffix}``: the rest of the name after the prefix;
- ``${agent.segment}``: the network segment of the asking agent ("" in
  open-source Consul);
- ``${match(N)}``: group N of ``Template.Regexp`` matched against the full
  name (0 is the whole match; "" when there is no such group or no match).

The strings are those Consul's reflection walk finds: ``Service``,
``Failover.Datacenters[i]``, ``IgnoreCheckIDs[i]``, ``Near``, ``Tags[i]``
and the values of ``NodeMeta`` and ``ServiceMeta``. With
``Template.RemoveEmptyTags`` the tags that render empty are dropped.

Queries are plain dicts with Consul's field names (``structs.PreparedQuery``).
"""

import copy

from pyconsul.core.preparedquery import hil, submatch

NAME_PREFIX_MATCH = "name_prefix_match"


class TemplateError(Exception):
    """A template that does not compile or render; the message is Consul's."""


def is_template(query):
    return bool((query.get("Template") or {}).get("Type"))


def map_strings(service, function):
    """A copy of a query's Service with every string s at path p replaced
    by function(p, s), visited in Go's struct order (map keys sorted)."""
    out = dict(service)
    out["Service"] = function(".Service", service.get("Service") or "")
    failover = dict(service.get("Failover") or {})
    if failover.get("Datacenters") is not None:
        failover["Datacenters"] = [function(".Failover.Datacenters[%d]" % i, dc)
                                   for i, dc in enumerate(failover["Datacenters"])]
    out["Failover"] = failover
    for field in ("IgnoreCheckIDs",):
        if service.get(field) is not None:
            out[field] = [function(".%s[%d]" % (field, i), item) for i, item in enumerate(service[field])]
    out["Near"] = function(".Near", service.get("Near") or "")
    if service.get("Tags") is not None:
        out["Tags"] = [function(".Tags[%d]" % i, tag) for i, tag in enumerate(service["Tags"])]
    for field in ("NodeMeta", "ServiceMeta"):
        meta = service.get(field)
        if meta is not None:
            out[field] = {key: function(".%s[%s]" % (field, key), meta[key]) for key in sorted(meta)}
    return out


class CompiledTemplate:
    """A template checked once (type, HIL syntax, Regexp, a trial render with
    its own name), ready to render for any name."""

    def __init__(self, query):
        template = query.get("Template") or {}
        if template.get("Type") != NAME_PREFIX_MATCH:
            raise TemplateError("Bad Template.Type '%s'" % (template.get("Type") or ""))
        self.query = copy.deepcopy(query)
        self.remove_empty_tags = bool(template.get("RemoveEmptyTags"))
        self.trees = {}

        def parse(path, text):
            try:
                self.trees[path] = hil.parse(text)
            except hil.HILError as error:
                raise TemplateError("Bad format '%s' in Service%s: %s" % (text, path, error))
            return text

        map_strings(self.query.get("Service") or {}, parse)
        self.matcher = None
        if template.get("Regexp"):
            try:
                self.matcher = submatch.compile(template["Regexp"])
            except submatch.RegexError as error:
                raise TemplateError("Bad Regexp: %s" % error)
        self.render(self.query.get("Name") or "", {})

    def render(self, name, source):
        """The query for ``name``, asked by an agent described by ``source``
        (a QuerySource: ``Segment``...); TemplateError if it cannot be."""
        query = copy.deepcopy(self.query)
        prefix = query.get("Name") or ""
        matches = self.matcher.find(name) if self.matcher is not None else None
        matches = matches or []

        def match(args):
            index = args[0]
            return matches[index] if 0 <= index < len(matches) else ""

        variables = {
            "name.full": name,
            "name.prefix": prefix,
            "name.suffix": name[len(prefix):] if name.startswith(prefix) else name,
            "agent.segment": (source or {}).get("Segment") or "",
        }
        functions = {"match": hil.Function([hil.T_INT], hil.T_STRING, match)}

        def evaluate(path, text):
            tree = self.trees.get(path)
            if tree is None:
                return text
            if hil.is_literal(tree):
                return tree[2]
            try:
                return hil.evaluate(tree, variables, functions)
            except hil.HILError as error:
                raise TemplateError("Bad evaluation for '%s' in Service%s: %s" % (text, path, error))

        query["Service"] = map_strings(query.get("Service") or {}, evaluate)
        if self.remove_empty_tags:
            query["Service"]["Tags"] = [tag for tag in query["Service"].get("Tags") or () if tag != ""]
        return query


def compile(query):
    """A CompiledTemplate, or TemplateError with Consul's message."""
    return CompiledTemplate(query)
