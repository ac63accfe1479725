"""Property tests: no input makes the engine fail with anything but its own errors.

The generated templates are built from fragments of the template language so
that many of them get past the lexer and exercise the parser and executor.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import GoError, MemKV, TemplateError, World, render
from pyconsul.template import gofmt
from pyconsul.template.builtins import BUILTINS
from pyconsul.template.funcs import confd_funcs, json_array, json_object
from pyconsul.template.dns import StaticResolver

FRAGMENTS = [
    "{{", "}}", "{{- ", " -}}", " ", "  ", "\n", "$x", "$i", "$", ":=", "=", "|", ",",
    "(", ")", ".", ".Key", ".Value", ".a.b", "if", "else", "end", "range", "with",
    "define", "template", "block", "break", "continue", "nil", "true", "false",
    '"a"', '"/a"', '"/*"', '"/d/*"', '"%d %s %v"', '"T"', "`raw`", "'c'", "'\\n'",
    "1", "-2", "0x1F", "1.5", "1e3", "2i", "1+2i", "99999999999999999999",
    "getv", "gets", "getvs", "get", "ls", "lsdir", "exists", "json", "jsonArray",
    "index", "len", "slice", "printf", "print", "println", "and", "or", "not", "eq",
    "ne", "lt", "le", "map", "seq", "split", "join", "reverse", "sortByLength",
    "sortKVByLength", "add", "div", "mod", "atoi", "base64Decode", "call", "html",
    "js", "urlquery", "datetime", "key", "tree", "/*", "*/", "x", "é", "\x00",
]

STORE = MemKV({
    "/a": "1",
    "/d/x": '{"k": [1, null, "s"]}',
    "/d/y": "[1, 2]",
    "/d/z/w": "",
})

WORLD = World(
    environ={}, resolver=StaticResolver(), clock=lambda: 0,
    time_zone=lambda s: (0, "UTC"), monotonic=lambda: 1, file_exists=lambda p: False,
)

# Well-formed actions built from the real function names and typical
# arguments, so that most examples reach the executor.
ATOMS = st.sampled_from([
    ".", "$", "$x", "nil", "true", "1", "0", "-1", "1.5", '"a"', '"/a"', '"/d/*"',
    '"/d/x"', '"%v"', '"{}"', '"[1]"', ".Key", ".k", "'a'", "2i",
])
FUNCTION_NAMES = sorted(set(BUILTINS) | set(confd_funcs(MemKV())))


def expressions(depth):
    if depth == 0:
        return ATOMS
    call = st.builds(
        lambda f, args: "(" + " ".join([f, *args]) + ")",
        st.sampled_from(FUNCTION_NAMES),
        st.lists(expressions(depth - 1), max_size=3),
    )
    return st.one_of(ATOMS, call)


pipelines = st.builds(
    lambda f, args, more: " ".join([f, *args]) + "".join(" | " + m for m in more),
    st.sampled_from(FUNCTION_NAMES),
    st.lists(expressions(2), max_size=3),
    st.lists(st.sampled_from(FUNCTION_NAMES), max_size=2),
)
actions = st.one_of(
    pipelines.map(lambda p: "{{" + p + "}}"),
    pipelines.map(lambda p: "{{$x := " + p + "}}"),
    pipelines.map(lambda p: "{{range $i, $v := " + p + "}}[{{$i}}={{$v}}{{.}}]{{else}}E{{end}}"),
    pipelines.map(lambda p: "{{with " + p + "}}W{{.}}{{end}}"),
    pipelines.map(lambda p: "{{if " + p + "}}T{{else}}F{{end}}"),
)
well_formed = st.lists(actions, min_size=1, max_size=4).map("".join)

templates = st.one_of(
    well_formed,
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join),
    st.text(max_size=60),
)

FUZZ = settings(
    max_examples=400, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class EngineFuzzTests(SynchronousTestCase):
    @FUZZ
    @given(templates)
    def test_only_template_errors(self, text):
        try:
            result = render(text, STORE, name="fuzz.tmpl", world=WORLD)
        except TemplateError as e:
            self.assertTrue(str(e).startswith("template: fuzz.tmpl"), str(e))
            # A Python exception inside a function is reported, but would be a bug.
            self.assertNotRegex(e.detail, r"error calling \w+: [A-Z]\w*Error: ")
        else:
            self.assertIsInstance(result, str)

    @FUZZ
    @given(st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")))
    def test_json_only_go_errors(self, text):
        for decode in (json_object, json_array):
            try:
                decode(text)
            except GoError:
                pass

    @FUZZ
    @given(
        st.text(alphabet="%#+- 0123456789.*[]vdsqxXcUeEfgGtTbo!z", max_size=12),
        st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.booleans(), st.none()), max_size=3),
    )
    def test_sprintf_total(self, fmt, args):
        self.assertIsInstance(gofmt.sprintf(fmt, *args), str)
