"""The transmit-limited broadcast queue."""

from twisted.trial.unittest import SynchronousTestCase

from pyconsul.core.swim.broadcasts import BroadcastQueue


def queue_of(*names, cost=10):
    queue = BroadcastQueue()
    for name in names:
        queue.queue(name, name, name.encode(), cost)
    return queue


def taken(queue, room=1000, limit=10):
    return [b.message for b in queue.take(room, limit)]


class BroadcastQueueTests(SynchronousTestCase):
    def test_newest_first(self):
        self.assertEqual(taken(queue_of("a", "b", "c")), ["c", "b", "a"])

    def test_least_transmitted_first(self):
        queue = queue_of("a", "b")
        self.assertEqual(taken(queue, room=10), ["b"])
        queue.queue("c", "c", b"c", 10)
        # a and c have never been sent; b has once.
        self.assertEqual(taken(queue, room=20), ["c", "a"])
        self.assertEqual(taken(queue), ["c", "b", "a"])

    def test_room_limits_what_is_taken_and_smaller_ones_fill_gaps(self):
        queue = BroadcastQueue()
        queue.queue("small", "small", b"s", 10)
        queue.queue("big", "big", b"b", 50)
        self.assertEqual(taken(queue, room=30), ["small"])
        self.assertEqual(taken(queue, room=5), [])

    def test_same_key_supersedes_and_notifies(self):
        queue = BroadcastQueue()
        queue.queue("node-a", "suspect a", b"s", 10, notify="first")
        queue.queue("node-a", "alive a", b"a", 10)
        self.assertEqual(len(queue), 1)
        self.assertEqual(queue.finished, ["first"])
        self.assertEqual(taken(queue), ["alive a"])

    def test_no_key_supersedes_nothing(self):
        queue = BroadcastQueue()
        queue.queue(None, "x", b"x", 10)
        queue.queue(None, "y", b"y", 10)
        self.assertEqual(len(queue), 2)

    def test_dropped_after_the_transmit_limit(self):
        queue = BroadcastQueue()
        queue.queue("a", "a", b"a", 10, notify="done")
        for _ in range(3):
            self.assertEqual(queue.finished, [])
            self.assertEqual(taken(queue, limit=3), ["a"])
        self.assertEqual(len(queue), 0)
        self.assertEqual(taken(queue, limit=3), [])
        self.assertEqual(queue.finished, ["done"])

    def test_one_broadcast_goes_once_per_packet(self):
        queue = queue_of("a")
        self.assertEqual(taken(queue, room=1000, limit=5), ["a"])

    def test_prune_keeps_the_freshest(self):
        queue = queue_of("a", "b", "c")
        taken(queue, room=10)  # c sent once
        queue.prune(2)
        self.assertEqual(len(queue), 2)
        self.assertEqual(sorted(taken(queue)), ["a", "b"])
