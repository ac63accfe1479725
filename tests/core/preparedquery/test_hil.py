"""HIL as prepared query templates use it: interpolation, escapes, the
expression language and its implicit conversions, and HIL's messages for
what it refuses."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.preparedquery import hil

VARIABLES = {"name.full": "geo-db-mysql", "name.prefix": "geo-db-", "name.suffix": "mysql", "agent.segment": ""}
GROUPS = ["geo-db-mysql", "mysql"]
FUNCTIONS = {"match": hil.Function([hil.T_INT], hil.T_STRING,
                                   lambda args: GROUPS[args[0]] if 0 <= args[0] < len(GROUPS) else "")}


def render(text):
    return hil.evaluate(hil.parse(text), VARIABLES, FUNCTIONS)


def refusal(text):
    try:
        render(text)
    except hil.HILError as error:
        return str(error)
    raise AssertionError("%r rendered" % text)


class InterpolationTests(SynchronousTestCase):
    def test_plain_text_is_itself(self):
        for text in ("", "redis", "a}b", "$", "a$b", "{x}"):
            self.assertEqual(render(text), text)
            self.assertTrue(hil.is_literal(hil.parse(text)))

    def test_variables(self):
        self.assertEqual(render("${name.full}"), "geo-db-mysql")
        self.assertEqual(render("x-${name.prefix}-${name.suffix}-y"), "x-geo-db--mysql-y")
        self.assertEqual(render("[${agent.segment}]"), "[]")
        self.assertEqual(render("${ name.full }"), "geo-db-mysql")

    def test_double_dollar_escapes_an_interpolation(self):
        self.assertEqual(render("$${name.full}"), "${name.full}")
        self.assertEqual(render("$$${name.suffix}"), "$mysql")

    def test_function_calls(self):
        self.assertEqual(render("${match(1)}"), "mysql")
        self.assertEqual(render("${match(0)}"), "geo-db-mysql")
        self.assertEqual(render("${match(7)}-${match(-1)}"), "-")

    def test_implicit_conversions(self):
        self.assertEqual(render('${match("1")}'), "mysql")  # string to int
        self.assertEqual(render("${1.5}"), "1.5")  # float to string
        self.assertEqual(render("${true}"), "true")
        self.assertEqual(render('${"2" + 3}'), "5")

    def test_quoted_strings_nest(self):
        self.assertEqual(render('${"a-${name.suffix}-b"}'), "a-mysql-b")
        self.assertEqual(render(r'${"q\"uote\\d\nnl"}'), 'q"uote\\d\nnl')

    def test_arithmetic_as_go_ints(self):
        self.assertEqual(render("${1 + 2 * 3}"), "7")
        self.assertEqual(render("${(1 + 2) * 3}"), "9")
        self.assertEqual(render("${-7 / 2}"), "-3")
        self.assertEqual(render("${-7 % 2}"), "-1")
        self.assertEqual(render("${7 / 2.0}"), "3.5")
        self.assertEqual(render("${9223372036854775807 + 1}"), "-9223372036854775808")

    def test_comparisons_logic_and_conditionals(self):
        self.assertEqual(render('${name.suffix == "mysql" ? "db" : "other"}'), "db")
        self.assertEqual(render("${1 < 2 && !false}"), "true")
        self.assertEqual(render("${2 >= 3 || 1 != 1}"), "false")
        self.assertEqual(render('${true ? "2" : 1}'), "2")  # a string branch takes the other's type


class RefusalTests(SynchronousTestCase):
    def test_parse_errors_say_where(self):
        self.assertEqual(refusal("${"), "parse error at 1:3: expected expression but found end of string")
        self.assertEqual(refusal("${name.full"), 'parse error at 1:12: expected "}" but found end of string')
        self.assertEqual(refusal("${a = b}"), 'parse error at 1:5: expected "}" but found invalid sequence "="')
        self.assertEqual(refusal('${"open}'), 'parse error at 1:4: expected "${" but found invalid sequence "open}"')
        self.assertEqual(refusal(r'${"\q"}'), "parse error at 1:4: invalid backslash escape sequence")
        self.assertEqual(refusal("${match(1}"), 'parse error at 1:10: expected ")" but found "}"')

    def test_unknown_names(self):
        self.assertEqual(refusal("${nope}"), "1:3: unknown variable accessed: nope")
        self.assertEqual(refusal("x${fn(1)}"), "1:4: unknown function called: fn")
        self.assertEqual(refusal("${match()}"), "1:3: match: expected 1 arguments, got 0")

    def test_type_and_evaluation_errors(self):
        self.assertEqual(refusal("${1 / 0}"), "__builtin_IntMath: divide by zero")
        self.assertEqual(refusal('${match("x")}'),
                         '__builtin_StringToInt: strconv.ParseInt: parsing "x": invalid syntax')
        self.assertEqual(refusal('${true ? 1 : "x"}'),
                         '__builtin_StringToInt: strconv.ParseInt: parsing "x": invalid syntax')
        self.assertEqual(refusal("${1.5 % 2}"), "At column 3, line 1: modulo cannot be used with floats")
        self.assertEqual(refusal("${name.full[0]}"),
                         "At column 12, line 1: invalid index operation into non-indexable type: TypeString")

    def test_deep_nesting_is_refused_not_a_crash(self):
        text = "${" + "(" * 5000 + "1" + ")" * 5000 + "}"
        self.assertIn("nested too deeply", refusal(text))

    def test_garbage_never_escapes_as_another_exception(self):
        for text in ("${}", "${)", "${1 +}", "${?}", "${\x00}", "${\"${\"}", "${1..2}", "${&}", "${|}",
                     "${true ? 1}", "${[}", "${ 99999999999999999999 }", "\ud800${x}"):
            try:
                render(text)
            except hil.HILError:
                pass
