"""The linearizability checker on hand-made histories, and on long random
ones whose linearizability is known by construction."""

import itertools
import random

from twisted.trial.unittest import SynchronousTestCase

from tests.linearizability import CAS, FAIL, OK, READ, UNKNOWN, WRITE, Op, Undecided, check


def r(start, end, value, key="x", p="p1", status=OK):
    return Op(p, key, READ, start, end, status, value)


def w(start, end, value, key="x", p="p1", status=OK):
    return Op(p, key, WRITE, start, end, status, value)


def cas(start, end, expected, new, key="x", p="p1", status=OK):
    return Op(p, key, CAS, start, end, status, new, expected)


def lost(start, op):
    """``op`` made undecided: invoked at ``start``, never answered."""
    return Op(op.process, op.key, op.kind, start, None, UNKNOWN, op.value, op.expected)


def unanswered_write(start, value, key="x", p="p1"):
    return Op(p, key, WRITE, start, None, UNKNOWN, value)


def unanswered_cas(start, expected, new, key="x", p="p1"):
    return Op(p, key, CAS, start, None, UNKNOWN, new, expected)


class LinearizableHistoryTests(SynchronousTestCase):
    def assertLinearizable(self, history):
        verdict = check(history)
        self.assertTrue(verdict.linearizable, str(verdict))

    def test_nothing_is_linearizable(self):
        self.assertLinearizable([])

    def test_a_missing_key_reads_absent(self):
        self.assertLinearizable([r(0, 1, None), w(2, 3, "a"), r(4, 5, "a")])

    def test_sequential_writes_and_reads(self):
        self.assertLinearizable([w(0, 1, "a"), r(2, 3, "a"), w(4, 5, "b"), r(6, 7, "b"), r(8, 9, "b")])

    def test_reads_during_a_slow_write_see_it_take_effect_once(self):
        self.assertLinearizable(
            [w(0, 10, "a", p="p1"), r(1, 2, None, p="p2"), r(3, 4, "a", p="p3"), r(5, 6, "a", p="p2")]
        )

    def test_concurrent_writes_may_take_effect_in_either_order(self):
        both = [w(0, 5, "a", p="p1"), w(1, 6, "b", p="p2")]
        self.assertLinearizable(both + [r(7, 8, "a", p="p3")])
        self.assertLinearizable(both + [r(7, 8, "b", p="p3")])

    def test_a_read_overlapping_two_writes_may_see_either(self):
        self.assertLinearizable(
            [w(0, 1, "a"), w(2, 6, "b", p="p2"), w(3, 7, "c", p="p3"), r(4, 5, "a", p="p4"),
             r(8, 9, "b", p="p4")]
        )

    def test_a_cas_chain(self):
        self.assertLinearizable(
            [w(0, 1, "a"), cas(2, 3, "a", "b"), cas(4, 5, "a", "c", status=FAIL), r(6, 7, "b"),
             cas(8, 9, None, "d", status=FAIL)]
        )

    def test_create_if_absent(self):
        self.assertLinearizable([cas(0, 1, None, "a"), r(2, 3, "a"), cas(4, 5, None, "b", status=FAIL)])

    def test_concurrent_cas_one_wins(self):
        self.assertLinearizable(
            [w(0, 1, "a"), cas(2, 6, "a", "b", p="p1"), cas(3, 5, "a", "c", p="p2", status=FAIL),
             r(7, 8, "b")]
        )

    def test_operations_that_only_touch_count_as_concurrent(self):
        # A completion and an invocation at the same instant are not
        # ordered: the weaker claim, which can hide but never invent an
        # anomaly.
        self.assertLinearizable([w(0, 1, "a"), r(1, 2, None, p="p2")])

    def test_keys_are_independent(self):
        self.assertLinearizable(
            [w(0, 1, "a", key="x"), w(0, 1, "b", key="y"), r(2, 3, "a", key="x"),
             r(2, 3, "b", key="y")]
        )

    def test_failed_reads_are_dropped(self):
        self.assertLinearizable([w(0, 1, "a"), r(2, 3, "nonsense", status=UNKNOWN), r(4, 5, "a")])


class UndecidedOperationTests(SynchronousTestCase):
    def test_a_timed_out_write_that_happened(self):
        verdict = check([unanswered_write(0, "a"), r(5, 6, "a", p="p2")])
        self.assertTrue(verdict.linearizable, str(verdict))

    def test_a_timed_out_write_that_did_not_happen(self):
        verdict = check([unanswered_write(0, "a"), r(5, 6, None, p="p2"), r(7, 8, None, p="p2")])
        self.assertTrue(verdict.linearizable, str(verdict))

    def test_a_timed_out_write_may_take_effect_long_after(self):
        verdict = check(
            [w(0, 1, "a"), unanswered_write(2, "b", p="p2"), r(3, 4, "a"), r(50, 51, "a"),
             r(52, 53, "b")]
        )
        self.assertTrue(verdict.linearizable, str(verdict))

    def test_but_only_once(self):
        verdict = check(
            [w(0, 1, "a"), unanswered_write(2, "b", p="p2"), r(3, 4, "b"), w(5, 6, "c"),
             r(7, 8, "b")]
        )
        self.assertFalse(verdict.linearizable)

    def test_and_never_before_it_was_sent(self):
        verdict = check([r(0, 1, "a"), unanswered_write(2, "a", p="p2")])
        self.assertFalse(verdict.linearizable)

    def test_a_timed_out_cas_that_happened_or_not(self):
        base = [w(0, 1, "a"), unanswered_cas(2, "a", "b", p="p2")]
        self.assertTrue(check(base + [r(5, 6, "b")]).linearizable)
        self.assertTrue(check(base + [r(5, 6, "a")]).linearizable)

    def test_a_timed_out_cas_cannot_happen_unless_its_value_was_there(self):
        verdict = check([w(0, 1, "a"), unanswered_cas(2, "z", "b", p="p2"), r(5, 6, "b")])
        self.assertFalse(verdict.linearizable)

    def test_an_unseen_timed_out_write_explains_a_failed_cas(self):
        # Nothing but a write nobody read can have changed "a" before the
        # CAS looked.
        history = [w(0, 1, "a"), cas(5, 6, "a", "c", status=FAIL)]
        self.assertFalse(check(history).linearizable)
        self.assertTrue(check(history + [unanswered_write(2, "b", p="p2")]).linearizable)

    def test_one_unseen_write_explains_one_change_only(self):
        # Two failed CASes against two distinct values need two hidden
        # writes: one timed-out write is not enough.
        history = [
            w(0, 1, "a"), unanswered_write(2, "u1", p="p2"), cas(3, 4, "a", "c", status=FAIL),
            w(5, 6, "d"), cas(7, 8, "d", "e", status=FAIL),
        ]
        self.assertFalse(check(history).linearizable)
        self.assertTrue(check(history + [unanswered_write(2.5, "u2", p="p3")]).linearizable)

    def test_many_timed_out_writes_do_not_blow_up_the_search(self):
        # Forty writes nobody saw, then a stale read: without treating them
        # as interchangeable the search would visit 2**40 subsets of them.
        history = [w(0, 1, "a"), w(2, 3, "b")]
        history += [unanswered_write(4 + i, "lost-%d" % i, p="p%d" % i) for i in range(40)]
        history += [r(100, 101, "a", p="reader")]
        verdict = check(history, max_steps=10_000)
        self.assertFalse(verdict.linearizable)
        self.assertLess(verdict.steps, 100)

    def test_a_chain_of_unanswered_operations(self):
        # Neither was answered, yet the read shows both happened, in order.
        history = [w(0, 1, "z"), unanswered_write(2, "a", p="p2"), unanswered_cas(3, "a", "b", p="p3"),
                   r(10, 11, "b")]
        self.assertTrue(check(history).linearizable)
        self.assertFalse(check(history + [r(12, 13, "a")]).linearizable)


class AnomalyTests(SynchronousTestCase):
    def anomaly(self, history):
        verdict = check(history)
        self.assertFalse(verdict.linearizable)
        [anomaly] = verdict.anomalies
        return anomaly

    def test_stale_read(self):
        write_b, stale = w(2, 3, "b"), r(4, 5, "a", p="p2")
        anomaly = self.anomaly([w(0, 1, "a"), write_b, stale])
        # The evidence: "b" was written, then "a" came back; how "a" got
        # there before does not matter.
        self.assertEqual(anomaly.window, [write_b, stale])
        self.assertIs(anomaly.culprit, stale)
        self.assertTrue(anomaly.from_any_state)

    def test_lost_write(self):
        write, final = w(0, 1, "a"), r(5, 6, None, p="p2")
        anomaly = self.anomaly([write, final])
        self.assertEqual(anomaly.window, [write, final])
        self.assertFalse(anomaly.from_any_state)

    def test_lost_write_among_later_ones(self):
        # "b" was acknowledged after "a"; the final read shows "a".
        anomaly = self.anomaly([w(0, 1, "a"), w(2, 3, "b", p="p2"), r(4, 5, "a", p="p3")])
        self.assertEqual([op.value for op in anomaly.window], ["b", "a"])

    def test_value_nobody_wrote(self):
        read = r(10, 11, "ghost", p="p2")
        anomaly = self.anomaly([w(0, 1, "a"), r(2, 3, "a"), read])
        self.assertEqual(anomaly.window, [read])

    def test_non_monotonic_reads(self):
        # During a slow write of "b", one read sees "b", a later read "a".
        slow = w(2, 10, "b", p="p1")
        first, second = r(3, 4, "b", p="p2"), r(5, 6, "a", p="p3")
        anomaly = self.anomaly([w(0, 1, "a"), slow, first, second])
        self.assertEqual(anomaly.window, [slow, first, second])
        self.assertIs(anomaly.culprit, second)

    def test_cas_double_success(self):
        one, two = cas(2, 4, "a", "b", p="p1"), cas(2.5, 4.5, "a", "c", p="p2")
        anomaly = self.anomaly([w(0, 1, "a"), one, two])
        self.assertEqual(anomaly.window, [one, two])

    def test_failed_cas_on_an_unchanged_value(self):
        failed = cas(2, 3, "a", "b", status=FAIL)
        anomaly = self.anomaly([w(0, 1, "a"), failed, r(4, 5, "a", p="p2")])
        self.assertIn(failed, anomaly.window)

    def test_only_the_bad_key_is_reported(self):
        history = [w(0, 1, "a", key="good"), r(2, 3, "a", key="good"),
                   w(0, 1, "a", key="bad"), w(2, 3, "b", key="bad"), r(4, 5, "a", key="bad")]
        self.assertEqual([a.key for a in check(history).anomalies], ["bad"])

    def test_explanation_reads_well(self):
        history = [
            w(100.0, 100.5, "a", p="c1"),
            Op("c2", "x", WRITE, 101.0, 101.25, OK, "b", note="127.0.8.2"),
            r(102.0, 102.5, "a", p="c3"),
        ]
        text = str(check(history))
        self.assertEqual(
            text,
            "key 'x' is not linearizable: no order of the 2 operations below is consistent "
            "with one register holding, at the window's start, any value it could hold then.\n"
            "(times in seconds from the start of the history; '...' = no answer, so it may "
            "have taken effect at any time after its invocation)\n"
            "     invoked completed  client      operation\n"
            "      1.000     1.250  c2          write 'b': ok  [127.0.8.2]\n"
            "      2.000     2.500  c3          read -> 'a': ok   <- the history cannot get past this\n"
            "  where the values above were written, outside the window:\n"
            "      0.000     0.500  c1          write 'a': ok",
        )

    def test_a_cas_that_answered_false_but_took_effect(self):
        # The CAS's failure is explained by a concurrent write, but its
        # value shows up later: the window is the read, and the
        # explanation points at the CAS.
        failed = cas(2, 5, "a", "b", p="c4", status=FAIL)
        read = r(6, 7, "b", p="c6")
        anomaly = self.anomaly([w(0, 1, "a"), failed, w(3, 4, "c", p="c2"), read])
        self.assertEqual(anomaly.window, [read])
        self.assertEqual(anomaly.sources, [failed])
        self.assertIn("cas 'a' -> 'b': fail", str(anomaly))

    def test_the_cause_may_run_beside_the_window(self):
        # c5's CAS answered false but took effect; c2's CAS, against the
        # same value, then failed. The proof needs only c1 and c2; c5's
        # CAS is shown as running beside them.
        done, seen = cas(0, 1, None, "a", p="c1"), r(1.1, 1.2, "a", p="c2")
        hidden = cas(1.3, 9, "a", "b", p="c5", status=FAIL)
        failed = cas(1.4, 1.6, "a", "c", p="c2", status=FAIL)
        anomaly = self.anomaly([done, seen, hidden, failed, r(9.5, 9.6, "b", p="c3")])
        self.assertIs(anomaly.culprit, failed)
        self.assertNotIn(hidden, anomaly.window)
        self.assertIn(hidden, anomaly.concurrent)

    def test_explanation_mentions_unanswered_writes_before_the_window(self):
        history = [w(0, 1, "a"), unanswered_write(0.5, "lost", p="p9"), w(2, 3, "b"),
                   r(4, 5, "a", p="p2")]
        text = str(check(history))
        self.assertIn("1 earlier unanswered writes/CAS", text)
        self.assertIn("write 'lost'", text)


def simulated_history(seed, processes=8, operations=3000, keys=("k1", "k2", "k3"),
                      timeout_rate=0.02):
    """A history that is linearizable by construction: each operation takes
    effect at a random instant inside its interval, in a real register.
    Some writes and CASes go unanswered, having taken effect or not."""
    rng = random.Random(seed)
    planned = []  # (linearization instant or None, process, key, kind, invoked, completed, value)
    clock = {p: 0.0 for p in range(processes)}
    for n in range(operations):
        p = rng.randrange(processes)
        invoked = clock[p] + rng.uniform(0.0, 0.01)
        at = invoked + rng.uniform(0.0, 0.02)
        completed = at + rng.uniform(0.0, 0.02)
        kind = rng.choice((READ, READ, WRITE, CAS))
        key = rng.choice(keys)
        answered = kind == READ or rng.random() > timeout_rate
        if not answered:
            completed = None
            if rng.random() < 0.5:
                at = None  # it never took effect
        clock[p] = completed if completed is not None else invoked + 0.05
        planned.append((at, p, key, kind, invoked, completed, "v%d" % n))
    # Apply in linearization order; a CAS expects what its process last saw.
    register = {}
    last_seen = {}
    ops = []
    for at, p, key, kind, invoked, completed, value in sorted(
        planned, key=lambda e: (e[0] is None, e[0] or 0.0)
    ):
        status = OK if completed is not None else UNKNOWN
        if kind == READ:
            seen = register.get(key)
            last_seen[p, key] = seen
            ops.append(Op(p, key, READ, invoked, completed, status, seen))
        elif kind == WRITE:
            if at is not None:
                register[key] = value
            ops.append(Op(p, key, WRITE, invoked, completed, status, value))
        else:
            expected = last_seen.get((p, key))
            if at is not None and register.get(key) == expected:
                register[key] = value
            elif status == OK:
                status = FAIL
            ops.append(Op(p, key, CAS, invoked, completed, status, value, expected))
    ops.sort(key=lambda op: op.invoked)
    return ops


class LongHistoryTests(SynchronousTestCase):
    def test_thousands_of_operations_take_little_search(self):
        history = simulated_history(seed=7)
        self.assertEqual(len(history), 3000)
        self.assertGreater(sum(op.status == UNKNOWN for op in history), 20)
        verdict = check(history, max_steps=100_000)
        self.assertTrue(verdict.linearizable, str(verdict))
        # The work is close to one step per operation and concurrent
        # neighbour: a count, not a time, so no machine is too slow for it.
        self.assertLess(verdict.steps, 10 * len(history))

    def test_an_anomaly_deep_in_a_long_history_is_found_and_narrowed(self):
        history = simulated_history(seed=11)
        # Make one late read return a value that had been overwritten.
        reads = [i for i, op in enumerate(history) if op.kind == READ and op.key == "k2"]
        writes = [op for op in history if op.kind == WRITE and op.key == "k2" and op.status == OK]
        target = reads[-50]
        bad = history[target]
        old = next(op for op in writes if op.completed < bad.invoked - 1.0)
        history[target] = Op(bad.process, bad.key, READ, bad.invoked, bad.completed, OK, old.value)
        verdict = check(history, max_steps=1_000_000)
        [anomaly] = verdict.anomalies
        self.assertEqual(anomaly.key, "k2")
        self.assertIs(anomaly.culprit, history[target])
        self.assertLess(len(anomaly.window), 10)

    def test_an_anomaly_among_hundreds_of_unanswered_operations(self):
        # Almost a third of the writes and CASes time out: proving that no
        # order exists must not explore every subset of them.
        history = simulated_history(seed=2, operations=2000, timeout_rate=0.3)
        self.assertGreater(sum(op.status == UNKNOWN for op in history), 250)
        reads = [i for i, op in enumerate(history) if op.kind == READ and op.key == "k1"]
        bad = history[reads[-20]]
        old = next(op for op in history if op.kind == WRITE and op.key == "k1" and op.status == OK
                   and op.completed < bad.invoked - 1.0)
        history[reads[-20]] = Op(bad.process, bad.key, READ, bad.invoked, bad.completed, OK, old.value)
        verdict = check(history, max_steps=1_000_000)
        [anomaly] = verdict.anomalies
        self.assertIs(anomaly.culprit, history[reads[-20]])
        self.assertLess(verdict.steps, 200_000)
        self.assertLess(len(anomaly.window), 10)

    def test_a_budget_that_runs_out_is_no_verdict(self):
        history = simulated_history(seed=3, operations=500)
        self.assertRaises(Undecided, check, history, max_steps=10)


def exhaustively_linearizable(history):
    """The definition, by brute force: some subset of the unanswered writes
    and CASes, together with every answered operation, has an order that
    respects real time and that a register starting absent accepts."""
    reads = [op for op in history if op.kind == READ and op.status == OK]
    others = [op for op in history if op.kind != READ and not (op.kind == WRITE and op.status == FAIL)]
    answered = reads + [op for op in others if op.status != UNKNOWN]
    unanswered = [op for op in others if op.status == UNKNOWN]
    for count in range(len(unanswered) + 1):
        for chosen in itertools.combinations(unanswered, count):
            for order in itertools.permutations(answered + list(chosen)):
                if respects_real_time(order) and register_accepts(order):
                    return True
    return False


def respects_real_time(order):
    for k, later in enumerate(order):
        for earlier in order[k + 1:]:
            if earlier.completed is not None and earlier.completed < later.invoked:
                return False
    return True


def register_accepts(order):
    state = None
    for op in order:
        if op.kind == READ:
            if op.value != state:
                return False
        elif op.kind == WRITE:
            state = op.value
        elif op.status == FAIL:
            if op.expected == state:
                return False
        elif op.expected == state:
            state = op.value
        else:
            return False
    return True


def small_random_history(rng, size=6, unanswered=0.2, unseen=0.0):
    """Up to ``size`` operations on few values, reused: collisions exercise
    the search hardest. ``unseen``: how often a write or CAS puts a value of
    its own, which no read can return -- what the reductions for unanswered
    operations are about."""
    values = [None, "a", "b", "c"]
    history = []
    for n in range(rng.randint(1, size)):
        start = rng.uniform(0, 10)
        end = start + rng.uniform(0, 4)
        kind = rng.choice((READ, WRITE, CAS))
        if kind == READ:
            status = UNKNOWN if rng.random() < unanswered / 2 else OK
        elif rng.random() < unanswered:
            status = UNKNOWN
        else:
            status = OK if kind == WRITE or rng.random() < 0.7 else FAIL
        if status == UNKNOWN:
            end = None
        if kind == READ:
            value = rng.choice(values)
        elif rng.random() < unseen:
            value = "unseen-%d" % n
        else:
            value = rng.choice(values[1:])
        history.append(Op("p%d" % n, "x", kind, start, end, status, value, rng.choice(values)))
    return history


class ExhaustiveAgreementTests(SynchronousTestCase):
    def agree(self, seed, count, **shape):
        rng = random.Random(seed)
        verdicts = {True: 0, False: 0}
        for _ in range(count):
            history = small_random_history(rng, **shape)
            expected = exhaustively_linearizable(history)
            verdict = check(history)
            self.assertEqual(verdict.linearizable, expected, "\n".join(map(repr, history)))
            if not expected:
                [anomaly] = verdict.anomalies
                self.assertIn(anomaly.culprit, history)
                self.assertIn(anomaly.culprit, anomaly.window)
            verdicts[expected] += 1
        # Both outcomes well represented, or the comparison proves little.
        self.assertGreater(min(verdicts.values()), count // 6, verdicts)

    def test_agrees_with_brute_force_on_small_random_histories(self):
        self.agree(2024, 3000)

    def test_agrees_with_brute_force_when_many_operations_go_unanswered(self):
        # Unanswered writes and CASes of values nobody reads, among failed
        # CASes that only they can explain.
        self.agree(77, 600, size=7, unanswered=0.5, unseen=0.5)
