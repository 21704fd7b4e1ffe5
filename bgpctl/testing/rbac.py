"""RBAC for test-only objects, granted as narrowly as the project's own manifests do."""

from __future__ import annotations

from bgpctl.envtest import ControlPlane


def grant_lease(control_plane: ControlPlane, namespace: str, name: str) -> None:
    """Let the controller identity get and update the Lease ``name`` only.

    The project's Role names only the production Lease ``bgpctl-peering``, so a test's
    own Lease gets a Role of its own, limited to its name in the same way.
    """
    role = f"test-lease-{name}"
    control_plane.kubectl(
        "create", "role", role, "-n", namespace, "--verb=get,update",
        "--resource=leases.coordination.k8s.io", f"--resource-name={name}",
    )  # fmt: skip
    control_plane.kubectl(
        "create", "rolebinding", role, "-n", namespace, f"--role={role}",
        "--serviceaccount=bgp-system:bgpctl",
    )  # fmt: skip
