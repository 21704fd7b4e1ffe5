"""etcd + kube-apiserver (+ optional kube-controller-manager) on loopback.

Two identities are issued through a static token file:

* ``admin`` in ``system:masters`` — for test setup and assertions;
* ``system:serviceaccount:bgp-system:bgpctl`` — the controller's identity. It has
  no rights of its own: everything it may do comes from the RBAC objects in
  ``manifests/rbac``, so a permission missing there fails the test that needs it.

Everything (data, certificates, logs, kubeconfigs) lives in one work directory that
``stop()`` removes unless ``keep=True``.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from bgpctl.envtest.binaries import Binaries, ensure_binaries
from bgpctl.envtest.process import free_port, http_ok, spawn, stop, tail, wait_until

CONTROLLER_USER = "system:serviceaccount:bgp-system:bgpctl"
CONTROLLER_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:bgp-system")


class ControlPlane:
    """A disposable Kubernetes control plane. Use as a context manager or start/stop."""

    def __init__(
        self,
        *,
        binaries: Binaries | None = None,
        workdir: Path | None = None,
        extra_apiserver_args: list[str] | None = None,
        keep: bool = False,
    ) -> None:
        self.binaries = binaries or ensure_binaries()
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="bgpctl-envtest-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.extra_apiserver_args = list(extra_apiserver_args or [])
        self.keep = keep
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.apiserver_port = free_port()
        self.server_url = f"https://127.0.0.1:{self.apiserver_port}"
        self.admin_token = secrets.token_hex(16)
        self.controller_token = secrets.token_hex(16)
        self.admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.controller_kubeconfig = self.workdir / "controller.kubeconfig"
        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._kcm: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self, name: str) -> Path:
        """Path of a component's log: ``etcd``, ``kube-apiserver``, ``kube-controller-manager``."""
        return self.workdir / f"{name}.log"

    def start(self) -> None:
        """Start etcd and kube-apiserver and write both kubeconfigs; idempotent.

        The processes are also stopped at interpreter exit, so a crashed test run
        leaves nothing behind.
        """
        atexit.register(self.stop)
        self._write_credentials()
        if self._etcd is None or self._etcd.poll() is not None:
            self._start_etcd()
        if self._apiserver is None or self._apiserver.poll() is not None:
            self._start_apiserver()
        self._write_kubeconfig(self.admin_kubeconfig, "admin", self.admin_token)
        self._write_kubeconfig(self.controller_kubeconfig, "bgpctl", self.controller_token)

    def stop(self) -> None:
        """Stop every process (reverse order) and remove the work directory."""
        atexit.unregister(self.stop)
        stop(self._kcm)
        stop(self._apiserver)
        stop(self._etcd)
        self._kcm = self._apiserver = self._etcd = None
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port and etcd."""
        stop(self._apiserver)
        self._start_apiserver()

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver only (etcd keeps the data)."""
        stop(self._apiserver)
        self._apiserver = None

    def start_apiserver(self) -> None:
        """Start kube-apiserver again after ``stop_apiserver``."""
        self._start_apiserver()

    def start_controller_manager(self, controllers: str = "garbagecollector,namespace") -> None:
        """Start kube-controller-manager with only ``controllers`` (GC and namespace)."""
        if self._kcm is not None and self._kcm.poll() is None:
            return
        log = self.log("kube-controller-manager")
        self._kcm = spawn(
            [
                str(self.binaries.kube_controller_manager),
                f"--kubeconfig={self.admin_kubeconfig}",
                f"--authentication-kubeconfig={self.admin_kubeconfig}",
                f"--authorization-kubeconfig={self.admin_kubeconfig}",
                f"--controllers={controllers}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                "--concurrent-gc-syncs=5",
            ],
            log,
        )

    # -- clients -------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        as_controller: bool = False,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this control plane (admin unless ``as_controller``)."""
        config = self.controller_kubeconfig if as_controller else self.admin_kubeconfig
        proc = subprocess.run(
            [str(self.binaries.kubectl), f"--kubeconfig={config}", *args],
            env=self.env(as_controller=as_controller),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def env(self, *, as_controller: bool = False) -> dict[str, str]:
        """Environment for tools run against this plane.

        KUBECONFIG, our kubectl first on PATH, and a private discovery cache (a shared
        one would remember the resource list of an earlier server on the same port).
        """
        config = self.controller_kubeconfig if as_controller else self.admin_kubeconfig
        return {
            **os.environ,
            "KUBECONFIG": str(config),
            "KUBECACHEDIR": str(self.workdir / "kube-cache"),
            "PATH": f"{self.binaries.kubectl.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def apply(self, path: Path) -> None:
        """``kubectl apply`` a file or a kustomize directory, server-side."""
        flag = "-k" if path.is_dir() else "-f"
        self.kubectl("apply", "--server-side", "--force-conflicts", flag, str(path))

    def install_crds(self, crd_dir: Path) -> None:
        """Apply the CRDs in ``crd_dir`` and wait until every one is Established."""
        self.apply(crd_dir)
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")

    def compact_etcd(self) -> int:
        """Compact etcd at its current revision (physically); returns the revision."""
        status = self._etcd_call("/v3/maintenance/status", {})
        revision = int(status["header"]["revision"])
        self._etcd_call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def logs(self) -> str:
        """The tails of every component's log (attached to failing tests)."""
        parts = []
        for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
            if text := tail(self.log(name), 60):
                parts.append(f"===== {name} =====\n{text}")
        return "\n".join(parts)

    # -- internals -----------------------------------------------------------------

    def _etcd_call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.etcd_port}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10.0) as resp:
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def _write_credentials(self) -> None:
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(
            f'{self.admin_token},admin,admin-uid,"system:masters"\n'
            f'{self.controller_token},{CONTROLLER_USER},bgpctl-uid,"{",".join(CONTROLLER_GROUPS)}"\n'
        )
        key = self.workdir / "sa.key"
        if not key.exists():
            subprocess.run(
                ["openssl", "genrsa", "-out", str(key), "2048"], capture_output=True, check=True
            )

    def _start_etcd(self) -> None:
        log = self.log("etcd")
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        client = f"http://127.0.0.1:{self.etcd_port}"
        self._etcd = spawn(
            [
                str(self.binaries.etcd),
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            log,
        )
        wait_until(
            lambda: http_ok(f"{client}/health"), timeout=30, what="etcd", proc=self._etcd, log=log
        )

    def _start_apiserver(self) -> None:
        log = self.log("kube-apiserver")
        key = self.workdir / "sa.key"
        self._apiserver = spawn(
            [
                str(self.binaries.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                f"--secure-port={self.apiserver_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--cert-dir={self.workdir / 'certs'}",
                f"--token-auth-file={self.workdir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={key}",
                f"--service-account-signing-key-file={key}",
                "--service-cluster-ip-range=192.0.2.0/24",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--allow-privileged=true",
                *self.extra_apiserver_args,
            ],
            log,
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        wait_until(
            lambda: http_ok(f"{self.server_url}/readyz", token=self.admin_token, context=context),
            timeout=90,
            what="kube-apiserver",
            proc=self._apiserver,
            log=log,
        )

    def _write_kubeconfig(self, path: Path, user: str, token: str) -> None:
        ca = (self.workdir / "certs" / "apiserver.crt").read_bytes()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "envtest",
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority-data": base64.b64encode(ca).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "envtest", "user": user}}],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
