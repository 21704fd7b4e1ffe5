"""Events that sources hand to predicates and event handlers.

Mirrors controller-runtime pkg/event (``TypedCreateEvent`` and friends) over raw
Kubernetes objects (the ``KubeObject`` dicts of ``bgpctl.runtime.cache.interfaces``).
Objects are shared with the informer cache: read them, never mutate them.

Upstream's events carry typed objects; ours carry ``dict[str, Any]`` spelled out here
rather than importing ``KubeObject``, because ``event`` and ``cache`` are independent
siblings in the runtime's layering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CreateEvent:
    """An object appeared.

    Attributes:
        obj: The new object.
        is_in_initial_list: True when it came from the informer's initial list.
    """

    obj: dict[str, Any]
    is_in_initial_list: bool = False


@dataclass(frozen=True, slots=True)
class UpdateEvent:
    """An object changed (or a resync re-delivered it with the same resourceVersion).

    Attributes:
        old: The previous state.
        new: The current state.
    """

    old: dict[str, Any]
    new: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeleteEvent:
    """An object was deleted.

    Attributes:
        obj: The last known state (from a tombstone when the delete itself was missed).
        delete_state_unknown: True when the delete was missed and ``obj`` may be stale.
    """

    obj: dict[str, Any]
    delete_state_unknown: bool = False


@dataclass(frozen=True, slots=True)
class GenericEvent:
    """Something outside the API server says an object (or everything) needs a look.

    Attributes:
        obj: The object concerned; may be ``{}`` when the event is about no one object
            (see ``source.Channel.trigger``).
    """

    obj: dict[str, Any]
