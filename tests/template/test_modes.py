"""The watch, interval and one-time modes, with real files, a fake clock and
an in-memory KV API (commands are recorded, not run)."""

import os

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pyconsul.template import CommandResult, Processor, load_resource, load_resources
from pyconsul.template.modes import IntervalMode, SyncReport, SyncRunner, WatchMode, run_once
from pyconsul.template.watch import DEFAULT_WAIT, Backoff
from tests.template.fakekv import FakeKV
from tests.template.test_quiescence import Turns
from tests.template.test_resource import WORLD, ConfDir, RecordingRunner, read
from tests.template.test_watch import Events, run_until

NGINX = 'proxy_pass http://www.{{getv "/nginx/http/server/proxy"}};\n'
CHECK_FAILS = CommandResult(b"nginx: bad config\n", "exit status 1")
UPSTREAM = "upstream app {\n{{range gets \"/nginx/upstream/*\"}}    server {{.Value}};\n{{end}}}\n"


def in_this_thread(function, *args):
    return maybeDeferred(function, *args)


class ModeTestCase(SynchronousTestCase):
    quiescence = None  # -wait's (min, max) for the watch mode

    def setUp(self):
        self.clock = Clock()
        self.turns = Turns()
        self.kv = FakeKV(self.clock)
        self.dir = ConfDir(self)
        self.commands = RecordingRunner()
        self.events = Events()
        self.in_thread = in_this_thread

    def resource(self, name, template, **fields):
        fields.setdefault("reload_cmd", "reload " + name)
        return load_resource(self.dir.resource(name, template, **fields), self.dir.settings())

    def runner(self):
        processor = Processor(self.dir.settings(), runner=self.commands, world=WORLD,
                              logger=self.events.logger())
        return SyncRunner(processor, lambda f, *a: self.in_thread(f, *a), logger=self.events.logger())

    def watch_mode(self, resources, kv=None):
        mode = WatchMode(resources, kv or self.kv, self.runner(), self.clock, self.turns.call_soon,
                         quiescence=self.quiescence, make_backoff=lambda: Backoff(jitter=0),
                         logger=self.events.logger())
        mode.start()
        self.addCleanup(mode.stop)
        return mode

    def settle(self):
        """Let what changed render: the turn ends and, with -wait, its longest wait passes."""
        self.turns.settle()
        if self.quiescence is not None:
            self.clock.advance(self.quiescence[1])

    def reloads(self, name):
        return self.commands.commands.count("reload " + name)


class WatchBehaviour:
    """What watch mode does, with or without -wait."""

    def test_the_nginx_example(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.watch_mode([nginx])
        self.settle()
        self.assertFalse(os.path.exists(nginx.dest))
        self.assertIn("key does not exist: /nginx/http/server/proxy", "\n".join(self.events.texts))
        self.assertEqual(self.commands.commands, [])

        self.kv.put("nginx/http/server/proxy", "google.com")
        self.settle()
        self.assertEqual(read(nginx.dest), b"proxy_pass http://www.google.com;\n")
        self.assertEqual(self.commands.commands, ["reload nginx"])
        self.assertIn("Target config %s has been updated" % nginx.dest, self.events.texts)

    def test_one_query_per_prefix_shared_between_templates(self):
        resources = [self.resource("t%d" % n, "{{ls \"/shared\"}}\n", keys=["/shared"]) for n in range(50)]
        resources.append(self.resource("other", '{{getv "/other/x" "-"}}\n', keys=["/other"]))
        resources.append(self.resource("both", "{{ls \"/shared\"}}\n", keys=["/shared", "/other"]))
        self.watch_mode(resources)
        self.settle()
        self.assertEqual(sorted(self.kv.requests), [
            ("other", 0, DEFAULT_WAIT), ("other", 1, DEFAULT_WAIT),
            ("shared", 0, DEFAULT_WAIT), ("shared", 1, DEFAULT_WAIT),
        ])
        self.assertEqual(self.kv.blocked(), 2)
        self.kv.put("shared/a", "1")
        self.settle()
        self.assertEqual(len(self.kv.requests), 5)
        self.assertEqual(self.reloads("t0"), 2)
        self.assertEqual(self.reloads("t49"), 2)
        self.assertEqual(self.reloads("both"), 2)
        self.assertEqual(self.reloads("other"), 1)

    def test_range_gets_follows_keys_added_and_deleted(self):
        nginx = self.resource("upstream", UPSTREAM, keys=["/nginx/upstream"])
        self.watch_mode([nginx])
        self.kv.put("nginx/upstream/a", "10.0.0.1:80")
        self.kv.put("nginx/upstream/b", "10.0.0.2:80")
        self.settle()
        self.assertEqual(read(nginx.dest),
                         b"upstream app {\n    server 10.0.0.1:80;\n    server 10.0.0.2:80;\n}\n")
        self.kv.delete("nginx/upstream/a")
        self.settle()
        self.assertEqual(read(nginx.dest), b"upstream app {\n    server 10.0.0.2:80;\n}\n")

    def test_a_failing_check_keeps_the_old_file_until_the_next_change(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"], check_cmd="check {{.src}}")
        self.kv.put("nginx/http/server/proxy", "good.com")
        self.watch_mode([nginx])
        self.settle()
        self.commands.results["check"] = CHECK_FAILS
        self.kv.put("nginx/http/server/proxy", "bad.com")
        self.settle()
        self.assertIn(b"good.com", read(nginx.dest))
        self.assertEqual(self.reloads("nginx"), 1)
        self.assertIn("Config check failed: exit status 1", self.events.texts)
        del self.commands.results["check"]
        self.kv.put("nginx/http/server/proxy", "fixed.com")
        self.settle()
        self.assertIn(b"fixed.com", read(nginx.dest))
        self.assertEqual(self.reloads("nginx"), 2)

    def test_a_resource_reading_two_prefixes_waits_for_both(self):
        pair = self.resource("pair", '{{getv "/a/x"}} {{getv "/b/y"}}\n', keys=["/a", "/b"])
        self.kv.put("a/x", "1")
        self.kv.put("b/y", "2")
        slow = SlowKV(self.kv, "b")
        self.watch_mode([pair], kv=slow)
        self.settle()
        self.clock.advance(1)
        self.assertEqual(self.commands.commands, [])
        self.assertEqual(self.events.texts, [])
        slow.release()
        self.settle()
        self.assertEqual(read(pair.dest), b"1 2\n")

    def test_changes_while_a_sync_runs_are_rendered_after_it(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "one.com")
        held = []

        def held_thread(function, *args):
            d = Deferred()
            held.append((d, function, args))
            return d

        self.in_thread = held_thread
        self.watch_mode([nginx])
        self.settle()
        self.assertEqual(len(held), 1)
        self.kv.put("nginx/http/server/proxy", "two.com")
        self.kv.put("nginx/http/server/proxy", "three.com")
        self.settle()
        self.clock.advance(1)
        self.assertEqual(len(held), 1)  # one sync at a time
        d, function, args = held.pop()
        d.callback(function(*args))
        self.settle()
        self.assertEqual(len(held), 1)  # then one for everything that came meanwhile
        d, function, args = held.pop()
        d.callback(function(*args))
        self.assertIn(b"three.com", read(nginx.dest))
        self.settle()
        self.assertEqual(held, [])

    def test_agent_down_then_back(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "one.com")
        self.watch_mode([nginx])
        self.settle()
        self.kv.go_down()
        run_until(self.clock, 30)
        self.assertLess(len(self.kv.requests), 12)
        self.assertIn(b"one.com", read(nginx.dest))
        self.kv.come_back()
        self.kv.put("nginx/http/server/proxy", "two.com")
        run_until(self.clock, 45)
        self.settle()
        self.assertIn(b"two.com", read(nginx.dest))
        self.assertEqual(self.kv.blocked(), 1)


class WatchModeTests(WatchBehaviour, ModeTestCase):
    """The default: a change renders at the end of the reactor turn that brought it."""

    def test_no_timer_is_armed(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        kv = FakeKV(Clock())  # the agent's blocking-query timers are not ours
        kv.put("nginx/http/server/proxy", "one.com")
        self.watch_mode([nginx], kv=kv)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.turns.end()
        self.assertIn(b"one.com", read(nginx.dest))
        kv.put("nginx/http/server/proxy", "two.com")
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertIn(b"one.com", read(nginx.dest))
        self.turns.end()
        self.assertIn(b"two.com", read(nginx.dest))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.turns.queued, [])
        self.assertEqual(self.clock.seconds(), 0)
        self.assertEqual(kv.blocked(), 1)

    def test_a_burst_within_one_turn_renders_once(self):
        syncs = []

        def counting_thread(function, *args):
            syncs.append([job[0].path for job in args[0]])
            return in_this_thread(function, *args)

        self.in_thread = counting_thread
        upstream = self.resource("upstream", UPSTREAM, keys=["/nginx/upstream"])
        pair = self.resource("pair", '{{getv "/a/x" "-"}} {{getv "/b/y" "-"}}\n', keys=["/a", "/b"])
        self.watch_mode([upstream, pair])
        self.turns.end()
        self.assertEqual((len(syncs), self.reloads("upstream"), self.reloads("pair")), (1, 1, 1))
        self.kv.put("nginx/upstream/s0", "10.0.0.0:80")
        self.kv.put("a/x", "1")
        self.kv.put("b/y", "2")
        self.assertEqual(len(self.turns.queued), 1)
        self.turns.end()
        self.assertEqual(syncs[1:], [sorted([upstream.path, pair.path])])
        self.assertEqual((self.reloads("upstream"), self.reloads("pair")), (2, 2))
        self.assertEqual(read(pair.dest), b"1 2\n")
        self.assertEqual(self.clock.seconds(), 0)

    def test_the_next_query_waits_for_the_render(self):
        upstream = self.resource("upstream", UPSTREAM, keys=["/nginx/upstream"])
        held = []

        def held_thread(function, *args):
            d = Deferred()
            held.append((d, function, args))
            return d

        self.in_thread = held_thread
        self.watch_mode([upstream])
        self.turns.end()
        self.assertEqual((len(held), self.kv.blocked()), (1, 0))
        for n in range(10):  # all while the render runs: one answer once it is done
            self.kv.put("nginx/upstream/s%d" % n, "10.0.0.%d:80" % n)
        d, function, args = held.pop()
        d.callback(function(*args))
        self.assertEqual(len(self.kv.requests), 2)
        self.turns.end()
        d, function, args = held.pop()
        d.callback(function(*args))
        self.assertEqual(read(upstream.dest).count(b"server 10.0.0."), 10)
        self.assertEqual((self.reloads("upstream"), self.kv.blocked(), len(self.kv.requests)), (2, 1, 3))

    def test_changes_in_separate_turns_render_separately(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.watch_mode([nginx])
        self.turns.end()
        for name in ("one.com", "two.com", "three.com"):
            self.kv.put("nginx/http/server/proxy", name)
            self.turns.end()
            self.assertIn(name.encode(), read(nginx.dest))
        self.assertEqual(self.reloads("nginx"), 3)


class WatchModeWithWaitTests(WatchBehaviour, ModeTestCase):
    """-wait=20ms:80ms: a render waits until no change has come for 20 ms, 80 ms at most."""

    quiescence = (0.02, 0.08)

    def test_nothing_is_left_for_the_end_of_the_turn(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "a.com")
        self.watch_mode([nginx])
        self.assertEqual(self.turns.queued, [])
        self.clock.advance(0.02)
        self.assertIn(b"a.com", read(nginx.dest))

    def test_renders_within_the_quiet_time_of_a_change(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "a.com")
        self.watch_mode([nginx])
        self.clock.advance(1)
        self.kv.put("nginx/http/server/proxy", "b.com")
        self.clock.advance(0.015)
        self.assertIn(b"a.com", read(nginx.dest))
        self.clock.advance(0.01)
        self.assertIn(b"b.com", read(nginx.dest))

    def test_a_burst_of_changes_is_one_render(self):
        nginx = self.resource("upstream", UPSTREAM, keys=["/nginx/upstream"])
        self.watch_mode([nginx])
        self.clock.advance(0.02)
        self.assertEqual(self.reloads("upstream"), 1)
        for n in range(10):
            self.kv.put("nginx/upstream/s%d" % n, "10.0.0.%d:80" % n)
            self.clock.advance(0.001)
        self.clock.advance(0.02)
        self.assertEqual(self.reloads("upstream"), 2)
        self.assertEqual(read(nginx.dest).count(b"server 10.0.0."), 10)

    def test_a_steady_stream_still_renders_every_max_wait(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "start.com")
        self.watch_mode([nginx])
        self.clock.advance(0.02)
        self.assertEqual(self.reloads("nginx"), 1)
        for n in range(40):  # a change every 10 ms for 400 ms, from 20 ms on
            self.kv.put("nginx/http/server/proxy", "s%d.com" % n)
            self.clock.advance(0.01)
        self.assertEqual(self.reloads("nginx"), 1 + 4)  # at 100, 180, 260 and 340 ms
        self.clock.advance(0.02)
        self.assertEqual(self.reloads("nginx"), 1 + 5)
        self.assertIn(b"s39.com", read(nginx.dest))


class SlowKV:
    """Holds back the first answer for one prefix until released."""

    def __init__(self, kv, prefix):
        self.kv = kv
        self.prefix = prefix
        self.held = None

    def read(self, dep, index=0, wait=None):
        return self.list(dep.prefix, index, wait)

    def list(self, prefix, index=0, wait=None):
        if prefix == self.prefix and self.held is None:
            self.held = Deferred()
            return self.held
        return self.kv.list(prefix, index, wait)

    def release(self):
        self.held.callback(self.kv._listing(self.prefix))


class IntervalModeTests(ModeTestCase):
    def interval_mode(self, interval=2):
        load = lambda: load_resources(self.dir.settings())  # noqa: E731
        mode = IntervalMode(load, self.kv, self.runner(), self.clock, interval, logger=self.events.logger())
        mode.start()
        self.addCleanup(mode.stop)
        return mode

    def test_a_pass_every_interval_with_plain_reads(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "one.com")
        mode = self.interval_mode(2)
        self.assertEqual(self.kv.requests, [("nginx", 0, None)])
        self.assertIn(b"one.com", read(nginx.dest))
        self.kv.put("nginx/http/server/proxy", "two.com")
        self.clock.advance(1.9)
        self.assertIn(b"one.com", read(nginx.dest))
        self.clock.advance(0.1)
        self.assertIn(b"two.com", read(nginx.dest))
        self.assertEqual(mode.passes, 2)
        self.assertEqual(self.kv.requests, [("nginx", 0, None)] * 2)
        self.assertEqual(self.reloads("nginx"), 2)

    def test_new_resources_are_picked_up(self):
        self.resource("a", "a\n", keys=["/a"])
        self.interval_mode(2)
        b = self.resource("b", "b\n", keys=["/b"])
        self.clock.advance(2)
        self.assertEqual(read(b.dest), b"b\n")

    def test_agent_down_logs_and_carries_on(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.go_down()
        self.interval_mode(2)
        self.assertIn('Get "http://fake/v1/kv/nginx": connection refused', self.events.texts)
        self.kv.come_back()
        self.kv.put("nginx/http/server/proxy", "one.com")
        self.clock.advance(2)
        self.assertIn(b"one.com", read(nginx.dest))

    def test_the_next_pass_is_counted_from_the_end_of_this_one(self):
        self.resource("nginx", NGINX, keys=["/nginx"])
        held = []

        def held_thread(function, *args):
            held.append(Deferred())
            return held[-1]

        self.in_thread = held_thread
        mode = self.interval_mode(2)
        self.clock.advance(5)
        self.assertEqual(mode.passes, 0)
        held[0].callback(SyncReport())
        self.assertEqual(mode.passes, 1)
        self.clock.advance(1.9)
        self.assertEqual(len(held), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(held), 2)


class RunOnceTests(ModeTestCase):
    def status(self, resources):
        d = run_once(resources, self.kv, self.runner())
        return self.successResultOf(d)

    def test_success(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.put("nginx/http/server/proxy", "google.com")
        self.assertEqual(self.status([nginx]), 0)
        self.assertEqual(read(nginx.dest), b"proxy_pass http://www.google.com;\n")

    def test_any_error_is_status_1_and_the_others_are_still_written(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        fine = self.resource("fine", "fine\n", keys=["/other"])
        self.assertEqual(self.status([fine, nginx]), 1)
        self.assertEqual(read(fine.dest), b"fine\n")
        self.assertFalse(os.path.exists(nginx.dest))

    def test_an_unreachable_agent_is_status_1(self):
        nginx = self.resource("nginx", NGINX, keys=["/nginx"])
        self.kv.go_down()
        self.assertEqual(self.status([nginx]), 1)
        self.assertIn('Get "http://fake/v1/kv/nginx": connection refused', self.events.texts)

    def test_one_read_per_prefix(self):
        resources = [self.resource("t%d" % n, "x\n", keys=["/shared"]) for n in range(5)]
        self.assertEqual(self.status(resources), 0)
        self.assertEqual(self.kv.requests, [("shared", 0, None)])

    def test_a_bug_in_one_resource_does_not_stop_the_others(self):
        fine = self.resource("fine", "fine\n", keys=["/other"])
        broken = self.resource("broken", "x\n", keys=["/other"])
        runner = self.runner()
        real_sync = runner.processor.sync

        def sync(resource, entries, brain):
            if resource is broken:
                raise ZeroDivisionError("bug")
            return real_sync(resource, entries, brain)

        runner.processor.sync = sync
        self.assertEqual(self.successResultOf(run_once([broken, fine], self.kv, runner)), 1)
        self.assertEqual(read(fine.dest), b"fine\n")
        failures = [e["log_failure"] for e in self.events if "log_failure" in e]
        self.assertEqual([f.type for f in failures], [ZeroDivisionError])

    def test_kv_errors_reach_the_log_once_per_resource(self):
        a = self.resource("a", "a\n", keys=["/p"])
        b = self.resource("b", "b\n", keys=["/p"])
        self.kv.go_down()
        self.assertEqual(self.status([a, b]), 1)
        self.assertEqual(sum(1 for t in self.events.texts if "connection refused" in t), 2)
