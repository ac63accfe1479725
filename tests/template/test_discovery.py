"""consul-template's discovery functions and helpers in the template engine,
over the agent's recorded answers (tests/template/catalogdata.py).

What is checked is consul-template's (0.25 era: dependency/health_service.go,
catalog_services.go, catalog_nodes.go, catalog_node.go, template/funcs.go):
the arguments each function takes and their errors, the fields of what it
returns, in Go's field order, the sort orders, the status filters, and what
a render that lacks data gets.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import (
    MemKV,
    Processor,
    RenderError,
    Template,
    TemplateExecError,
    confd_funcs,
    deps,
    load_resource,
)
from pyconsul.template.discovery import Recall, consul_template_funcs, discovery_funcs
from tests.template.catalogdata import AGENT_ADDRESS, AGENT_ID, AGENT_NODE, answer, check, health_entry
from tests.template.test_resource import WORLD, ConfDir, RecordingRunner

REDIS = "/v1/health/service/redis"


def render(text, brain=None, shape="confd", store=None):
    """(output, recall): ``text`` rendered with the discovery functions over
    ``brain``, in confd's shape or consul-template's ("ct")."""
    recall = Recall(brain if brain is not None else {})
    if shape == "ct":
        funcs = confd_funcs(MemKV(), WORLD) | consul_template_funcs(recall)
        template = Template("", text, funcs, missing_key="zero")
    else:
        funcs = confd_funcs(store if store is not None else MemKV(), WORLD) | discovery_funcs(recall)
        template = Template("t", text, funcs)
    return template.execute(), recall


def out(text, brain=None, **kwargs):
    return render(text, brain, **kwargs)[0]


def error(test, text, brain=None, **kwargs):
    with test.assertRaises(TemplateExecError) as caught:
        render(text, brain, **kwargs)
    return caught.exception.detail


def redis_brain():
    """service "redis" (passing only, as the agent filtered it) and "redis|any"."""
    return {
        deps.parse_health_service("redis"): answer("health-service-passing", REDIS + "?passing"),
        deps.parse_health_service("redis|any"): answer("health-service-passing", REDIS),
    }


def agent_node():
    return answer("catalog-agent-service-sync", "/v1/catalog/nodes")[0]


def agent_web_service():
    return answer("catalog-agent-service-sync", f"/v1/catalog/node/{AGENT_NODE}")["Services"]["web1"]


class ServiceFieldTests(SynchronousTestCase):
    """What ``service`` gives: consul-template's HealthService."""

    def test_the_recorded_instance(self):
        template = ("{{range service \"redis\"}}{{.Node}}|{{.NodeID}}|{{.NodeAddress}}|{{.NodeDatacenter}}|"
                    "{{.NodeTaggedAddresses}}|{{.NodeMeta}}|{{.NodeMeta.rack}}|{{.ServiceMeta}}|{{.Address}}|"
                    "{{.ServiceTaggedAddresses}}|{{.ID}}|{{.Name}}|{{.Tags}}|{{.Status}}|{{.Port}}|"
                    "{{.Weights}}|{{.Weights.Passing}}{{end}}")
        self.assertEqual(out(template, redis_brain()),
                         "ext1||10.9.9.9|dc1|map[]|map[rack:r1]|r1|map[]|10.9.9.10|map[]|redis1|redis|[primary]|"
                         "passing|6379|{1 1}|1")

    def test_checks(self):
        template = ('{{range service "redis|any"}}{{.ID}}:{{range .Checks}} {{.Node}}/{{.CheckID}}/{{.Name}}/'
                    '{{.Status}}/{{.Output}}/{{.ServiceID}}/{{.ServiceName}}/{{.ServiceTags}}/{{.Notes}}/'
                    '{{.Type}}/{{.CreateIndex}}/{{.ModifyIndex}}/{{.Definition.HTTP}}/{{.Definition.Interval}}'
                    '{{end}};{{end}}')
        self.assertEqual(out(template, redis_brain()),
                         "redis1: ext1/redis-check/Redis/passing//redis1/redis/[primary]///101/101//0s;"
                         "redis2: ext2/r2/R2/critical//redis2/redis/[]///102/102//0s;")

    def test_a_service_without_an_address_has_its_nodes(self):
        self.assertEqual(out('{{range service "redis|any"}}{{.ID}}={{.Address}} {{end}}', redis_brain()),
                         "redis1=10.9.9.10 redis2=10.9.9.11 ")

    def test_an_agent_registered_service(self):
        # The agent's own node and a service it registered, as recorded.
        entry = health_entry(agent_node(), agent_web_service(),
                             [check(AGENT_NODE, "serfHealth", "passing", output="Agent alive and reachable")])
        brain = {deps.parse_health_service("web"): [entry]}
        template = ('{{range service "web"}}{{.NodeID}} {{.NodeTaggedAddresses.lan}} {{.NodeMeta}} '
                    '{{.ServiceMeta.env}} {{.ServiceTaggedAddresses.lan_ipv4.Address}}:'
                    '{{(index .ServiceTaggedAddresses "wan_ipv4").Port}} {{.Tags}} '
                    '{{(index .Checks 0).Output}}{{end}}')
        self.assertEqual(out(template, brain),
                         f"{AGENT_ID} {AGENT_ADDRESS} map[consul-network-segment:] prod 10.1.2.3:8080 [v1] "
                         "Agent alive and reachable")

    def test_tags_are_a_sorted_copy(self):
        service = agent_web_service()
        service["Tags"] = ["zeta", "Alpha", "beta", "beta"]
        brain = {deps.parse_health_service("web"): [health_entry(agent_node(), service)]}
        self.assertEqual(out('{{range service "web"}}{{.Tags}}{{end}}', brain), "[Alpha beta beta zeta]")

    def test_tags_are_a_string_slice_to_confds_functions(self):
        brain = {deps.parse_health_service("redis|any"): answer("health-service-passing", REDIS)}
        self.assertEqual(out('{{range service "redis|any"}}{{join .Tags ","}};{{end}}', brain), "primary;;")

    def test_printed_whole(self):
        self.assertEqual(
            out('{{range service "redis"}}{{.}}{{end}}', redis_brain()),
            "{ext1  10.9.9.9 dc1 map[] map[rack:r1] map[] 10.9.9.10 map[] redis1 redis [primary] "
            "[&{ext1 redis-check Redis passing   redis1 redis [primary]   { map[]   false  0s 0s 0s 0s 0s 0s} "
            "101 101}] passing 6379 {1 1}}")


class ServiceQueryTests(SynchronousTestCase):
    """``service``'s argument: consul-template's "tag.name@dc~near|filter"."""

    def test_the_parts(self):
        self.assertEqual(deps.parse_health_service("primary.redis@dc2~_agent|passing,warning"),
                         deps.HealthServiceQuery("redis", "primary", "dc2", "_agent", ("passing", "warning")))
        self.assertEqual(deps.parse_health_service("a.b.web"), deps.HealthServiceQuery("web", "a.b"))
        self.assertEqual(deps.parse_health_service("v=1:x.web").tag, "v=1:x")
        self.assertEqual(deps.parse_health_service("web|warning,critical,").filters, ("critical", "warning"))
        self.assertEqual(deps.parse_health_service("web|,").filters, ())  # accepts nothing

    def test_the_default_is_passing_and_asked_of_the_agent(self):
        query = deps.parse_health_service("web")
        self.assertEqual(query.filters, ("passing",))
        self.assertEqual(query.request(), ("/v1/health/service/web", (("passing", "1"),)))
        self.assertEqual(deps.parse_health_service("web|passing"), query)

    def test_other_filters_are_applied_here(self):
        self.assertEqual(deps.parse_health_service("db.web@dc2~n1|any").request(),
                         ("/v1/health/service/web", (("dc", "dc2"), ("near", "n1"), ("tag", "db"))))

    def test_names_as_consul_template_gives_them(self):
        self.assertEqual(str(deps.parse_health_service("web")), "health.service(web|passing)")
        self.assertEqual(str(deps.parse_health_service("t.web@dc1~n|warning,any")),
                         "health.service(t.web@dc1~n|any,warning)")

    def test_bad_arguments(self):
        cases = {
            "web x": 'health.service: invalid format: "web x"',
            "web.": 'health.service: invalid format: "web."',
            "web@": 'health.service: invalid format: "web@"',
            "web|sick": 'health.service: invalid filter: "sick" in "web|sick"',
            "web|passing|any": 'health.service: invalid format: "web|passing|any"',
            "web|passing, warning": 'health.service: invalid format: "web|passing, warning"',
        }
        for argument, message in cases.items():
            self.assertEqual(error(self, '{{service "%s"}}' % argument), "error calling service: " + message)

    def test_two_arguments_are_name_and_filter(self):
        brain = redis_brain()
        self.assertEqual(out('{{range service "redis" "any"}}{{.ID}} {{end}}', brain), "redis1 redis2 ")

    def test_no_name_is_no_query(self):
        output, recall = render('{{service ""}}|{{service}}|{{len (service "")}}')
        self.assertEqual((output, recall.used), ("[]|[]|0", set()))

    def test_a_dot_in_the_name_is_a_tag(self):
        # consul-template's documented limit: service names cannot contain dots.
        self.assertEqual(deps.parse_health_service("my.service").name, "service")


class StatusFilterTests(SynchronousTestCase):
    def brain(self, filter_text):
        entries = [
            health_entry(agent_node(), dict(agent_web_service(), ID=f"web-{status}"),
                         [check(AGENT_NODE, "serfHealth", "passing"), check(AGENT_NODE, "c", status)])
            for status in ("passing", "warning", "critical")
        ]
        maintenance = health_entry(agent_node(), dict(agent_web_service(), ID="web-maint"),
                                   [check(AGENT_NODE, "_service_maintenance:web-maint", "critical")])
        return {deps.parse_health_service("web|" + filter_text): entries + [maintenance]}

    def ids(self, filter_text):
        return out('{{range service "web|%s"}}{{.ID}}={{.Status}} {{end}}' % filter_text, self.brain(filter_text))

    def test_each_filter(self):
        self.assertEqual(self.ids("any"),
                         "web-critical=critical web-maint=maintenance web-passing=passing web-warning=warning ")
        self.assertEqual(self.ids("passing,warning"), "web-passing=passing web-warning=warning ")
        self.assertEqual(self.ids("critical"), "web-critical=critical ")
        self.assertEqual(self.ids("maintenance"), "web-maint=maintenance ")
        self.assertEqual(self.ids("warning,any"),
                         "web-critical=critical web-maint=maintenance web-passing=passing web-warning=warning ")

    def test_the_aggregated_status(self):
        def status(*checks):
            brain = {deps.parse_health_service("web|any"): [
                health_entry(agent_node(), agent_web_service(), [check(AGENT_NODE, i, s) for i, s in checks])]}
            return out('{{range service "web|any"}}{{.Status}}{{end}}', brain)

        self.assertEqual(status(), "passing")
        self.assertEqual(status(("a", "passing"), ("b", "warning")), "warning")
        self.assertEqual(status(("a", "warning"), ("b", "critical")), "critical")
        self.assertEqual(status(("_node_maintenance", "critical"), ("b", "passing")), "maintenance")
        self.assertEqual(status(("a", "passing"), ("b", "sleepy")), "")


class ServiceOrderTests(SynchronousTestCase):
    def entries(self):
        def entry(node, service_id):
            n = dict(agent_node(), Node=node)
            return health_entry(n, dict(agent_web_service(), ID=service_id))

        return [entry("b", "2"), entry("a", "9"), entry("b", "1"), entry("B", "1")]

    def test_by_node_then_id(self):
        brain = {deps.parse_health_service("web"): self.entries()}
        self.assertEqual(out('{{range service "web"}}{{.Node}}/{{.ID}} {{end}}', brain), "B/1 a/9 b/1 b/2 ")

    def test_near_keeps_the_agents_order(self):
        brain = {deps.parse_health_service("web~_agent"): self.entries()}
        self.assertEqual(out('{{range service "web~_agent"}}{{.Node}}/{{.ID}} {{end}}', brain),
                         "b/2 a/9 b/1 B/1 ")


class ServicesTests(SynchronousTestCase):
    def brain(self, argument=""):
        return {deps.parse_catalog_services(argument): answer("catalog-services-meta", "/v1/catalog/services")}

    def test_names_and_tags_by_name(self):
        self.assertEqual(out("{{range services}}{{.Name}}={{.Tags}} {{end}}", self.brain()),
                         "a=[x] b=[] consul=[] ")
        self.assertEqual(out("{{range services}}{{.}}{{end}}", self.brain()), "{a [x]}{b []}{consul []}")

    def test_tags_sorted(self):
        brain = {deps.parse_catalog_services(""): {"web": ["v2", "a", "B"], "db": []}}
        self.assertEqual(out("{{range services}}{{.Name}}{{.Tags}}{{end}}", brain), "db[]web[B a v2]")

    def test_the_services_then_their_instances(self):
        brain = self.brain() | {deps.parse_health_service(n): [] for n in ("a", "b", "consul")}
        output, recall = render("{{range services}}{{.Name}}:{{range service .Name}}x{{end}} {{end}}", brain)
        self.assertEqual((output, recall.missing), ("a: b: consul: ", set()))

    def test_a_datacenter(self):
        query = deps.parse_catalog_services("@dc2")
        self.assertEqual((query.request(), str(query)),
                         (("/v1/catalog/services", (("dc", "dc2"),)), "catalog.services(@dc2)"))
        self.assertEqual(out('{{range services "@dc2"}}{{.Name}} {{end}}', self.brain("@dc2")), "a b consul ")
        self.assertEqual(error(self, '{{services "dc2"}}'),
                         'error calling services: catalog.services: invalid format: "dc2"')

    def test_none_at_all(self):
        brain = {deps.parse_catalog_services(""): {}}
        self.assertEqual(out("{{if services}}some{{else}}none{{end}} {{services}}", brain), "none []")


class NodesTests(SynchronousTestCase):
    def brain(self, argument=""):
        return {deps.parse_catalog_nodes(argument): answer("catalog-register-node", "/v1/catalog/nodes")}

    def test_fields(self):
        template = ("{{range nodes}}{{.Node}}|{{.Address}}|{{.ID}}|{{.Datacenter}}|{{.TaggedAddresses}}|"
                    "{{.Meta}};{{end}}")
        self.assertEqual(out(template, self.brain()),
                         f"{AGENT_NODE}|{AGENT_ADDRESS}|{AGENT_ID}|dc1|map[lan:{AGENT_ADDRESS} "
                         f"lan_ipv4:{AGENT_ADDRESS} wan:{AGENT_ADDRESS} wan_ipv4:{AGENT_ADDRESS}]|"
                         "map[consul-network-segment:];n1|10.0.0.1||dc1|map[]|map[];")

    def test_map_fields_by_key(self):
        self.assertEqual(out('{{range nodes}}{{.TaggedAddresses.wan}}/{{index .Meta "consul-network-segment"}};'
                             '{{end}}', self.brain()), f"{AGENT_ADDRESS}/;<no value>/;")

    def test_by_name_then_address_unless_near(self):
        nodes = [dict(agent_node(), Node=n, Address=a) for n, a in (("b", "1"), ("a", "2"), ("b", "0"))]
        self.assertEqual(out("{{range nodes}}{{.Node}}{{.Address}} {{end}}",
                             {deps.parse_catalog_nodes(""): nodes}), "a2 b0 b1 ")
        self.assertEqual(out('{{range nodes "~b"}}{{.Node}}{{.Address}} {{end}}',
                             {deps.parse_catalog_nodes("~b"): nodes}), "b1 a2 b0 ")

    def test_arguments(self):
        self.assertEqual(deps.parse_catalog_nodes("@dc2~_agent").request(),
                         ("/v1/catalog/nodes", (("dc", "dc2"), ("near", "_agent"))))
        self.assertEqual(str(deps.parse_catalog_nodes("@dc2~_agent")), "catalog.nodes(@dc2~_agent)")
        self.assertEqual(str(deps.parse_catalog_nodes("")), "catalog.nodes")
        self.assertEqual(error(self, '{{nodes "dc2"}}'), 'error calling nodes: catalog.nodes: invalid format: "dc2"')


class NodeTests(SynchronousTestCase):
    def test_the_agents_own_node_and_its_services(self):
        brain = {deps.CatalogNodeQuery(): answer("catalog-agent-service-sync", f"/v1/catalog/node/{AGENT_NODE}")}
        template = ("{{with node}}{{.Node.Node}} {{.Node.Address}} {{.Node.TaggedAddresses.lan}}:"
                    "{{range .Services}} {{.ID}}/{{.Service}}/{{.Tags}}/{{.Port}}/{{.Address}}/{{.Meta.version}}/"
                    "{{.EnableTagOverride}}{{end}}{{end}}")
        self.assertEqual(out(template, brain),
                         f"{AGENT_NODE} {AGENT_ADDRESS} {AGENT_ADDRESS}: consul/consul/[]/8300//1.10.3/false "
                         "web1/web/[v1]/8080/10.1.2.3/<no value>/false")

    def test_a_named_node(self):
        query = deps.parse_catalog_node("ext1")
        brain = {query: answer("catalog-register-full", "/v1/catalog/node/ext1")}
        self.assertEqual(out('{{with node "ext1"}}{{.Node.Meta.rack}} {{range .Services}}{{.}}{{end}}{{end}}', brain),
                         "r1 {redis1 redis [primary] map[] 6379 10.9.9.10 false}")
        self.assertEqual(query.request(), ("/v1/catalog/node/ext1", ()))

    def test_services_by_name_then_id(self):
        node = answer("catalog-register-full", "/v1/catalog/node/ext1")
        redis = node["Services"]["redis1"]
        node["Services"] = {"z": dict(redis, ID="z", Service="a"), "b": dict(redis, ID="b", Service="b"),
                            "a": dict(redis, ID="a", Service="b")}
        brain = {deps.parse_catalog_node("ext1"): node}
        self.assertEqual(out('{{range (node "ext1").Services}}{{.Service}}/{{.ID}} {{end}}', brain),
                         "a/z b/a b/b ")

    def test_a_node_that_does_not_exist(self):
        brain = {deps.parse_catalog_node("nope"): None}
        self.assertEqual(out('{{with node "nope"}}[{{.Node}}] {{len .Services}}{{end}}', brain), "[<nil>] 0")
        self.assertEqual(error(self, '{{(node "nope").Node.Address}}', brain),
                         "nil pointer evaluating *dependency.Node.Address")

    def test_arguments(self):
        self.assertEqual(deps.parse_catalog_node("n1@dc2"), deps.CatalogNodeQuery("n1", "dc2"))
        self.assertEqual(deps.parse_catalog_node("a.b-c"), deps.CatalogNodeQuery("a.b-c"))
        self.assertTrue(deps.parse_catalog_node("").needs_local_node)
        self.assertEqual(str(deps.parse_catalog_node("n1@dc2")), "catalog.node(n1@dc2)")
        self.assertEqual(str(deps.parse_catalog_node("")), "catalog.node")
        brain = {deps.CatalogNodeQuery("n1", "dc2"): None}
        self.assertEqual(out('{{with node "n1" "@dc2"}}found{{end}}', brain), "found")
        self.assertEqual(error(self, '{{node "@dc2"}}'), 'error calling node: catalog.node: invalid format: "@dc2"')


class WithoutDataTests(SynchronousTestCase):
    """Before their data has come, the functions give consul-template's empty results."""

    def test_empty_results_and_what_is_missing(self):
        output, recall = render('{{service "web"}} {{services}} {{nodes}} {{node}}|'
                                '{{with node "n1"}}x{{end}}{{range service "db"}}x{{end}}')
        self.assertEqual(output, "[] [] [] <no value>|")
        self.assertEqual(recall.missing, {
            deps.parse_health_service("web"), deps.parse_health_service("db"), deps.CatalogServicesQuery(),
            deps.CatalogNodesQuery(), deps.CatalogNodeQuery(), deps.CatalogNodeQuery("n1"),
        })
        self.assertEqual(recall.used, recall.missing)

    def test_used_and_missing_apart(self):
        brain = redis_brain()
        output, recall = render('{{range service "redis"}}{{.ID}}{{end}}{{service "web"}}', brain)
        self.assertEqual(output, "redis1[]")
        self.assertEqual(recall.used, {deps.parse_health_service("redis"), deps.parse_health_service("web")})
        self.assertEqual(recall.missing, {deps.parse_health_service("web")})


class ConnectTests(SynchronousTestCase):
    def test_refused(self):
        message = error(self, '{{range connect "web"}}{{.Address}}{{end}}')
        self.assertEqual(message, "error calling connect: pyconsul has no service mesh (Consul Connect), so no "
                                  "service is Connect-capable; use service instead")


class ByTagTests(SynchronousTestCase):
    def test_health_services(self):
        brain = {deps.parse_health_service("redis|any"): answer("health-service-passing", REDIS)}
        redis2 = answer("health-service-passing", REDIS)[1]
        redis2["Service"]["Tags"] = ["replica", "primary"]
        brain[deps.parse_health_service("redis|any")][1] = redis2
        template = ('{{range $tag, $services := service "redis|any" | byTag}}{{$tag}}:'
                    '{{range $services}} {{.ID}}{{end}};{{end}}')
        self.assertEqual(out(template, brain), "primary: redis1 redis2;replica: redis2;")

    def test_catalog_services(self):
        brain = {deps.parse_catalog_services(""): {"web": ["a", "b"], "db": ["b"], "x": []}}
        self.assertEqual(out('{{range $t, $s := byTag services}}{{$t}}={{range $s}}{{.Name}}{{end}} {{end}}', brain),
                         "a=web b=dbweb ")

    def test_nothing_and_the_wrong_type(self):
        self.assertEqual(out("{{byTag nil}}"), "map[]")
        self.assertEqual(error(self, '{{byTag (split "a,b" ",")}}'), "error calling byTag: byTag: wrong argument "
                                                                     "type []string")
        self.assertEqual(error(self, "{{byTag nodes}}", {deps.CatalogNodesQuery(): []}),
                         "error calling byTag: byTag: wrong argument type []*dependency.Node")


class HelperTests(SynchronousTestCase):
    """in, contains and the containsX family, as consul-template's funcs.go."""

    def brain(self):
        return {deps.parse_health_service("redis"): answer("health-service-passing", REDIS + "?passing")}

    def test_in(self):
        cases = {
            '{{range service "redis"}}{{in .Tags "primary"}}{{end}}': "true",
            '{{range service "redis"}}{{"primary" | in .Tags}}{{end}}': "true",
            '{{range service "redis"}}{{in .Tags "prim"}}{{end}}': "false",
            '{{in "haystack" "st"}}': "true",
            '{{in "haystack" 1}}': "false",
            '{{in (jsonArray "[1, 2.5, \\"x\\", true]") 1}}': "false",  # JSON numbers are float64
            '{{in (jsonArray "[1, 2.5, \\"x\\", true]") 2.5}}': "true",
            '{{in (jsonArray "[1, 2.5, \\"x\\", true]") "x"}}': "true",
            '{{in (jsonArray "[1, 2.5, \\"x\\", true]") true}}': "false",
            '{{in (seq 1 3) 2}}': "true",
            '{{in (seq 1 3) 2.0}}': "false",
            '{{in (map "a" 1) "a"}}': "false",
            "{{in nil 1}}": "false",
        }
        for template, expected in cases.items():
            self.assertEqual(out(template, self.brain()), expected, template)
        self.assertEqual(error(self, '{{in "abc" nil}}'),
                         "error calling in: reflect: call of reflect.Value.Type on zero Value")

    def test_the_contains_family(self):
        tags = '(jsonArray "[\\"primary\\", \\"v2\\"]")'
        table = [
            ("containsAll", "true", "false"),
            ("containsAny", "true", "true"),
            ("containsNone", "false", "false"),
            ("containsNotAll", "false", "true"),
        ]
        for name, both_present, one_missing in table:
            present = '{{range service "redis"}}{{%s (jsonArray "[\\"primary\\"]") .Tags}}{{end}}' % name
            mixed = '{{range service "redis"}}{{.Tags | %s %s}}{{end}}' % (name, tags)
            self.assertEqual((out(present, self.brain()), out(mixed, self.brain())), (both_present, one_missing),
                             name)
        self.assertEqual(out('{{containsAny (jsonArray "[]") "x"}}{{containsAll (jsonArray "[]") "x"}}'),
                         "falsetrue")

    def test_the_contains_family_wants_a_list_of_interfaces(self):
        self.assertEqual(error(self, '{{containsAll (split "a" ",") "abc"}}'),
                         "wrong type for value; expected []interface {}; got []string")

    def test_contains_is_confds_in_its_shape_and_consul_templates_in_its_own(self):
        # confd: strings.Contains(s, substr). consul-template: contains(v, l) is in(l, v).
        self.assertEqual(out('{{contains "haystack" "st"}}'), "true")
        self.assertEqual(out('{{contains "st" "haystack"}}', shape="ct"), "true")
        self.assertEqual(out('{{range service "redis"}}{{if .Tags | contains "primary"}}yes{{end}}{{end}}',
                             self.brain(), shape="ct"), "yes")
        self.assertIn("wrong type for value; expected string; got dependency.ServiceTags",
                      error(self, '{{range service "redis"}}{{.Tags | contains "primary"}}{{end}}', self.brain()))


class ConsulTemplateShapeTests(SynchronousTestCase):
    """What differs when the template is a consul-template one."""

    def test_a_missing_map_key_is_the_zero_value(self):
        brain = {deps.parse_health_service("redis"): answer("health-service-passing", REDIS + "?passing")}
        template = '{{range service "redis"}}[{{.NodeMeta.nope}}|{{.NodeMeta.rack}}]{{end}}'
        self.assertEqual(out(template, brain, shape="ct"), "[|r1]")
        self.assertEqual(out(template, brain), "[<no value>|r1]")

    def test_its_string_helpers_take_the_piped_value_last(self):
        brain = {deps.parse_health_service("redis|any"): answer("health-service-passing", REDIS)}
        self.assertEqual(out('{{range service "redis|any"}}{{.Tags | join ","}};{{end}}', brain, shape="ct"),
                         "primary;;")
        self.assertEqual(out('{{"a,b" | split ","}} {{split "," "  "}} {{len (split "," "")}} {{split "" "ab"}}',
                             shape="ct"), "[a b] [] 0 [a b]")
        self.assertEqual(out('{{"web.service" | trimSuffix ".service"}}', shape="ct"), "web")
        # confd's, in its shape: the value first.
        self.assertEqual(out('{{join (split "a,b" ",") "-"}} {{trimSuffix "web.service" ".service"}}'), "a-b web")

    def test_errors_name_the_template_as_consul_template_does(self):
        with self.assertRaises(TemplateExecError) as caught:
            render('x{{service "a b"}}', shape="ct")
        self.assertEqual(str(caught.exception), 'template: :1:3: executing "" at <service "a b">: error calling '
                                                'service: health.service: invalid format: "a b"')


class KVFunctionTests(SynchronousTestCase):
    """consul-template's KV functions in its shape: each a dependency on a prefix."""

    def brain(self, prefix="app", dc=""):
        return {deps.KVPrefix(prefix, dc): {"app/a": b"1", "app/empty": b"", "app/dir/": None,
                                             "app/dir/b": b"2", "apple": b"3"}}

    def test_key(self):
        brain = {deps.KVPrefix("app/a"): {"app/a": b"1"}}
        output, recall = render('{{key "app/a"}}|{{key "/app/a"}}|{{key ""}}', brain, shape="ct")
        self.assertEqual((output, recall.missing), ("1|1|", set()))

    def test_key_waits_for_a_key_that_does_not_exist(self):
        output, recall = render('{{key "app/nope"}}', {deps.KVPrefix("app/nope"): {}}, shape="ct")
        self.assertEqual((output, recall.missing), ("", {deps.KVPrefix("app/nope")}))

    def test_key_exists_and_key_or_default_do_not_wait(self):
        brain = {deps.KVPrefix("app/nope"): {}, deps.KVPrefix("app/empty"): {"app/empty": b""},
                 deps.KVPrefix("app/a"): {"app/a": b"1"}}
        output, recall = render('{{keyExists "app/nope"}} {{keyExists "app/empty"}} {{keyOrDefault "app/nope" "d"}} '
                                '{{keyOrDefault "app/empty" "d"}} {{keyOrDefault "app/a" "d"}}', brain, shape="ct")
        self.assertEqual((output, recall.missing), ("false true d d 1", set()))

    def test_before_the_data_comes(self):
        output, recall = render('{{key "a"}}|{{keyOrDefault "b" "d"}}|{{keyExists "c"}}|{{ls "d"}}', shape="ct")
        self.assertEqual(output, "|d|false|[]")
        self.assertEqual(recall.missing, {deps.KVPrefix(p) for p in "abcd"})

    def test_ls_and_tree(self):
        brain = self.brain()
        self.assertEqual(out('{{range ls "app"}}{{.Key}}={{.Value}} {{end}}', brain, shape="ct"),
                         "a=1 empty= le=3 ")
        self.assertEqual(out('{{range tree "app"}}{{.Key}}={{.Value}}@{{.Path}} {{end}}', brain, shape="ct"),
                         "a=1@app/a dir/b=2@app/dir/b empty=@app/empty le=3@apple ")

    def test_a_datacenter(self):
        self.assertEqual(deps.parse_kv("kv.list", "/app@dc2"), ("app", deps.KVPrefix("app", "dc2")))
        self.assertEqual(deps.KVPrefix("app", "dc2").request(), ("/v1/kv/app", (("recurse", ""), ("dc", "dc2"))))
        self.assertEqual(out('{{range ls "app@dc2"}}{{.Key}} {{end}}', self.brain(dc="dc2"), shape="ct"),
                         "a empty le ")
        self.assertEqual(error(self, '{{key "a@"}}', shape="ct"), 'error calling key: kv.get: invalid format: "a@"')

    def test_the_safe_ones_wait_for_something_to_be_there(self):
        brain = {deps.KVPrefix("none"): {}, deps.KVPrefix("app"): self.brain()[deps.KVPrefix("app")]}
        output, recall = render('{{safeLs "none"}}{{safeTree "none"}}{{range safeLs "app"}}{{.Key}}{{end}}', brain,
                                shape="ct")
        self.assertEqual((output, recall.missing), ("[][]aemptyle", {deps.KVPrefix("none")}))
        output, recall = render('{{ls "none"}}{{tree "none"}}', brain, shape="ct")
        self.assertEqual((output, recall.missing), ("[][]", set()))

    def test_confds_shape_keeps_its_store(self):
        store = MemKV({"/app/a": "from conf.d"})
        self.assertEqual(out('{{key "app/a"}} {{ls "/app"}}', store=store), "from conf.d [a]")


class ProcessorTests(SynchronousTestCase):
    """confd resources whose templates use the discovery functions."""

    def setUp(self):
        self.dir = ConfDir(self)
        self.commands = RecordingRunner()

    def processor(self):
        return Processor(self.dir.settings(), runner=self.commands, world=WORLD)

    def resource(self, template):
        path = self.dir.resource("web", template, keys=["/app"], reload_cmd="reload")
        return load_resource(path, self.dir.settings())

    def test_a_render_that_lacks_data_writes_nothing_and_says_what_it_lacked(self):
        resource = self.resource('{{range service "redis"}}{{.Address}}{{end}} {{getv "/app/x"}}\n')
        result = self.processor().sync(resource, {"app/x": b"1"}, {})
        self.assertEqual((result.changed, result.written, result.complete), (False, False, False))
        self.assertEqual(result.missing, {deps.parse_health_service("redis")})
        self.assertEqual(result.used, result.missing)
        self.assertFalse(os.path.exists(resource.dest))
        self.assertEqual(self.commands.commands, [])

    def test_with_the_data_it_is_applied(self):
        resource = self.resource('{{range service "redis"}}{{.Address}}{{end}} {{getv "/app/x"}}\n')
        result = self.processor().sync(resource, {"app/x": b"1"}, redis_brain())
        self.assertEqual((result.written, result.complete), (True, True))
        self.assertEqual(result.used, {deps.parse_health_service("redis")})
        with open(resource.dest, "rb") as f:
            self.assertEqual(f.read(), b"10.9.9.10 1\n")
        self.assertEqual(self.commands.commands, ["reload"])

    def test_a_failed_render_says_what_it_had_asked_for(self):
        resource = self.resource('{{range service "redis"}}{{.Address}}{{end}}{{service "x y"}}\n')
        with self.assertRaises(RenderError) as caught:
            self.processor().sync(resource, {}, redis_brain())
        self.assertEqual(caught.exception.used, {deps.parse_health_service("redis")})

    def test_the_declared_keys_are_dependencies(self):
        resource = self.resource("x\n")
        self.assertEqual(resource.deps, (deps.KVPrefix("app"),))
