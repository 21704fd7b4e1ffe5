"""RealFIFO: in-order deltas, tombstones on replace, resync, has_synced, close.

Re-derived from client-go ``tools/cache/the_real_fifo_test.go``; each test names the
upstream case it mirrors. Left out: the transformer, metrics and the atomic/batched
modes, which we do not implement.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.cache.fifo import Delta, DeltaType, FIFOClosedError, RealFIFO
from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown, KubeObject
from bgpctl.runtime.cache.store import IndexedStore

A, U, D, R, S = (
    DeltaType.ADDED,
    DeltaType.UPDATED,
    DeltaType.DELETED,
    DeltaType.REPLACED,
    DeltaType.SYNC,
)


def obj(name: str, value: int) -> KubeObject:
    return {"metadata": {"name": name, "resourceVersion": str(value)}, "value": value}


def known(*objects: KubeObject) -> IndexedStore:
    store = IndexedStore()
    for o in objects:
        store.add(o)
    return store


def fifo(*objects: KubeObject) -> RealFIFO:
    return RealFIFO(known_objects=known(*objects))


def tomb(name: str, value: int | None) -> DeletedFinalStateUnknown:
    return DeletedFinalStateUnknown(key=name, obj=None if value is None else obj(name, value))


async def drain(f: RealFIFO) -> list[tuple[DeltaType, object]]:
    out: list[tuple[DeltaType, object]] = []
    while len(f):
        delta = await f.pop(lambda d, initial: None)
        out.append((delta.type, delta.object))
    return out


async def test_deltas_come_out_in_arrival_order_across_keys() -> None:
    """TestRealFIFO_basic / TestRealFIFO_detectLineJumpers: no key jumps the line."""
    f = fifo()
    for name, value in [("foo", 10), ("bar", 1), ("foo", 11), ("foo", 13), ("zab", 30)]:
        f.add(obj(name, value))
    first = await f.pop(lambda d, i: None)
    f.add(obj("foo", 14))
    rest = [d.object["value"] for _, d in [(0, await f.pop(lambda d, i: None)) for _ in range(5)]]
    assert first.object["value"] == 10
    assert rest == [1, 11, 13, 30, 14]


async def test_add_update_delete_are_all_kept() -> None:
    """TestRealFIFO_addUpdate: nothing is merged per key."""
    f = fifo()
    f.add(obj("foo", 10))
    f.update(obj("foo", 12))
    f.delete(obj("foo", 15))
    assert await drain(f) == [(A, obj("foo", 10)), (U, obj("foo", 12)), (D, obj("foo", 15))]


async def test_delete_of_unknown_key_is_queued() -> None:
    """TestRealFIFO_enqueueingNoLister: unlike DeltaFIFO, every delete is queued."""
    f = fifo()
    f.add(obj("foo", 10))
    f.update(obj("bar", 15))
    f.add(obj("qux", 17))
    f.delete(obj("qux", 18))
    f.delete(obj("baz", 20))
    assert [d[1]["value"] for d in await drain(f)] == [10, 15, 17, 18, 20]  # type: ignore[index]


async def test_replace_after_delete_queues_the_replacement() -> None:
    """TestRealFIFO_replaceWithDeleteDeltaIn (kubernetes#83810)."""
    f = fifo(obj("foo", 1))
    f.delete(obj("foo", 1))
    f.replace([obj("foo", 2)], "")
    assert await drain(f) == [(D, obj("foo", 1)), (R, obj("foo", 2))]


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        pytest.param(
            lambda f: (f.add(obj("foo", 2)), f.replace([], "0")),
            [(A, obj("foo", 2)), (D, tomb("foo", 2))],
            id="added-object-deleted-on-replace",
        ),
        pytest.param(
            lambda f: (f.add(obj("foo", 2)), f.delete(obj("foo", 2)), f.replace([], "0")),
            [(A, obj("foo", 2)), (D, obj("foo", 2))],
            id="deleted-object-single-delete",
        ),
        pytest.param(
            lambda f: (
                f.add(obj("foo", 2)),
                f.replace([obj("foo", 2)], "0"),
                f.replace([obj("foo", 2)], "0"),
                f.replace([], "0"),
            ),
            [(A, obj("foo", 2)), (R, obj("foo", 2)), (R, obj("foo", 2)), (D, tomb("foo", 2))],
            id="replaced-object-single-delete",
        ),
        pytest.param(
            lambda f: (f.add(obj("foo", 2)), f.replace([], "0"), f.replace([], "1")),
            [(A, obj("foo", 2)), (D, tomb("foo", 2))],
            id="single-delete-on-multiple-replaces",
        ),
        pytest.param(
            lambda f: (
                f.add(obj("foo", 2)),
                f.delete(obj("foo", 2)),
                f.add(obj("foo", 3)),
                f.replace([], "0"),
            ),
            [(A, obj("foo", 2)), (D, obj("foo", 2)), (A, obj("foo", 3)), (D, tomb("foo", 3))],
            id="added-deleted-added-gets-tombstone-of-newest",
        ),
    ],
)
async def test_replace_makes_deletions_for_objects_only_in_queue(ops, expected) -> None:  # type: ignore[no-untyped-def]
    """TestRealFIFOW_ReplaceMakesDeletionsForObjectsOnlyInQueue (all its table rows)."""
    f = fifo()
    ops(f)
    assert await drain(f) == expected


async def test_replace_makes_deletions_for_known_objects() -> None:
    """TestRealFIFO_ReplaceMakesDeletions, first part: a queued delete is not doubled."""
    f = fifo(obj("foo", 5), obj("bar", 6), obj("baz", 7))
    f.delete(obj("baz", 10))
    f.replace([obj("foo", 5)], "0")
    assert await drain(f) == [(D, obj("baz", 10)), (D, tomb("bar", 6)), (R, obj("foo", 5))]


async def test_replace_tombstone_carries_newest_queued_object() -> None:
    """TestRealFIFO_ReplaceMakesDeletions, add/recreate parts."""
    f = fifo(obj("foo", 5), obj("bar", 6), obj("baz", 7))
    f.add(obj("baz", 10))
    f.replace([obj("foo", 5)], "0")
    assert await drain(f) == [
        (A, obj("baz", 10)),
        (D, tomb("baz", 10)),
        (D, tomb("bar", 6)),
        (R, obj("foo", 5)),
    ]
    f = fifo(obj("foo", 5), obj("bar", 6), obj("baz", 7))
    f.delete(obj("bar", 6))
    f.add(obj("bar", 100))
    f.replace([obj("foo", 5)], "0")
    assert await drain(f) == [
        (D, obj("bar", 6)),
        (A, obj("bar", 100)),
        (D, tomb("bar", 100)),
        (D, tomb("baz", 7)),
        (R, obj("foo", 5)),
    ]


async def test_second_replace_uses_replaced_object_for_tombstone() -> None:
    """TestRealFIFO_ReplaceMakesDeletions, "syncing it first" part."""
    f = fifo(obj("foo", 5), obj("bar", 6), obj("baz", 7))
    f.replace([obj("bar", 100), obj("foo", 5)], "0")
    f.replace([obj("foo", 5)], "0")
    assert await drain(f) == [
        (D, tomb("baz", 7)),
        (R, obj("bar", 100)),
        (R, obj("foo", 5)),
        (D, tomb("bar", 100)),
        (R, obj("foo", 5)),
    ]


async def test_tombstone_of_tombstone_unwraps_the_object() -> None:
    """A queued tombstone that is not the newest delta does not nest tombstones."""
    f = fifo(obj("foo", 5))
    f.replace([], "0")  # queues Deleted(tombstone foo)
    f.update(obj("bar", 1))
    f.replace([], "1")
    items = await drain(f)
    assert items == [(D, tomb("foo", 5)), (U, obj("bar", 1)), (D, tomb("bar", 1))]


async def test_resync_queues_sync_for_known_objects() -> None:
    """TestRealFIFO_Resync."""
    f = fifo(obj("foo", 5))
    f.resync()
    assert await drain(f) == [(S, obj("foo", 5))]


async def test_resync_skips_keys_with_queued_deltas() -> None:
    """TestRealFIFO_ResyncNonExisting and TestRealFIFO_UpdateResyncRace."""
    f = fifo(obj("foo", 5))
    f.delete(obj("foo", 10))
    f.resync()
    assert await drain(f) == [(D, obj("foo", 10))]
    f = fifo(obj("foo", 5))
    f.update(obj("foo", 6))
    f.resync()
    assert await drain(f) == [(U, obj("foo", 6))]


async def test_has_synced_counts_tombstones_of_the_first_replace() -> None:
    """TestRealFIFO_HasSyncedCorrectOnDeletion: every initial delta is 'in initial list'."""
    f = fifo(obj("foo", 5), obj("bar", 6), obj("baz", 7))
    f.replace([obj("foo", 5)], "0")
    seen: list[tuple[Delta, bool]] = []
    for _ in range(3):
        assert not f.has_synced()
        await f.pop(lambda d, initial: seen.append((d, initial)))
    assert f.has_synced()
    assert [initial for _, initial in seen] == [True, True, True]
    assert [d.type for d, _ in seen] == [D, D, R]


@pytest.mark.parametrize(
    ("ops", "pops", "synced"),
    [
        pytest.param(lambda f: None, 0, False, id="nothing"),
        pytest.param(lambda f: f.add(obj("a", 1)), 0, True, id="add-first"),
        pytest.param(lambda f: f.replace([], "0"), 0, True, id="empty-replace"),
        pytest.param(
            lambda f: f.replace([obj("a", 1), obj("b", 2)], "0"), 0, False, id="none-popped"
        ),
        pytest.param(
            lambda f: f.replace([obj("a", 1), obj("b", 2)], "0"), 1, False, id="one-popped"
        ),
        pytest.param(
            lambda f: f.replace([obj("a", 1), obj("b", 2)], "0"), 2, True, id="all-popped"
        ),
        pytest.param(lambda f: f.replace([obj("a", 1), obj("a", 2)], "0"), 2, True, id="dup-keys"),
    ],
)
async def test_has_synced(ops, pops, synced) -> None:  # type: ignore[no-untyped-def]
    """TestRealFIFO_HasSynced (all table rows)."""
    f = fifo()
    ops(f)
    for _ in range(pops):
        await f.pop(lambda d, i: None)
    assert f.has_synced() is synced


async def test_later_deltas_are_not_in_initial_list() -> None:
    f = fifo()
    f.replace([obj("a", 1)], "1")
    f.add(obj("b", 2))
    flags: list[bool] = []
    await f.pop(lambda d, initial: flags.append(initial))
    await f.pop(lambda d, initial: flags.append(initial))
    assert flags == [True, False]


async def test_pop_unblocks_when_closed() -> None:
    """TestRealFIFO_PopShouldUnblockWhenClosed."""
    f = fifo(obj("foo", 5))
    waiters = [asyncio.create_task(f.pop(lambda d, i: None)) for _ in range(10)]
    await asyncio.sleep(0)
    f.close()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, FIFOClosedError) for r in results)


async def test_close_drains_queued_deltas_first() -> None:
    f = fifo()
    f.add(obj("a", 1))
    f.close()
    assert (await f.pop(lambda d, i: None)).object == obj("a", 1)
    with pytest.raises(FIFOClosedError):
        await f.pop(lambda d, i: None)


async def test_keyless_object_is_rejected_at_the_door() -> None:
    """TestRealFIFO_KeyOf, error side: a bad object never reaches the consumer."""
    f = fifo()
    with pytest.raises(ValueError):
        f.add({"metadata": {}})
    assert len(f) == 0
    f.delete(DeletedFinalStateUnknown(key="B", obj=None))
    assert f.list_keys() == ["B"]
