"""The template engine on cases the recorded confd vectors do not cover.

Expected results follow Go's text/template (Go 1.19, as confd 0.17 uses) and
confd's functions. Each entry is (name, data, template, expected) where
expected is the output, or Error(text) for a message that must appear.
"""

import attr
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import (
    FuncTable,
    MemKV,
    Template,
    TemplateError,
    TemplateExecError,
    TemplateParseError,
    World,
    render,
)
from pyconsul.template.dns import SRVRecord, StaticResolver
from pyconsul.template.values import STRING, GoMap


@attr.s(frozen=True)
class Error:
    text = attr.ib()


RESOLVER = StaticResolver(
    hosts={"db.local": ["10.0.0.2", "10.0.0.1", "fd00::1"]},
    srv={
        "_ldap._tcp.example.com": [
            SRVRecord("b.example.com.", 389, 10, 5),
            SRVRecord("a.example.com.", 636, 20, 5),
        ]
    },
)

WORLD = World(
    environ={"HOME_DIR": "/home/app", "EMPTY": ""},
    resolver=RESOLVER,
    clock=lambda: 1714564800_250000000,  # 2024-05-01 12:00:00.25 UTC
    time_zone=lambda seconds: (0, "UTC"),
    monotonic=lambda: 1_500_000,  # 1.5 ms since the process started
    file_exists=lambda path: path == "/etc/present",
)

UPSTREAMS = {
    "/app/upstream/a": "10.0.0.1:80",
    "/app/upstream/b": "10.0.0.2:80",
}

CASES = [
    # -- text, trimming, comments
    ("trim-both-sides-doc-example", {}, "{{23 -}} < {{- 45}}", "23<45"),
    ("trim-newline-only", {}, "a\n{{- /* x */}}\nb", "a\nb"),
    ("comment-unclosed", {}, "{{/* never", Error("template: t.tmpl:1: unclosed comment")),
    ("trim-marker-needs-space", {}, "{{-1}}|{{1 -}}|", "-1|1|"),
    ("text-with-lone-braces", {}, "{ } }} {", "{ } }} {"),
    # -- control structures
    ("else-if-chain", {}, '{{if false}}a{{else if false}}b{{else if true}}c{{else}}d{{end}}', "c"),
    ("with-else", {}, '{{with ""}}x{{else}}empty{{end}}', "empty"),
    ("with-sets-dot", {"/a": "v"}, '{{with getv "/a"}}<{{.}}>{{end}}', "<v>"),
    ("range-map-vars", {}, '{{range $k, $v := map "b" 1 "a" 2}}{{$k}}={{$v}};{{end}}', "a=2;b=1;"),
    ("range-index-only-var-is-element", {}, '{{range $e := seq 3 4}}{{$e}}{{end}}', "34"),
    ("range-break-inner-only", {}, '{{range seq 1 2}}{{range seq 1 3}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}};{{end}}', "1;1;"),
    ("range-continue", {}, '{{range seq 1 4}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}', "134"),
    ("range-else-not-run-after-break", {}, '{{range seq 1 3}}{{break}}{{else}}E{{end}}x', "x"),
    ("range-variable-scope", {}, '{{range seq 1 2}}{{$x := .}}{{end}}{{$x}}', Error('undefined variable "$x"')),
    ("variable-assign-in-range", {}, '{{$n := 0}}{{range seq 1 3}}{{$n = .}}{{end}}{{$n}}', "3"),
    ("block-default", {}, '{{block "b" "x"}}[{{.}}]{{end}}', "[x]"),
    ("template-does-not-inherit-vars", {}, '{{$x := 1}}{{define "T"}}{{$x}}{{end}}', Error('undefined variable "$x"')),
    ("template-dollar-is-its-dot", {}, '{{define "T"}}{{$}}{{end}}{{template "T" 5}}', "5"),
    ("break-outside-range", {}, "{{break}}", Error("{{break}} outside {{range}}")),
    ("else-with-not-allowed", {}, '{{with 1}}a{{else with 2}}b{{end}}', Error("unexpected <with> in else")),
    ("non-executable-pipeline-stage", {}, '{{1 | 2}}', Error("non executable command in pipeline stage 2")),
    ("too-many-range-decls", {}, '{{range $a, $b, $c := seq 1 2}}{{end}}', Error("too many declarations in range")),
    ("unexpected-dot-after-literal", {}, '{{"a".b}}', Error('unexpected . after term "\\"a\\""')),
    ("unclosed-left-paren", {}, "{{(1}}", Error("unclosed left paren")),
    ("unexpected-right-paren", {}, "{{1)}}", Error('unexpected ")" in command')),
    ("bad-character-in-identifier", {}, "{{$x=1}}", Error("bad character U+003D '='")),
    ("unclosed-action-multiline", {}, '{{getv\n"/a"', Error("template: t.tmpl:2: unclosed action started at t.tmpl:1")),
    ("integer-overflow", {}, "{{99999999999999999999}}", Error('integer overflow: "99999999999999999999"')),
    ("uint-overflows-int", {}, "{{18446744073709551615}}", Error("18446744073709551615 overflows int")),
    ("float-and-complex-constants", {}, "{{1e3}} {{0x10}} {{1.0}} {{2i}} {{1+2i}}", "1000 16 1 (0+2i) (1+2i)"),
    ("nil-is-not-a-command", {}, "{{nil}}", Error("nil is not a command")),
    ("dot-with-arguments", {}, "{{. 1}}", Error("can't give argument to non-function .")),
    # -- values and fields
    ("kvpair-field-chain-error", {"/a": "x"}, '{{(get "/a").Value.Len}}', Error("can't evaluate field Len in type string")),
    ("json-field-of-non-map-in-range", {}, '{{range jsonArray `["s"]`}}{{.x}}{{end}}', Error("can't evaluate field x in type interface {}")),
    ("json-field-of-null", {}, '{{$j := json `{"a": null}`}}{{$j.a.b}}', Error("nil pointer evaluating interface {}.b")),
    ("json-null-to-string-param", {}, '{{$j := json `{"a": null}`}}{{toUpper $j.a}}', Error("wrong type for value; expected string; got interface {}")),
    ("missing-key-to-string-param", {}, '{{$j := json `{}`}}{{toUpper $j.a}}', Error("invalid value; expected string")),
    ("json-nested-values", {}, '{{$j := json `{"a": {"b": [1, "x", true, null]}}`}}{{$j.a.b}} {{index $j.a.b 2}}', "[1 x true <nil>] true"),
    ("json-lone-surrogate-escape", {}, '{{$j := json `{"a": "\\ud800x"}`}}{{$j.a}}', "\ufffdx"),
    ("json-null-is-empty-map", {}, '{{$j := json "null"}}{{$j}} {{len $j}} {{if $j}}T{{else}}F{{end}}', "map[] 0 F"),
    ("json-array-to-object-error", {}, "{{json `[1]`}}", Error("json: cannot unmarshal array into Go value of type map[string]interface {}")),
    ("json-truncated", {}, "{{json `{`}}", Error("error calling json: unexpected end of JSON input")),
    ("map-missing-field-is-no-value", {}, '{{(map "a" 1).b}}', "<no value>"),
    ("field-with-arguments", {"/a": "x"}, '{{$p := get "/a"}}{{$p.Key 1}}', Error("Key has arguments but cannot be invoked as function")),
    ("map-field-with-arguments", {}, '{{$m := map "a" 1}}{{$m.a 1}}', Error("a is not a method but has arguments")),
    ("print-nil-data", {}, "{{print .}} {{html .}} {{printf \"%v\" .}}", "<nil> &lt;no value&gt; <nil>"),
    # -- builtins
    ("and-or-return-values", {}, '{{or "" "b"}} {{and 1 0}} {{or 0 ""}}| {{and "x" "y"}}', "b 0 | y"),
    ("and-or-pipeline-final", {}, '{{"" | or "a"}} {{"z" | and 1}}', "a z"),
    ("not-truth", {}, '{{not ""}} {{not "x"}} {{not 0}} {{not .}}', "true false true true"),
    ("eq-several", {}, '{{eq "b" "a" "b"}} {{eq 1 2 3}}', "true false"),
    ("eq-uint8-and-int", {}, '{{eq (index "a" 0) 97}} {{index "abc" 1}}', "true 98"),
    ("eq-structs", {"/a": "x"}, '{{eq (get "/a") (get "/a")}}', "true"),
    ("eq-slices-error", {}, '{{eq (split "a" ",") (split "a" ",")}}', Error("non-comparable type [a]: []string")),
    ("eq-missing-argument", {}, "{{eq 1}}", Error("error calling eq: missing argument for comparison")),
    ("lt-strings-and-floats", {}, '{{lt "a" "b"}} {{lt 1.5 2.5}} {{ge "b" "a"}} {{gt 2 1}}', "true true true true"),
    ("len-of-nil-interface", {}, '{{$j := json `{"a": null}`}}{{len $j.a}}', Error("error calling len: len of nil pointer")),
    ("len-of-missing", {}, '{{len .}}', Error("error calling len: reflect: call of reflect.Value.Type on zero Value")),
    ("len-counts-bytes", {}, '{{len "héllo"}} {{slice "héllo" 1 3}}', "6 é"),
    ("index-map-and-nil", {}, '{{index (map "a" 1) "a"}} {{index . 1}}', Error("error calling index: index of untyped nil")),
    ("index-map-wrong-key", {}, '{{index (map "a" 1) 1}}', Error("value has type int; should be string")),
    ("slice-errors", {}, '{{slice "abc" 2 1}}', Error("error calling slice: invalid slice index: 2 > 1")),
    ("slice-too-many", {}, '{{slice "abc" 1 2 3 4}}', Error("error calling slice: too many slice indexes: 4")),
    ("call-of-nil", {}, "{{call .}}", Error("error calling call: call of nil")),
    ("html-js-urlquery", {}, '{{html "<&>"}} {{js "\\u2028a"}} {{urlquery "a b+c"}}', "&lt;&amp;&gt; \\u2028a a+b%2Bc"),
    # -- fmt
    ("printf-more-verbs", {}, '{{printf "%q %x %c %U %#U %T %T %o %b" 65 -255 9731 9731 9731 1.5 (split "a" ",") 8 5}}',
     "'A' -ff ☃ U+2603 U+2603 '☃' float64 []string 10 101"),
    ("printf-width-precision-star", {}, '{{printf "[%*d] [%-*d] [%.*f] [%6.2s]" 4 7 4 7 2 3.14159 "hello"}}', "[   7] [7   ] [3.14] [    he]"),
    ("printf-arg-index", {}, '{{printf "%[2]s %[1]s" "a" "b"}}', "b a"),
    ("printf-nil-and-noverb", {}, '{{printf "%d|%" nil}}', "%!d(<nil>)|%!(NOVERB)"),
    ("printf-float-forms", {}, '{{printf "%v %v %v %.3e %g" 0.1 1e6 1e-5 1234.5678 100000.0}}', "0.1 1e+06 1e-05 1.235e+03 100000"),
    ("print-map-sorted", {}, '{{map "b" 2 "a" (map "c" nil)}}', "map[a:map[c:<nil>] b:2]"),
    ("print-kvpairs-plus", {"/a": "1"}, '{{printf "%+v" (gets "/*")}}', "[{Key:/a Value:1}]"),
    # -- confd functions
    ("getenv-world", {}, '{{getenv "HOME_DIR"}} [{{getenv "EMPTY" "d"}}] [{{getenv "NOPE"}}]', "/home/app [d] []"),
    ("datetime-injected", {}, '{{datetime}}|{{(datetime).Format "2006-01-02T15:04:05.000Z07:00"}}|{{datetime.Unix}}',
     "2024-05-01 12:00:00.25 +0000 UTC m=+0.001500000|2024-05-01T12:00:00.250Z|1714564800"),
    ("datetime-fields", {}, '{{$t := datetime}}{{$t.Year}} {{$t.Month}} {{$t.Day}} {{$t.Weekday}} {{printf "%d" $t.Month}}', "2024 May 1 Wednesday 5"),
    ("file-exists-world", {}, '{{fileExists "/etc/present"}} {{fileExists "/etc/absent"}}', "true false"),
    ("lookup-ip-sorted", {}, '{{lookupIP "db.local"}} {{lookupIPV4 "db.local"}} {{lookupIPV6 "db.local"}} {{lookupIP "nowhere"}}',
     "[10.0.0.1 10.0.0.2 fd00::1] [10.0.0.1 10.0.0.2] [fd00::1] []"),
    ("lookup-srv", {}, '{{range lookupSRV "ldap" "tcp" "example.com"}}{{.Target}}:{{.Port}} {{end}}{{len (lookupSRV "x" "y" "z")}}',
     "a.example.com.:636 b.example.com.:389 0"),
    ("lookup-ip-literal-v4-mapped", {}, '{{lookupIP "::ffff:1.2.3.4"}}', "[1.2.3.4]"),
    ("to-upper-is-per-character", {}, '{{toUpper "straße"}} {{toLower "İ"}}', "STRAßE i"),
    ("split-empty-separator-runes", {}, '{{split "aé" ""}} {{len (split "aé" "")}}', "[a é] 2"),
    ("replace-empty-old-count", {}, '{{replace "ab" "" "-" 2}}', "-a-b"),
    ("arithmetic-go-ints", {}, "{{div -7 2}} {{mod -7 2}} {{mul 9223372036854775807 2}} {{add 9223372036854775807 1}}",
     "-3 -1 -2 -9223372036854775808"),
    ("div-by-zero", {}, "{{div 1 0}}", Error("error calling div: runtime error: integer divide by zero")),
    ("seq-too-long", {}, "{{seq 1 10000000}}", Error("error calling seq")),
    ("seq-empty-is-nil", {}, "{{seq 2 1}} {{len (seq 2 1)}}", "[] 0"),
    ("reverse-kvpairs-unchanged-sorted-kv-reversed", {"/k/a": "1", "/k/bb": "2"},
     '{{range reverse (gets "/k/*")}}{{.Value}}{{end}} {{range reverse (sortKVByLength (gets "/k/*"))}}{{.Value}}{{end}}', "12 21"),
    ("base64-roundtrip", {}, '{{base64Decode (base64Encode "x\\x00y")}}', "x\x00y"),
    ("base64-padding-mid-input", {}, '{{base64Decode "YWI=\\nYw=="}}', Error("illegal base64 data at input byte 5")),
    ("base64-bad-char", {}, '{{base64Decode "YW*="}}', Error("illegal base64 data at input byte 2")),
    ("base64-with-newlines", {}, '{{base64Decode "YW\\nJj"}}', "abc"),
    ("atoi-plus-minus", {}, '{{atoi "-"}}', Error('strconv.Atoi: parsing "-": invalid syntax')),
    ("join-needs-string-slice", {}, '{{join (jsonArray `["a"]`) ","}}', Error("wrong type for value; expected []string; got []interface {}")),
    ("join-literal-arg", {}, '{{join "a" ","}}', Error("can't handle \"a\" for arg of type []string")),
    ("gets-empty-store-bad-pattern", {}, '{{gets "/["}}', "[]"),
    ("ls-root-lists-leaves-only", {"/a": "1", "/b/c": "2"}, '{{ls "/"}} {{lsdir "/"}}', "[a] []"),
    ("getv-nonutf8-value", {"/b": b"\xff\xfe"}, '{{len (getv "/b")}}', "2"),
    # -- consul-template's KV functions
    ("key-functions", {"/service/redis/maxconns": "15"},
     '{{key "service/redis/maxconns"}} {{keyOrDefault "service/redis/x" "5"}} {{keyExists "/service/redis/maxconns"}}', "15 5 true"),
    ("key-missing", {}, '{{key "service/x"}}', Error("error calling key: key does not exist: /service/x")),
    ("tree", {"/service/redis/a": "1", "/service/redis/b/c": "2", "/service/other": "3"},
     '{{range tree "service/redis"}}{{.Key}}={{.Value}} {{end}}', "a=1 b/c=2 "),
    # -- limits
    ("template-recursion-limit", {}, '{{define "r"}}{{template "r"}}{{end}}{{template "r"}}', Error("exceeded maximum template depth")),
    ("deep-parens", {}, "{{" + "(" * 400 + "1" + ")" * 400 + "}}", Error("template: t.tmpl:")),
    ("error-column-counts-bytes", {}, 'é {{getv "/x"}}', Error("template: t.tmpl:1:5: executing")),
]


def store(data):
    return MemKV(data)


class EngineCaseTests(SynchronousTestCase):
    """One test per entry of CASES (methods added below)."""


def _make(case):
    name, data, text, expected = case

    def test(self):
        try:
            output = render(text, store(data), name="t.tmpl", world=WORLD)
        except TemplateError as e:
            if not isinstance(expected, Error):
                self.fail(f"unexpected error: {e}")
            self.assertIn(expected.text, str(e))
            return
        if isinstance(expected, Error):
            self.fail(f"expected an error containing {expected.text!r}, rendered {output!r}")
        self.assertEqual(output, expected)

    return test


for _case in CASES:
    setattr(EngineCaseTests, "test_" + _case[0].replace("-", "_"), _make(_case))


class ErrorStructureTests(SynchronousTestCase):
    """Errors carry their parts, not just a message."""

    def test_exec_error_fields(self):
        with self.assertRaises(TemplateExecError) as caught:
            render('line\n  {{getv "/x"}}', MemKV(), name="n.tmpl", world=WORLD)
        e = caught.exception
        self.assertEqual((e.name, e.line, e.col, e.executing), ("n.tmpl", 2, 4, "n.tmpl"))
        self.assertEqual(e.context, 'getv "/x"')
        self.assertEqual(e.detail, "error calling getv: key does not exist: /x")

    def test_parse_error_fields(self):
        with self.assertRaises(TemplateParseError) as caught:
            render("a\n{{if}}", MemKV(), name="p.tmpl", world=WORLD)
        e = caught.exception
        self.assertEqual((e.name, e.line, e.col), ("p.tmpl", 2, None))
        self.assertEqual(str(e), "template: p.tmpl:2: missing value for if")


class ExtensionTests(SynchronousTestCase):
    """The function table is open: callers add functions with Go signatures."""

    def test_added_function(self):
        extra = FuncTable().add("shout", lambda s: s.upper() + "!", STRING)
        out = render('{{shout "hi"}} {{"x" | shout}}', MemKV(), world=WORLD, extra_funcs=extra)
        self.assertEqual(out, "HI! X!")

    def test_added_function_checks_arguments(self):
        extra = FuncTable().add("shout", lambda s: s.upper(), STRING)
        with self.assertRaises(TemplateExecError) as caught:
            render("{{shout 1}}", MemKV(), name="e.tmpl", world=WORLD, extra_funcs=extra)
        self.assertIn("at <1>: expected string; found 1", str(caught.exception))

    def test_plain_python_results_get_go_types(self):
        extra = FuncTable().add("services", lambda: [{"Name": "web", "Tags": ["a", "b"]}])
        out = render("{{range services}}{{.Name}} {{.Tags}}{{end}}", MemKV(), world=WORLD, extra_funcs=extra)
        self.assertEqual(out, "web [a b]")

    def test_failing_function_is_a_template_error(self):
        extra = FuncTable().add("boom", lambda: 1 // 0)
        with self.assertRaises(TemplateExecError) as caught:
            render("{{boom}}", MemKV(), name="b.tmpl", world=WORLD, extra_funcs=extra)
        self.assertIn("error calling boom: ZeroDivisionError", str(caught.exception))

    def test_unknown_function_is_a_parse_error(self):
        with self.assertRaises(TemplateParseError):
            render("{{services}}", MemKV(), world=WORLD)

    def test_template_with_map_data(self):
        out = Template("checkcmd", "nginx -t -c {{.src}}").execute(GoMap({"src": "/etc/.x"}))
        self.assertEqual(out, "nginx -t -c /etc/.x")
