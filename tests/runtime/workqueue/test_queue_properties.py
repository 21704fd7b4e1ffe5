"""Property: random add/get/done/add_after/advance sequences keep the queue's promises.

A model of the queue (FIFO order, dirty set, processing set, waiting map with
earliest-wins) runs next to the real ``RateLimitingQueue``. After every step the real
queue must agree with the model; ``get`` must hand out exactly the model's next item,
never one a worker still holds; and at the end, after waiting out every delay and
finishing all work, draining the queue must yield every dirty item exactly once, so no
dirty item is ever lost.
"""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgpctl.runtime.workqueue import SHUTDOWN, DelayingQueue

pytestmark = pytest.mark.looptime

KEYS = st.integers(min_value=0, max_value=4)
OPS = st.one_of(
    st.tuples(st.just("add"), KEYS),
    st.tuples(st.just("get"), st.just(0)),
    st.tuples(st.just("done"), st.integers(min_value=0, max_value=10)),
    st.tuples(st.just("add_after"), KEYS, st.integers(min_value=-1, max_value=30)),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=40)),
)


class Model:
    def __init__(self) -> None:
        self.queue: deque[int] = deque()
        self.dirty: set[int] = set()
        self.processing: set[int] = set()
        self.waiting: dict[int, tuple[float, int]] = {}
        self.seq = 0

    def add(self, k: int) -> None:
        if k in self.dirty:
            return
        self.dirty.add(k)
        if k not in self.processing:
            self.queue.append(k)

    def add_after(self, k: int, ready_at: float) -> None:
        current = self.waiting.get(k)
        if current is None or ready_at < current[0]:
            self.seq += 1
            self.waiting[k] = (ready_at, self.seq)

    def release_until(self, now: float) -> None:
        ready = sorted((v, k) for k, v in self.waiting.items() if v[0] <= now)
        for _, k in ready:
            del self.waiting[k]
            self.add(k)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(OPS, max_size=60))
async def test_random_operations_never_double_hand_out_nor_lose_dirty_items(
    ops: list[tuple[int | str, ...]],
) -> None:
    loop = asyncio.get_running_loop()
    q: DelayingQueue[int] = DelayingQueue()
    m = Model()
    held: list[int] = []  # items handed to "workers", in order

    for op in ops:
        match op:
            case ("add", int(k)):
                q.add(k)
                m.add(k)
            case ("get", _):
                if not m.queue:
                    continue  # get() would block
                item = await q.get()
                assert item is not SHUTDOWN
                assert item not in held, "handed out an item that is being processed"
                assert item == m.queue.popleft()
                m.dirty.discard(item)
                m.processing.add(item)
                held.append(item)
            case ("done", int(i)):
                if not held:
                    continue
                k = held.pop(i % len(held))
                q.done(k)
                m.processing.discard(k)
                if k in m.dirty:
                    m.queue.append(k)
            case ("add_after", int(k), int(ms)):
                if ms <= 0:
                    q.add_after(k, ms / 1000)
                    m.add(k)
                else:
                    # Time moves in whole milliseconds; ready times sit half-way between,
                    # so no timer ever ties with the end of an "advance" sleep.
                    delay = ms / 1000 + 0.0005
                    q.add_after(k, delay)
                    m.add_after(k, loop.time() + delay)
            case ("advance", int(ms)):
                await asyncio.sleep(ms / 1000)
                m.release_until(loop.time())
        assert len(q) == len(m.queue)
        assert q.num_waiting() == len(m.waiting)

    # Finish everything and wait out all delays: every dirty item must come out once.
    for k in held:
        q.done(k)
        m.processing.discard(k)
        if k in m.dirty:
            m.queue.append(k)
    await asyncio.sleep(0.1)
    m.release_until(loop.time())
    expected = set(m.dirty)
    q.shut_down()
    drained = []
    while (item := await q.get()) is not SHUTDOWN:
        drained.append(item)
        q.done(item)
    assert sorted(drained) == sorted(expected)
    assert len(drained) == len(set(drained))
