"""The API client loads the kubernetes-asyncio modules it uses, not the generated ones."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import bgpctl.runtime.client.kube
loaded = sorted(m for m in sys.modules if m.startswith("kubernetes_asyncio"))
print("\\n".join(loaded))
from kubernetes_asyncio.client import ApiClient, Configuration
print(ApiClient.__module__, Configuration.__module__)
"""


def test_importing_the_client_skips_the_generated_apis_and_models() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    loaded, exports = out[:-1], out[-1]
    assert "kubernetes_asyncio.client.api_client" in loaded
    assert "kubernetes_asyncio.config.kube_config" in loaded
    assert not [m for m in loaded if m.startswith("kubernetes_asyncio.client.api.")]
    assert not [m for m in loaded if m.startswith("kubernetes_asyncio.client.models.")]
    assert "kubernetes_asyncio.watch" not in loaded
    # What the kubeconfig loader imports from the package resolves to the real classes.
    assert exports == (
        "kubernetes_asyncio.client.api_client kubernetes_asyncio.client.configuration"
    )


NETLINK_PROBE = """
import sys
import bgpctl.routesync.netlink
loaded = {m for m in sys.modules if m.startswith("pyroute2")}
print(" ".join(sorted(loaded & {"pyroute2.ndb", "pyroute2.ipdb", "pyroute2.netlink.nl80211",
                                "pyroute2.iproute.linux"})))
"""


def test_the_route_table_skips_the_netlink_families_it_does_not_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c", NETLINK_PROBE], check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == ["pyroute2.iproute.linux"]
