"""Store, Indexer and keys: CRUD, replace, named indices kept exact on every write.

Re-derived from client-go ``store_test.go`` (``TestCache``/``doTestStore``,
``doTestIndex``), ``index_test.go`` (``TestGetIndexFuncValues``,
``TestMultiIndexKeys``) and ``thread_safe_store_test.go``
(``TestThreadSafeStoreIndexingFunctionsWithMultipleValues``,
``TestThreadSafeStoreAddKeepsNonEmptySetPostDeleteFromIndex``,
``TestThreadSafeStoreAddIndexers``). Left out: locking, which has no meaning here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown, KubeObject
from bgpctl.runtime.cache.keys import InvalidKeyError, object_key, split_key
from bgpctl.runtime.cache.store import (
    NAMESPACE_INDEX,
    IndexedStore,
    namespace_index_func,
)


def obj(
    name: str, *, ns: str | None = None, users: list[str] | None = None, v: int = 0
) -> KubeObject:
    meta: dict = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta, "users": users or [], "v": v}


def by_users(o: KubeObject) -> list[str]:
    return list(o["users"])


def test_keys_for_namespaced_cluster_scoped_and_tombstones() -> None:
    assert object_key(obj("a", ns="ns1")) == "ns1/a"
    assert object_key(obj("a")) == "a"
    assert object_key(DeletedFinalStateUnknown(key="x/y", obj=None)) == "x/y"
    with pytest.raises(InvalidKeyError):
        object_key({"metadata": {}})


@pytest.mark.parametrize(
    ("key", "expected"),
    [("name", ("", "name")), ("ns/name", ("ns", "name")), ("/name", ("", "name"))],
)
def test_split_key_accepts_one_or_two_parts(key: str, expected: tuple[str, str]) -> None:
    assert split_key(key) == expected


@pytest.mark.parametrize("key", ["", "a/b/c", "ns/", "a//b"])
def test_split_key_rejects_everything_else(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        split_key(key)


def test_store_add_update_delete_list_replace() -> None:
    """doTestStore: the basic contract."""
    store = IndexedStore()
    store.add(obj("foo", v=1))
    store.add(obj("bar", v=1))
    store.update(obj("foo", v=2))
    assert store.get_by_key("foo") == obj("foo", v=2)
    assert store.get(obj("foo")) == obj("foo", v=2)
    store.delete(obj("bar"))
    assert store.get_by_key("bar") is None
    assert sorted(store.list_keys()) == ["foo"]
    store.add(obj("a"))
    store.replace([obj("foo", v=3), obj("baz")], "7")
    assert sorted(store.list_keys()) == ["baz", "foo"]
    assert store.get_by_key("foo") == obj("foo", v=3)
    store.delete(obj("missing"))  # absent keys are ignored
    assert len(store) == 2


def test_delete_by_tombstone_uses_its_key() -> None:
    store = IndexedStore(indexers={"users": by_users})
    store.add(obj("foo", users=["u"]))
    store.delete(DeletedFinalStateUnknown(key="foo", obj=None))
    assert store.list() == []
    assert store.list_index_func_values("users") == []


def test_index_functions_with_multiple_values() -> None:
    """TestThreadSafeStoreIndexingFunctionsWithMultipleValues."""
    store = IndexedStore(indexers={"users": by_users})
    store.add(obj("one", users=["fred"]))
    store.add(obj("two", users=["fred", "ernie"]))
    store.add(obj("three", users=["ernie"]))
    assert sorted(store.index_keys("users", "fred")) == ["one", "two"]
    store.update(obj("two", users=["bert"]))
    assert sorted(store.index_keys("users", "fred")) == ["one"]
    assert sorted(store.index_keys("users", "ernie")) == ["three"]
    assert store.index_keys("users", "bert") == ["two"]
    store.update(obj("two", users=["bert", "fred"]))
    assert sorted(store.index_keys("users", "fred")) == ["one", "two"]
    store.delete(obj("one"))
    assert store.index_keys("users", "fred") == ["two"]


def test_empty_index_values_disappear() -> None:
    """TestThreadSafeStoreAddKeepsNonEmptySetPostDeleteFromIndex, and the empty-set leak."""
    store = IndexedStore(indexers={"users": by_users})
    store.add(obj("one", users=["fred"]))
    store.add(obj("two", users=["fred"]))
    store.delete(obj("one"))
    assert store.index_keys("users", "fred") == ["two"]
    store.delete(obj("two"))
    assert store.list_index_func_values("users") == []


def test_get_index_func_values() -> None:
    """TestGetIndexFuncValues."""
    store = IndexedStore(indexers={"users": by_users})
    store.add(obj("one", users=["fred", "ernie"]))
    store.add(obj("two", users=["elmo"]))
    assert sorted(store.list_index_func_values("users")) == ["elmo", "ernie", "fred"]


def test_index_returns_objects_sharing_any_value() -> None:
    """TestMultiIndexKeys / doTestIndex: ``index(name, obj)`` is the union."""
    store = IndexedStore(indexers={"users": by_users})
    store.add(obj("one", users=["a"]))
    store.add(obj("two", users=["b"]))
    store.add(obj("three", users=["c"]))
    got = store.index("users", obj("probe", users=["a", "b"]))
    assert sorted(o["metadata"]["name"] for o in got) == ["one", "two"]
    assert [o["metadata"]["name"] for o in store.by_index("users", "c")] == ["three"]


def test_add_indexers_after_data_exists() -> None:
    """TestThreadSafeStoreAddIndexers: a late index covers existing objects."""
    store = IndexedStore(indexers={NAMESPACE_INDEX: namespace_index_func})
    store.add(obj("a", ns="x", users=["u1"]))
    store.add(obj("b", ns="y", users=["u1", "u2"]))
    store.add_indexers({"users": by_users})
    assert sorted(store.index_keys("users", "u1")) == ["x/a", "y/b"]
    store.add(obj("c", users=["u2"]))
    assert sorted(store.index_keys("users", "u2")) == ["c", "y/b"]
    assert store.index_keys(NAMESPACE_INDEX, "") == ["c"]
    with pytest.raises(ValueError):
        store.add_indexers({"users": by_users})
    assert set(store.get_indexers()) == {NAMESPACE_INDEX, "users"}


def test_unknown_index_raises_key_error() -> None:
    store = IndexedStore()
    with pytest.raises(KeyError):
        store.by_index("nope", "x")


def test_replace_rebuilds_indices() -> None:
    store = IndexedStore(indexers={"users": by_users})
    store.add(obj("one", users=["a"]))
    store.replace([obj("two", users=["b"])], "5")
    assert store.index_keys("users", "a") == []
    assert store.index_keys("users", "b") == ["two"]


def test_failing_index_function_leaves_store_consistent() -> None:
    def picky(o: KubeObject) -> list[str]:
        if o["v"] < 0:
            raise RuntimeError("bad")
        return [str(o["v"])]

    store = IndexedStore(indexers={"v": picky})
    store.add(obj("a", v=1))
    with pytest.raises(RuntimeError):
        store.update(obj("a", v=-1))
    assert store.get_by_key("a") == obj("a", v=1)
    assert store.index_keys("v", "1") == ["a"]


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "delete"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.lists(st.sampled_from(["x", "y", "z"]), max_size=3),
    ),
    max_size=40,
)


@given(ops)
def test_indices_always_equal_a_rebuild(sequence: list[tuple[str, str, list[str]]]) -> None:
    """Property: after any add/delete sequence, the index equals one built from scratch."""
    store = IndexedStore(indexers={"users": by_users})
    for op, name, users in sequence:
        if op == "add":
            store.add(obj(name, users=users))
        else:
            store.delete(obj(name))
    expected: dict[str, set[str]] = {}
    for o in store.list():
        for u in o["users"]:
            expected.setdefault(u, set()).add(object_key(o))
    actual = {v: set(store.index_keys("users", v)) for v in store.list_index_func_values("users")}
    assert actual == expected
