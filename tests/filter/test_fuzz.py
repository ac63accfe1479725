"""No expression, however malformed, raises anything but FilterError; no record
a compiled filter meets makes it raise at all."""

from hypothesis import HealthCheck, given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.filter import FilterError, compile_filter
from pyconsul.filter.schemas import CHECK_SERVICE_NODE, SERVICE_NODE

_TOKENS = [
    "Service", "Service.Tags", "Checks.Status", "Node.Meta", "Node.Meta.env", 'Node.Meta["a b"]', "Service.Port",
    "Service.Connect.Native", "Service.TaggedAddresses.lan.Port", "Foo", "Checks", "==", "!=", " in ", " not in ",
    " contains ", " not contains ", " matches ", " not matches ", " is empty", " is not empty", " and ", " or ",
    "not ", "(", ")", "[", "]", ".", '"', "`", "\\", '"v1"', "`passing`", "critical", "0", "-1", "1.5", "0x10",
    "true", '"(a|b)*c"', '"[z-a]"', '"\\\\1"', '"a{2}{3}"', '"(?i)web"', '"\\x80"', " ", "\t", "\n", "\udc80", "é",
]

_settings = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _compile(expression):
    try:
        return compile_filter(expression, CHECK_SERVICE_NODE)
    except FilterError as error:
        assert isinstance(error.message, str) and error.message.startswith("Failed to create")
        return None


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["Node", "Service", "Checks", "Meta", "env", "Tags", "Status", "Port", "Connect", "Native",
                         "TaggedAddresses", "lan", "a b", "x"]), inner, max_size=4),
    max_leaves=12)


class FuzzTests(SynchronousTestCase):
    @_settings
    @given(st.text(max_size=60))
    def test_any_text(self, expression):
        _compile(expression)

    @_settings
    @given(st.binary(max_size=40))
    def test_any_bytes(self, expression):
        _compile(expression)

    @_settings
    @given(st.lists(st.sampled_from(_TOKENS), max_size=14).map("".join))
    def test_token_soup(self, expression):
        _compile(expression)

    @_settings
    @given(st.lists(st.sampled_from(_TOKENS), max_size=14).map("".join), st.lists(_json, max_size=3))
    def test_evaluation_never_raises(self, expression, records):
        flt = _compile(expression)
        if flt is not None:
            for record in records:
                self.assertIn(flt.matches(record), (True, False))

    @_settings
    @given(st.text(max_size=30), _json)
    def test_regex_values(self, pattern, record):
        try:
            flt = compile_filter("ServiceName matches %s" % ("`" + pattern.replace("`", "") + "`"), SERVICE_NODE)
        except FilterError:
            return
        self.assertIn(flt.matches(record), (True, False))
        self.assertIn(flt.matches({"ServiceName": pattern}), (True, False))
