"""Builder: for_/owns/watches/watches_raw_source/with_event_filter wire a working controller.

Runs the built controller against FakeInformers and checks which requests it reconciles.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from bgpctl.runtime.builder import Builder
from bgpctl.runtime.controller import ControllerOptions
from bgpctl.runtime.handler import enqueue_from_map_func
from bgpctl.runtime.predicate import Funcs, generation_changed
from bgpctl.runtime.reconcile import Request, Result
from bgpctl.runtime.source import Channel
from bgpctl.testing.informer import FakeInformer

pytestmark = [pytest.mark.usefixtures("quiet_logs"), pytest.mark.looptime]

GROUP = "bgp.miloapis.com"


class Rec:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def reconcile(self, request: Request) -> Result:
        self.seen.append(request.name)
        return Result()


def policy(name: str, generation: int = 1) -> dict[str, Any]:
    return {"kind": "BGPPeeringPolicy", "metadata": {"name": name, "generation": generation}}


def session(name: str, owner: str, *, controller: bool = True) -> dict[str, Any]:
    ref = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "BGPPeeringPolicy", "name": owner,
           "controller": controller}  # fmt: skip
    return {"kind": "BGPSession", "metadata": {"name": name, "generation": 1,
                                               "ownerReferences": [ref]}}  # fmt: skip


async def _settle() -> None:
    await asyncio.sleep(1)


async def test_full_wiring() -> None:
    policies = FakeInformer([policy("p1")])
    sessions = FakeInformer()
    endpoints = FakeInformer()
    channel = Channel(enqueue_from_map_func(lambda _: [Request(name="from-channel")]))
    rec = Rec()
    controller = (
        Builder("peeringpolicy")
        .for_(policies)
        .owns(sessions, "BGPPeeringPolicy", owner_group=GROUP)
        .watches(
            endpoints,
            enqueue_from_map_func(lambda ep: [Request(name=ep["metadata"]["labels"]["policy"])]),
        )
        .watches_raw_source(channel)
        .with_event_filter(generation_changed())
        .with_options(ControllerOptions(max_concurrent_reconciles=2, needs_leader_election=True))
        .complete(rec)
    )
    assert controller.name == "peeringpolicy"
    assert controller.options.max_concurrent_reconciles == 2

    task = asyncio.create_task(controller.start())
    await _settle()
    assert rec.seen == ["p1"]

    sessions.add(session("s1", "p2"))
    sessions.add(session("s2", "p9", controller=False))  # owns() follows only controllers
    await _settle()
    assert rec.seen[1:] == ["p2"]

    endpoints.add({"metadata": {"name": "ep", "generation": 1, "labels": {"policy": "p3"}}})
    await _settle()
    assert rec.seen[2:] == ["p3"]

    policies.update(policy("p1"))  # same generation: dropped by the global filter
    await _settle()
    assert rec.seen[3:] == []
    policies.update(policy("p1", 2))
    await _settle()
    assert rec.seen[3:] == ["p1"]

    channel.trigger()  # raw sources ignore the global filter
    await _settle()
    assert rec.seen[4:] == ["from-channel"]

    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_per_watch_predicates_add_to_global_filters() -> None:
    policies = FakeInformer([policy("keep"), policy("drop")])
    rec = Rec()
    controller = (
        Builder("ctl")
        .for_(policies, Funcs(on_create=lambda e: e.obj["metadata"]["name"] != "drop"))
        .complete(rec)
    )
    task = asyncio.create_task(controller.start())
    await _settle()
    assert rec.seen == ["keep"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_for_twice_is_an_error() -> None:
    builder = Builder("ctl").for_(FakeInformer())
    with pytest.raises(ValueError, match="once"):
        builder.for_(FakeInformer())


def test_nothing_to_watch_is_an_error() -> None:
    with pytest.raises(ValueError, match="nothing to watch"):
        Builder("ctl").complete(Rec())
