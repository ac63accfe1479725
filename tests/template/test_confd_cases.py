"""The template engine against test vectors recorded from the real confd.

``tests/data/confd-templates/cases.json`` holds 197 templates with the data
they ran on and what confd produced: the output, or the error it logged. Each case becomes its own test method so a failure
names the case.
"""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import TemplateError, World, render, store_from_kv
from pyconsul.template.dns import StaticResolver
from tests.vectors import DATA

CASES_PATH = os.path.join(DATA, "confd-templates", "cases.json")


def load_cases():
    """The recorded cases; an empty list if the file is missing (see below)."""
    try:
        with open(CASES_PATH, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return []


CASES = load_cases()


def case_world(case):
    # confd ran with only PATH, TZ=UTC and LANG=C plus the case's variables.
    return World(
        environ=dict(case.get("env", {})),
        resolver=StaticResolver(),
        clock=lambda: 0,
        time_zone=lambda seconds: (0, "UTC"),
        monotonic=lambda: 1,
        file_exists=lambda path: False,
    )


def render_case(case):
    """(output, error message) of the case's template run through the engine."""
    store = store_from_kv(case["data"], case.get("prefix", "/"), case.get("keys", ["/"]))
    try:
        return render(case["template"], store, name="case.tmpl", world=case_world(case)), None
    except TemplateError as e:
        return None, str(e)


class CaseFileTests(SynchronousTestCase):
    def test_cases_file_present(self):
        """The vectors must be there: a missing file fails, it does not skip."""
        self.assertTrue(os.path.exists(CASES_PATH), f"missing {CASES_PATH}")
        self.assertEqual(len(CASES), 197)
        self.assertEqual(sum(1 for c in CASES if "error" in c), 60)


class RecordedCaseTests(SynchronousTestCase):
    """One test per recorded case (methods are added below)."""


def _make_test(case):
    def test(self):
        output, error = render_case(case)
        if "output" in case:
            self.assertIsNone(error, f"unexpected error: {error}")
            self.assertEqual(output, case["output"])
        else:
            self.assertIsNotNone(error, f"expected an error, rendered {output!r}")
            self.assertIn(case["error"], error)

    test.__doc__ = f"confd case {case['name']}"
    return test


def _method_name(name):
    return "test_" + "".join(c if c.isalnum() else "_" for c in name)


for _case in CASES:
    setattr(RecordedCaseTests, _method_name(_case["name"]), _make_test(_case))
