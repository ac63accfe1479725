"""Prepared query templates: what is compiled, what is interpolated (every
string Consul's reflection walk visits), and Consul's messages."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.preparedquery import template
from pyconsul.state.queries import query_record


def a_template(service, name="geo-db-", regexp="", remove_empty_tags=False, kind="name_prefix_match"):
    return query_record({
        "ID": "6c4de3fa-0e0c-4b5a-9f4d-3a0b2d1c9e8f", "Name": name,
        "Template": {"Type": kind, "Regexp": regexp, "RemoveEmptyTags": remove_empty_tags},
        "Service": service,
    })


def refusal(query):
    try:
        template.compile(query)
    except template.TemplateError as error:
        return str(error)
    raise AssertionError("compiled")


class RenderTests(SynchronousTestCase):
    def test_the_documented_example(self):
        compiled = template.compile(a_template(
            {"Service": "${match(1)}", "Tags": ["${match(2)}"]}, regexp=r"^geo-db-(.*?)-([^\-]+?)$"))
        rendered = compiled.render("geo-db-mysql-primary", {})
        self.assertEqual(rendered["Service"]["Service"], "mysql")
        self.assertEqual(rendered["Service"]["Tags"], ["primary"])
        self.assertEqual(rendered["Name"], "geo-db-")  # the rest of the query is the template's

    def test_names(self):
        compiled = template.compile(a_template({"Service": "${name.full}|${name.prefix}|${name.suffix}"}))
        self.assertEqual(compiled.render("geo-db-redis", {})["Service"]["Service"], "geo-db-redis|geo-db-|redis")

    def test_agent_segment(self):
        compiled = template.compile(a_template({"Service": "db${agent.segment}"}))
        self.assertEqual(compiled.render("geo-db-x", {})["Service"]["Service"], "db")
        self.assertEqual(compiled.render("geo-db-x", {"Segment": "alpha"})["Service"]["Service"], "dbalpha")

    def test_every_string_the_walk_visits(self):
        compiled = template.compile(a_template({
            "Service": "${name.suffix}", "Near": "${name.suffix}-node",
            "Failover": {"NearestN": 2, "Datacenters": ["${name.suffix}-dc", "dc9"]},
            "IgnoreCheckIDs": ["${name.suffix}-check"], "Tags": ["${name.suffix}-tag"],
            "NodeMeta": {"rack": "${name.suffix}-rack"}, "ServiceMeta": {"tier": "${name.suffix}-tier"},
            "OnlyPassing": True,
        }))
        service = compiled.render("geo-db-x", {})["Service"]
        self.assertEqual(service, {
            "Service": "x", "Failover": {"NearestN": 2, "Datacenters": ["x-dc", "dc9"]}, "OnlyPassing": True,
            "IgnoreCheckIDs": ["x-check"], "Near": "x-node", "Tags": ["x-tag"], "NodeMeta": {"rack": "x-rack"},
            "ServiceMeta": {"tier": "x-tier"}, "Connect": False,
        })

    def test_unmatched_regexp_groups_render_empty(self):
        compiled = template.compile(a_template({"Service": "[${match(1)}]"}, regexp=r"^geo-db-(\d+)$"))
        self.assertEqual(compiled.render("geo-db-abc", {})["Service"]["Service"], "[]")

    def test_remove_empty_tags(self):
        service = {"Service": "db", "Tags": ["${match(1)}", "always", "${match(2)}"]}
        kept = template.compile(a_template(service, regexp=r"^geo-db-(a)?-?(b)?$"))
        removed = template.compile(a_template(service, regexp=r"^geo-db-(a)?-?(b)?$", remove_empty_tags=True))
        self.assertEqual(kept.render("geo-db-a", {})["Service"]["Tags"], ["a", "always", ""])
        self.assertEqual(removed.render("geo-db-a", {})["Service"]["Tags"], ["a", "always"])
        none = template.compile(a_template({"Service": "db"}, remove_empty_tags=True))
        self.assertEqual(none.render("geo-db-a", {})["Service"]["Tags"], [])

    def test_rendering_leaves_the_template_alone(self):
        compiled = template.compile(a_template({"Service": "${name.suffix}"}))
        compiled.render("geo-db-one", {})
        self.assertEqual(compiled.render("geo-db-two", {})["Service"]["Service"], "two")
        self.assertEqual(compiled.query["Service"]["Service"], "${name.suffix}")


class CompileTests(SynchronousTestCase):
    def test_type(self):
        self.assertEqual(refusal(a_template({"Service": "x"}, kind="nope")), "Bad Template.Type 'nope'")

    def test_bad_format_names_the_field(self):
        self.assertEqual(refusal(a_template({"Service": "x", "Tags": ["ok", "${"]})),
                         "Bad format '${' in Service.Tags[1]: parse error at 1:3: expected expression but "
                         "found end of string")
        self.assertEqual(refusal(a_template({"Service": "x", "NodeMeta": {"k": "${}"}})),
                         "Bad format '${}' in Service.NodeMeta[k]: parse error at 1:3: expected expression but "
                         "found \"}\"")

    def test_bad_regexp(self):
        self.assertEqual(refusal(a_template({"Service": "x"}, regexp="a(")),
                         "Bad Regexp: error parsing regexp: missing closing ): `a(`")

    def test_the_trial_render_catches_unknown_names(self):
        self.assertEqual(refusal(a_template({"Service": "${name.nope}"})),
                         "Bad evaluation for '${name.nope}' in Service.Service: 1:3: unknown variable "
                         "accessed: name.nope")
        self.assertEqual(refusal(a_template({"Service": "x", "Failover": {"Datacenters": ["${f()}"]}})),
                         "Bad evaluation for '${f()}' in Service.Failover.Datacenters[0]: 1:3: unknown "
                         "function called: f")
