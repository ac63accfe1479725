"""A linearizability checker for a map of registers: read, write and
compare-and-set on independent keys.

A history is a list of `Op`: what a client asked, when it asked
(``invoked``), when it got the answer (``completed``) and what the answer
was. The history is linearizable if every operation can be given a single
instant between its invocation and its completion such that, taken in the
order of those instants, the operations behave as on one register per key
that starts absent (``None``).

How the search works
--------------------

* Per key. Linearizability is local (Herlihy and Wing): a history is
  linearizable iff each key's sub-history is, so each key is searched on
  its own, which keeps every search small.

* Wing and Gong's search, as Lowe made it fast. The key's invocations and
  completions form one time-ordered list. Walking it from the front, any
  operation whose invocation comes before the first completion still in
  the list may be linearized next; if the register allows it, it is removed
  from the list and the walk starts over. Reaching a completion means that
  operation should have been linearized already: undo the last choice and
  try the next candidate. Lowe's addition is a memo of the (set of
  linearized operations, register state) pairs already explored: reaching
  one again cannot lead anywhere new, which turns the exponential search
  into one that is fast on the histories real systems produce.

* Operations that never completed. A write or CAS that timed out or failed
  with an error may or may not have taken effect, at any time after its
  invocation -- even after every other operation. Such an operation stays
  a candidate until the end and the search may use it or not; the search
  succeeds once every *completed* operation is linearized. A read that did
  not complete says nothing and is dropped.

* Reductions that keep undecided operations from multiplying the search
  (each is exact, not a heuristic; the unit tests compare the checker with
  brute force on thousands of small histories full of them):

  - A written value that no read ever returned and no CAS ever expected
    can only be told apart from other such values by equality with them,
    and is never equal to one: all of them are replaced by one token
    (`UNSEEN`). Register states then coincide, so the memo hits more.
  - Undecided operations with the same effect (say, two timed-out writes
    of values nobody saw) are interchangeable, except that the earlier
    invoked one is available wherever the later one is. So the search only
    ever uses the earliest still-unused one of such a group. Without this,
    k timed-out writes would give 2**k memo entries; with it, k + 1.
  - An undecided operation has no deadline, so in any linearization it can
    be moved later, past whatever follows it, or dropped when a write
    follows -- unless what follows needs it: an operation that expects the
    value it leaves, or a failed CAS that needs the value it replaced to be
    gone. So the search only places one where a current candidate needs it.
  - The memo keeps, for each (required operations linearized, state), the
    sets of undecided operations used to get there, and skips a
    configuration whose set contains one of those: having used fewer
    undecided operations only leaves more choices. Without this, each
    timed-out CAS used or not would double the configurations.

The search tries required operations before undecided ones at each step:
the answer does not depend on the order, but an undecided operation can
always wait, so a yes tends to come sooner.

When a key's history is not linearizable, `explain` looks for a small
piece of evidence: the earliest completion by which the history had
already gone wrong (every prefix up to then is fine), then the latest start
of a window of operations that cannot be linearized *from any value the
register could have had at that start*. Those few operations, with their
times, are the anomaly.
"""

from dataclasses import dataclass

OK = "ok"  # the operation completed as reported
FAIL = "fail"  # it definitely did not take effect (a CAS answered false)
UNKNOWN = "unknown"  # no answer: it may or may not have taken effect

READ, WRITE, CAS = "read", "write", "cas"


class _Unseen:
    def __repr__(self):
        return "<a value no read returned>"


UNSEEN = _Unseen()


@dataclass(frozen=True, eq=False)
class Op:
    """One client operation on one key.

    ``value``: for a read, the value it returned (``None``: the key was
    absent); for a write, the value written; for a CAS, the new value.
    ``expected``: for a CAS, the value it required the key to hold.
    ``completed`` is None when no answer came (``status`` UNKNOWN).
    ``note`` is free text for explanations (server, error).
    """

    process: object
    key: object
    kind: str
    invoked: float
    completed: float
    status: str
    value: object = None
    expected: object = None
    note: str = ""

    def describe(self):
        if self.kind == READ:
            return "read -> %s" % _show(self.value)
        if self.kind == WRITE:
            return "write %s" % _show(self.value)
        return "cas %s -> %s" % (_show(self.expected), _show(self.value))


def _show(value):
    return "(absent)" if value is None else repr(value)


class Undecided(Exception):
    """The search used up its step budget before reaching a verdict."""


# -- the model: one register ----------------------------------------------------
#
# Each operation becomes an effect (code, a, b) on the register's state:
_CHECK = 0  # a read that returned a: possible iff state == a; state unchanged
_SET = 1  # a write of a: always possible; state becomes a
_SWAP = 2  # a successful CAS a -> b: possible iff state == a; state becomes b
_MISMATCH = 3  # a failed CAS expecting a: possible iff state != a; unchanged
# Only in explanations' windows, for an operation that began before the
# window and ended inside it: it took effect before the window (so the
# state at the start already shows it) or inside the window, in time.
_MAYBE_SET = 4  # a write of a, or nothing
_MAYBE_SWAP = 5  # a CAS a -> b, or nothing


def _effect(op):
    """(code, a, b, required) for an op in a history, or None to drop it."""
    if op.status not in (OK, FAIL, UNKNOWN):
        raise ValueError("unknown status %r" % (op.status,))
    if op.status != UNKNOWN and op.completed is None:
        raise ValueError("an answered operation needs its completion time: %r" % (op,))
    if op.kind == READ:
        return (_CHECK, op.value, None, True) if op.status == OK else None
    if op.kind == WRITE:
        if op.status == FAIL:
            return None
        return (_SET, op.value, None, op.status == OK)
    if op.kind == CAS:
        if op.status == FAIL:
            return (_MISMATCH, op.expected, None, True)
        return (_SWAP, op.expected, op.value, op.status == OK)
    raise ValueError("unknown operation kind %r" % (op.kind,))


class _Search:
    """One key's operations, ready for the search.

    ``entries`` is a list of (op, (code, a, b), required). Required ones
    must be linearized within their interval; the others may be linearized
    at any time after their invocation, or not at all.
    """

    def __init__(self, entries):
        self.ops = [op for op, _, _ in entries]
        observed = set()
        for _, (code, a, _b), _ in entries:
            if code not in (_SET, _MAYBE_SET):
                observed.add(a)  # reads and CAS compare with these
        self.observed = observed
        canon = self.canon
        self.effects = [(code, canon(a), canon(b)) for _, (code, a, b), _ in entries]
        self.required = [required for _, _, required in entries]

        # Undecided operations with one effect form a group, used in
        # invocation order (see the module docstring).
        n = len(entries)
        self.group = [-1] * n
        self.group_pos = [0] * n
        groups = {}
        sizes = []
        for i in sorted(range(n), key=lambda i: (self.ops[i].invoked, i)):
            if not self.required[i]:
                g = groups.setdefault(self.effects[i], len(groups))
                if g == len(sizes):
                    sizes.append(0)
                self.group[i] = g
                self.group_pos[i] = sizes[g]
                sizes[g] += 1
        self.n_groups = len(groups)
        # Required and undecided operations are numbered apart: a bit of
        # one set or the other (see the memo in linearizable).
        self.bit = [0] * n
        counts = [0, 0]
        for i in range(n):
            self.bit[i] = 1 << counts[self.required[i]]
            counts[self.required[i]] += 1

        # The event list: (time, kind, op) with calls before returns at
        # equal times, so operations that merely touch count as concurrent
        # (the weaker claim: it can only hide an anomaly, never invent one).
        events = []
        for i, op in enumerate(self.ops):
            events.append((op.invoked, 0, i))
            if self.required[i]:
                events.append((op.completed, 1, i))
        events.sort()
        # Node 0 is the head; nodes 1..m the events; -1 ends the list.
        self.is_call = [False] + [kind == 0 for _, kind, _ in events]
        self.event_op = [-1] + [i for _, _, i in events]
        self.call_node = [0] * n
        self.return_node = [0] * n
        for node, (_, kind, i) in enumerate(events, 1):
            if kind == 0:
                self.call_node[i] = node
            else:
                self.return_node[i] = node

    def _wanted(self, nxt):
        """The values the current candidates expect to find (reads, CASes),
        and those failed CASes need to be gone, walking the candidates from
        the head of the list to the first completion."""
        expect, mismatch = set(), set()
        node = nxt[0]
        while node != -1 and self.is_call[node]:
            code, a, _ = self.effects[self.event_op[node]]
            if code == _MISMATCH:
                mismatch.add(a)
            elif code != _SET and code != _MAYBE_SET:
                expect.add(a)
            node = nxt[node]
        return expect, mismatch

    def canon(self, value):
        return value if value in self.observed else UNSEEN

    def linearizable(self, initial=None, max_steps=None, memo=None):
        """(True or False, steps taken) from the given register state.

        ``memo`` may be shared between searches of this object from
        different states, after failures only: a configuration that failed
        fails whatever state the search started from.
        """
        m = len(self.event_op) - 1
        nxt = list(range(1, m + 1)) + [-1]
        prv = [-1] + list(range(0, m))
        is_call, event_op = self.is_call, self.event_op
        effects, required = self.effects, self.required
        group, group_pos = self.group, self.group_pos
        call_node, return_node = self.call_node, self.return_node
        group_next = [0] * self.n_groups
        bit = self.bit

        def lift(i):
            for node in (call_node[i], return_node[i]):
                if node:
                    nxt[prv[node]] = nxt[node]
                    if nxt[node] != -1:
                        prv[nxt[node]] = prv[node]

        def unlift(i):
            # Dancing links: undo in the reverse order of lift.
            for node in (return_node[i], call_node[i]):
                if node:
                    nxt[prv[node]] = node
                    if nxt[node] != -1:
                        prv[nxt[node]] = node

        state = self.canon(initial)
        linearized = 0  # a bit per required operation linearized
        used = 0  # a bit per undecided operation linearized
        remaining = sum(required)
        stack = []  # (call node, state before, alternative, pass) of each choice
        # The memo, Lowe's with one refinement: (required operations
        # linearized, state) -> the sets of undecided operations used to
        # get there. With the same required operations done and the same
        # state, having used a subset of the undecided ones leaves every
        # choice the superset leaves, and more. So a configuration whose
        # undecided set includes one already reached cannot succeed where
        # that one did not, and is not explored.
        seen = {} if memo is None else memo
        steps = 0
        # Candidates are the calls before the first completion in the list.
        # They are tried in two passes: first the required operations, then
        # the undecided ones. The order changes nothing about what is
        # explored when the answer is no, but an undecided operation can
        # always wait, so trying it last finds a yes much sooner.
        node, alternative, second = nxt[0], 0, False
        wanted = None  # what the current candidates expect; see _wanted
        while remaining:
            i = event_op[node]
            if not is_call[node]:
                if not second:
                    node, second = nxt[0], True
                    continue
                # The completion of an operation not yet linearized: it
                # should have taken effect by now. Undo the last choice and
                # try its next alternative.
                if not stack:
                    return False, steps
                node, state, alternative, second = stack.pop()
                i = event_op[node]
                if required[i]:
                    linearized &= ~bit[i]
                    remaining += 1
                else:
                    used &= ~bit[i]
                    group_next[group[i]] -= 1
                unlift(i)
                alternative += 1
                wanted = None
                continue
            if required[i] == second or (second and group_pos[i] != group_next[group[i]]):
                node = nxt[node]
                continue
            steps += 1
            if max_steps is not None and steps > max_steps:
                raise Undecided("gave up after %d steps" % max_steps)
            code, a, b = effects[i]
            if not required[i]:
                # An undecided operation, which has no deadline, is only
                # worth placing right before one that needs it: one that
                # expects the value it leaves, or a failed CAS that needs
                # the value it replaces gone. Anywhere else it can move
                # later (or be dropped, if a write follows) without changing
                # what any operation saw.
                leaves = a if code == _SET else (b if state == a else None)
                if leaves is None or leaves == state:
                    node = nxt[node]
                    continue
                if wanted is None:
                    wanted = self._wanted(nxt)
                if leaves not in wanted[0] and state not in wanted[1]:
                    node = nxt[node]
                    continue
            if code == _CHECK:
                afters = (state,) if state == a else ()
            elif code == _SET:
                afters = (a,)
            elif code == _SWAP:
                afters = (b,) if state == a else ()
            elif code == _MISMATCH:
                afters = (state,) if state != a else ()
            elif code == _MAYBE_SET:
                afters = (a, state)
            else:
                afters = (b, state) if state == a else (state,)
            if required[i]:
                new_linearized, new_used = linearized | bit[i], used
            else:
                new_linearized, new_used = linearized, used | bit[i]
            while alternative < len(afters):
                after = afters[alternative]
                reached = seen.get((new_linearized, after))
                if reached is None:
                    seen[new_linearized, after] = [new_used]
                    break
                if not any(earlier & ~new_used == 0 for earlier in reached):
                    reached.append(new_used)
                    break
                alternative += 1
            else:
                node, alternative = nxt[node], 0
                continue
            stack.append((node, state, alternative, second))
            state, linearized, used = after, new_linearized, new_used
            if required[i]:
                remaining -= 1
            else:
                group_next[group[i]] += 1
            lift(i)
            node, alternative, second = nxt[0], 0, False
            wanted = None
        return True, steps


def _entries(ops):
    entries = []
    for op in ops:
        effect = _effect(op)
        if effect is not None:
            code, a, b, required = effect
            entries.append((op, (code, a, b), required))
    return entries


@dataclass
class Anomaly:
    """A key whose history is not linearizable, and the evidence."""

    key: object
    window: list  # the operations no order can explain, by invocation
    culprit: Op  # the operation whose completion the history could not reach
    from_any_state: bool  # False: from the start, with the key absent
    earlier_undecided: list  # undecided operations invoked before the window
    origin: float
    # Not part of the proof, but where a reader looks for the cause:
    sources: list = ()  # writes/CASes outside the window of values it shows
    concurrent: list = ()  # answered operations running during the window

    def __str__(self):
        lines = [
            "key %r is not linearizable: no order of the %d operations below is "
            "consistent with one register%s."
            % (
                self.key,
                len(self.window),
                " holding, at the window's start, any value it could hold then"
                if self.from_any_state
                else " that starts absent",
            ),
            "(times in seconds from the start of the history; '...' = no answer, "
            "so it may have taken effect at any time after its invocation)",
            "     invoked completed  client      operation",
        ]
        lines += [self._row(op) for op in self.window]
        if self.earlier_undecided:
            lines.append(
                "  and %d earlier unanswered writes/CAS, which could have taken effect "
                "inside the window and do not explain it either:" % len(self.earlier_undecided)
            )
            lines += [self._row(op) for op in self.earlier_undecided[:5]]
            if len(self.earlier_undecided) > 5:
                lines.append("  ...")
        if self.sources:
            lines.append("  where the values above were written, outside the window:")
            lines += [self._row(op) for op in self.sources]
        if self.concurrent:
            lines.append("  also running then, but not needed to show the anomaly:")
            lines += [self._row(op) for op in self.concurrent]
        return "\n".join(lines)

    def _row(self, op):
        t = lambda x: "%9.3f" % (x - self.origin)
        done = t(op.completed) if op.completed is not None else "      ..."
        mark = "   <- the history cannot get past this" if op is self.culprit else ""
        note = "  [%s]" % op.note if op.note else ""
        return "  %s %s  %-10s  %s: %s%s%s" % (
            t(op.invoked), done, op.process, op.describe(), op.status, note, mark)


@dataclass
class Verdict:
    anomalies: list  # of Anomaly, one per key that is not linearizable
    keys: int
    operations: int
    steps: int  # candidate linearizations tried: the work done

    @property
    def linearizable(self):
        return not self.anomalies

    def __str__(self):
        if self.linearizable:
            return "linearizable: %d operations on %d keys (%d steps)" % (
                self.operations,
                self.keys,
                self.steps,
            )
        return "\n\n".join(str(a) for a in self.anomalies)


def check(ops, max_steps=None, origin=None):
    """Check a history; a `Verdict` with an `Anomaly` per failing key.

    ``max_steps`` bounds each search; past it `Undecided` is raised, so a
    history that is too hard to decide is never taken as linearizable.
    ``origin`` is the time explanations count from (default: the first
    invocation).
    """
    by_key = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    if origin is None:
        origin = min((op.invoked for op in ops), default=0.0)
    anomalies = []
    steps = 0
    for key in sorted(by_key, key=repr):
        ok, taken = _Search(_entries(by_key[key])).linearizable(None, max_steps)
        steps += taken
        if not ok:
            anomalies.append(explain(key, by_key[key], origin, max_steps))
    return Verdict(anomalies, len(by_key), len(ops), steps)


# -- explanations ------------------------------------------------------------------


def _window(ops, start, end):
    """The operations as they bear on the time window [start, end].

    Operations invoked after ``end`` are dropped: they come after everything
    in the window. A write or CAS still running at ``end`` may have taken
    effect by then or not: it becomes undecided. One that began before
    ``start`` and ended inside the window took effect either before the
    window (the register's value at ``start`` then shows it) or inside it,
    by its completion: it becomes a "maybe" effect that keeps its deadline.
    Reads and failed CASes that straddle either edge only looked, perhaps
    outside the window: they are dropped. Operations over before ``start``
    are summed up by the register's value at ``start``.

    Each of these steps only removes constraints, so a window that cannot
    be linearized proves the whole history cannot; and a window that
    starts earlier or ends later only adds constraints, which is what lets
    `explain` bisect.
    """
    entries = []
    for op in ops:
        effect = _effect(op)
        if effect is None or op.invoked > end:
            continue
        code, a, b, required = effect
        if required:
            if op.completed < start:
                continue
            if code in (_CHECK, _MISMATCH) and (op.completed > end or op.invoked < start):
                continue
            if op.completed > end:
                required = False
            elif op.invoked < start:
                code = _MAYBE_SET if code == _SET else _MAYBE_SWAP
        entries.append((op, (code, a, b), required))
    return entries


def _fails_from_every_state(ops, start, end, max_steps):
    """Whether the window [start, end] is shown to fail from every value the
    key could hold at ``start``: absent, or a value written by an operation
    invoked before it. (Only these: a value nobody wrote can no more be
    there at the start of a window than be read later.) A search that runs
    out of steps shows nothing."""
    search = _Search(_window(ops, start, end))
    possible = {None}
    for op in ops:
        if op.invoked < start and op.kind in (WRITE, CAS) and op.status != FAIL:
            possible.add(op.value)
    memo = {}
    try:
        # A value matters only through equality with the values the
        # window's reads and CASes compare against; others act as UNSEEN.
        for initial in {search.canon(value) for value in possible}:
            if search.linearizable(initial, max_steps, memo)[0]:
                return False
    except Undecided:
        return False
    return True


def explain(key, ops, origin=0.0, max_steps=None):
    """Evidence that ``ops`` (one key's history, found not linearizable)
    is not: the smallest time window that already cannot be linearized.

    Searches that run out of ``max_steps`` count as not failing, so the
    window may then be larger than the smallest, but it is always one
    shown to fail.
    """
    ops = sorted(ops, key=lambda op: (op.invoked, op.completed is None, op.completed or 0))
    decided = [op for op in ops if op.status != UNKNOWN and not (op.kind == READ and op.status != OK)]
    ends = sorted({op.completed for op in decided})

    # The earliest completion by which the history has gone wrong. Prefixes
    # of a linearizable history are linearizable, so this is a bisection.
    # (The whole history, the last prefix, is known to fail.)
    def prefix_fails(k):
        try:
            return not _Search(_window(ops, float("-inf"), ends[k])).linearizable(None, max_steps)[0]
        except Undecided:
            return False

    end = ends[min(_first_true(len(ends) - 1, prefix_fails), len(ends) - 1)]
    culprit = next(op for op in reversed(decided) if op.completed == end)

    # The latest start from which the window [start, end] fails. A window
    # that starts earlier only adds constraints, so this is a bisection too;
    # the earliest start (nothing written before it) is the whole prefix,
    # which fails.
    starts = sorted({op.invoked for op in ops if op.invoked <= end})
    k = _first_true(len(starts) - 1, lambda k: _fails_from_every_state(ops, starts[-1 - k], end, max_steps))
    start = starts[-1 - k]
    entries = _window(ops, start, end)
    window = [op for op, _, _ in entries if op.invoked >= start or op.completed is not None]
    earlier = [op for op, _, _ in entries if op.invoked < start and op.completed is None]
    shown = {op.value for op in window if op.kind == READ} | {op.expected for op in window if op.kind == CAS}
    listed = set(map(id, window + earlier))
    sources = [op for op in ops if op.kind != READ and op.value in shown and id(op) not in listed]
    listed.update(map(id, sources))
    concurrent = [
        op for op in ops
        if id(op) not in listed and op.completed is not None and op.invoked <= end and op.completed >= start
        and not (op.kind == READ and op.status != OK)
    ]
    return Anomaly(key, window, culprit, start > starts[0], earlier, origin, sources, concurrent)


def _first_true(n, predicate):
    """The least k in [0, n) with predicate(k), for a predicate that is
    false then true; n if it is never true."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if predicate(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
