"""Object keys: ``"namespace/name"``, or ``"name"`` for cluster-scoped objects.

Mirrors client-go ``tools/cache/store.go`` (``MetaNamespaceKeyFunc``,
``DeletionHandlingMetaNamespaceKeyFunc``, ``SplitMetaNamespaceKey``). A tombstone
reports the key it was stored under, so stores and queues can delete by it even when
its object is unknown.
"""

from __future__ import annotations

from collections.abc import Callable

from bgpctl.runtime.cache.interfaces import DeletedFinalStateUnknown, KubeObject

KeyFunc = Callable[[KubeObject | DeletedFinalStateUnknown], str]
"""Computes the store key of an object or tombstone."""


class InvalidKeyError(ValueError):
    """An object without ``metadata.name``, or a key with more than one ``/``."""


def object_key(obj: KubeObject | DeletedFinalStateUnknown) -> str:
    """Key of an object (``ns/name`` or ``name``), or the stored key of a tombstone.

    Raises:
        InvalidKeyError: ``obj`` has no ``metadata.name``.
    """
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not name:
        raise InvalidKeyError("object has no metadata.name")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return f"{namespace}/{name}" if namespace else str(name)


def split_key(key: str) -> tuple[str, str]:
    """Split a key into ``(namespace, name)``; namespace is ``""`` for cluster scope.

    Raises:
        InvalidKeyError: the key has more than two parts or an empty name.
    """
    parts = key.split("/")
    if len(parts) == 1 and parts[0]:
        return "", parts[0]
    if len(parts) == 2 and parts[1]:
        return parts[0], parts[1]
    raise InvalidKeyError(f"unexpected key format: {key!r}")
