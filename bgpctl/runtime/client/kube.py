"""The kubernetes-asyncio adapter: one ``KubeClient`` for every resource type.

This is the only module of the package that imports ``kubernetes_asyncio`` (enforced by
``.importlinter``): kubeconfig and service-account loading, the HTTP session and error
translation happen here for every caller, the lease lock included. Nothing from it
leaks: callers get and give ``dict`` objects, our :class:`ObjectList` /
:class:`WatchEvent` dataclasses, and :mod:`.errors` exceptions.

Mirrors the parts of client-go ``rest`` / ``dynamic`` that the runtime needs: CRUD,
patches (JSON, merge, strategic merge, server-side apply with field manager and force),
the ``status`` subresource, LIST with resourceVersion semantics and WATCH.

Deliberate differences:

- Only the five modules used are loaded, not the package: ``kubernetes_asyncio``'s
  ``__init__`` imports every generated API and model class (~33 MB of RSS, a third of
  an agent). See :mod:`.lean_import`.

- Upstream Python: ``CustomObjectsApi`` for CRDs and typed APIs (``CoreV1Api``...) for
  built-ins. We build the REST path from :class:`ResourceType` and go through
  ``ApiClient.call_api`` for every kind, because ``CustomObjectsApi`` is only a
  template over that same call for ``/apis/{group}/{version}`` paths, cannot reach the
  core group (``/api/v1``: Events, Namespaces), and the typed APIs would hand back
  models we would have to turn back into dicts.
- Like client-go's rest client (and unlike kubernetes-asyncio), a request answered
  with 429 + ``Retry-After`` is repeated after that delay, up to 10 times (5xx +
  ``Retry-After`` only for GET). The server sends this while its storage for a
  resource is still initialising, e.g. right after a restart or a CRD install, and
  when API Priority and Fairness refuses work. Unlike client-go, the delay applies to
  every request of the client, and the number in flight adapts (:mod:`.flowcontrol`).
- Upstream Python: ``kubernetes_asyncio.watch.Watch``. We read the watch stream
  ourselves, because ``Watch`` opens a second aiohttp session per stream (its private
  ``ApiClient``), re-serialises every object, turns an ERROR event into an exception,
  and reconnects silently (swallowing one 410) unless ``timeout_seconds`` is given.
  Here a stream ends exactly when the server ends it; reconnecting is the reflector's
  decision. Every watch carries ``timeoutSeconds`` and an aiohttp timeout above it.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp

from bgpctl.runtime.client.errors import (
    ApiConnectionError,
    ApiError,
    ConnectionRefused,
    from_status,
    map_api_errors,
)
from bgpctl.runtime.client.flowcontrol import DEFAULT_MAX_INFLIGHT, FlowControl
from bgpctl.runtime.client.interfaces import (
    KubeObject,
    ObjectList,
    PatchType,
    Preconditions,
    ResourceType,
    SubResourceWriter,
    WatchEvent,
)
from bgpctl.runtime.client.lean_import import placeholder_packages
from bgpctl.runtime.client.rest import (
    parse_watch_line,
    resource_path,
    retry_after_delay,
    selector_query,
    status_error,
    typed,
    write_query,
)

# Before the imports below: the package __init__s are not run (see .lean_import).
placeholder_packages(
    {
        "kubernetes_asyncio": {},
        # What the kubeconfig loaders import from the package itself.
        "kubernetes_asyncio.client": {"ApiClient": "api_client", "Configuration": "configuration"},
        "kubernetes_asyncio.client.models": {},  # imported by api_client, never used by us
        "kubernetes_asyncio.config": {},
    }
)

from kubernetes_asyncio.client.api_client import ApiClient  # noqa: E402
from kubernetes_asyncio.client.configuration import Configuration  # noqa: E402
from kubernetes_asyncio.client.exceptions import ApiException  # noqa: E402
from kubernetes_asyncio.config.incluster_config import load_incluster_config  # noqa: E402
from kubernetes_asyncio.config.kube_config import load_kube_config  # noqa: E402

DEFAULT_REQUEST_TIMEOUT = 60.0
"""Client-side limit for one non-watch request, seconds."""

DEFAULT_USER_AGENT = "bgpctl"
"""``User-Agent`` of every request; also the field manager of writes that name none."""

WATCH_CLIENT_TIMEOUT_MARGIN = 30.0
"""How far the aiohttp timeout of a watch exceeds its server-side ``timeoutSeconds``.

The server closes the stream at ``timeoutSeconds``; the client timeout only catches a
connection that died silently, so it must never fire first on a healthy stream."""

MAX_RETRY_AFTER_RETRIES = 10
"""Times a request is repeated when the server answers with ``Retry-After`` (client-go)."""

_RESPONSE_TYPES = {200: "object", 201: "object", 202: "object"}


def _translate(exc: Exception) -> ApiError | None:
    """Map a kubernetes-asyncio / aiohttp exception onto our error tree."""
    if isinstance(exc, ApiException):
        status: Any = None
        if exc.body:
            try:
                status = json.loads(exc.body)
            except (TypeError, ValueError):
                status = None
        err = from_status(
            status if isinstance(status, dict) else None,
            code=int(exc.status or 0),
            message=str(exc.reason or exc.body or ""),
        )
        headers: Any = exc.headers or {}
        retry_after = headers.get("Retry-After")
        if (
            isinstance(retry_after, str)
            and "retryAfterSeconds" not in err.details
            and retry_after.isdigit()
        ):
            err.details = {**err.details, "retryAfterSeconds": int(retry_after)}
        return err
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return ConnectionRefused(str(exc))
        return ApiConnectionError(str(exc))
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionRefused(str(exc))
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return ApiConnectionError(f"{type(exc).__name__}: {exc}")
    return None


def _mapped() -> Any:
    return map_api_errors(_translate)


def _namespace_of(rt: ResourceType, obj: KubeObject) -> str | None:
    return obj.get("metadata", {}).get("namespace") if rt.namespaced else None


def _name_of(obj: KubeObject) -> str:
    name = obj.get("metadata", {}).get("name")
    if not name:
        raise ValueError("object has no metadata.name")
    return str(name)


class _Writes:
    """``update``, ``patch`` and ``apply``: of objects, or of one subresource of them.

    One write path for both: :class:`KubeClient` is the one without a subresource, and
    ``KubeClient.status()`` returns the one for ``status``.
    """

    def __init__(self, call: Callable[..., Awaitable[Any]], *subresource: str) -> None:
        self._send = call
        self._sub = subresource

    async def update(self, rt: ResourceType, obj: KubeObject) -> KubeObject:
        """PUT an object; its resourceVersion makes it conditional (``Conflict``)."""
        path = resource_path(rt, _namespace_of(rt, obj), _name_of(obj), *self._sub)
        return typed(rt, await self._send("PUT", path, body=obj))

    async def patch(
        self,
        rt: ResourceType,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType,
        namespace: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
    ) -> KubeObject:
        """PATCH an object; ``force`` is only meaningful for server-side apply."""
        path = resource_path(rt, namespace, name, *self._sub)
        query = write_query(field_manager, force)
        obj = await self._send("PATCH", path, query=query, body=patch, content_type=patch_type)
        return typed(rt, obj)

    async def apply(
        self, rt: ResourceType, obj: KubeObject, *, field_manager: str, force: bool = False
    ) -> KubeObject:
        """Server-side apply: ``obj`` holds exactly the fields this manager owns."""
        return await self.patch(
            rt,
            _name_of(obj),
            obj,
            patch_type=PatchType.APPLY,
            namespace=_namespace_of(rt, obj),
            field_manager=field_manager,
            force=force,
        )


class KubeClient(_Writes):
    """Async API client over one aiohttp session; owns it and closes it in ``close()``.

    Implements the ``Reader``, ``Writer`` and ``ListWatchClient`` protocols of
    :mod:`.interfaces`. Every method raises :class:`ApiError` subclasses;
    cancellation propagates unchanged (the in-flight request is abandoned).
    """

    def __init__(
        self,
        configuration: Any,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
        max_inflight: int = DEFAULT_MAX_INFLIGHT,
    ) -> None:
        """Wrap a ready ``kubernetes_asyncio`` Configuration (use the constructors below).

        Must be called with a running event loop: the aiohttp session is created here.
        ``request_timeout`` bounds each non-watch request (every attempt of it);
        ``user_agent`` names this client to the server (audit log, default field manager);
        ``max_inflight`` bounds the requests in flight (:mod:`.flowcontrol`).
        """
        super().__init__(self._call)
        self._api = ApiClient(configuration=configuration)
        self._api.user_agent = user_agent
        self._request_timeout = request_timeout
        self._closed = False
        self.flow_control = FlowControl(max_inflight)
        """Bounds and adapts the requests in flight (watches excluded)."""

    @classmethod
    async def from_kubeconfig(
        cls,
        path: str | os.PathLike[str],
        *,
        context: str | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> KubeClient:
        """Build a client from a kubeconfig file (or ``:``-separated list of files)."""
        configuration = Configuration()
        await load_kube_config(
            config_file=os.fspath(path),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
        return cls(configuration, request_timeout=request_timeout, user_agent=user_agent)

    @classmethod
    def in_cluster(
        cls,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> KubeClient:
        """Build a client from the pod's service account (token refreshed from disk)."""
        configuration = Configuration()
        load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return cls(configuration, request_timeout=request_timeout, user_agent=user_agent)

    @classmethod
    async def from_environment(
        cls,
        *,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> KubeClient:
        """``$KUBECONFIG`` if set, else in-cluster if in a pod, else ``~/.kube/config``."""
        kubeconfig = os.environ.get("KUBECONFIG")
        if kubeconfig:
            return await cls.from_kubeconfig(
                kubeconfig, request_timeout=request_timeout, user_agent=user_agent
            )
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return cls.in_cluster(request_timeout=request_timeout, user_agent=user_agent)
        # The loader expands "~" itself.
        return await cls.from_kubeconfig(
            "~/.kube/config", request_timeout=request_timeout, user_agent=user_agent
        )

    @property
    def server_url(self) -> str:
        """The API server base URL."""
        return str(self._api.configuration.host)

    async def close(self) -> None:
        """Close the HTTP session; safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._api.close()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ---------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        for attempt in range(MAX_RETRY_AFTER_RETRIES + 1):
            async with self.flow_control.slot():
                try:
                    with _mapped():
                        result = await self._api.call_api(
                            path,
                            method,
                            query_params=query or [],
                            header_params={
                                "Accept": "application/json",
                                "Content-Type": content_type,
                            },
                            body=body,
                            response_types_map=_RESPONSE_TYPES,
                            auth_settings=["BearerToken"],
                            _return_http_data_only=True,
                            _preload_content=True,
                            _request_timeout=self._request_timeout,
                        )
                    self.flow_control.served()
                    return result
                except ApiError as err:
                    delay = retry_after_delay(err, method)
                    if delay is None or attempt == MAX_RETRY_AFTER_RETRIES:
                        raise
            # Every request of this client waits out the delay, at a lower concurrency.
            await self.flow_control.throttled(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- Reader -----------------------------------------------------------------

    async def get(self, rt: ResourceType, name: str, *, namespace: str | None = None) -> KubeObject:
        """GET one object; raises ``NotFound``."""
        obj = await self._call("GET", resource_path(rt, namespace, name))
        return typed(rt, obj)

    async def list(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str = "",
    ) -> ObjectList:
        """LIST objects with the collection's resourceVersion.

        ``resource_version`` "" asks for a consistent (quorum) read, "0" accepts any
        cached state, anything else "not older than". Raises ``Expired`` when the RV
        was compacted away.
        """
        query = selector_query(label_selector, field_selector)
        if resource_version:
            query.append(("resourceVersion", resource_version))
        body = await self._call("GET", resource_path(rt, namespace), query=query)
        items = [typed(rt, item) for item in body.get("items") or []]
        return ObjectList(items=items, resource_version=str(body["metadata"]["resourceVersion"]))

    # -- Writer -----------------------------------------------------------------

    async def create(self, rt: ResourceType, obj: KubeObject) -> KubeObject:
        """POST a new object; raises ``AlreadyExists`` or ``Invalid``."""
        path = resource_path(rt, _namespace_of(rt, obj))
        return typed(rt, await self._call("POST", path, body=obj))

    async def delete(
        self,
        rt: ResourceType,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        preconditions: Preconditions | None = None,
    ) -> KubeObject:
        """DELETE an object; returns the (finalizing) object or a Status."""
        options: KubeObject = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions is not None:
            cond = {"uid": preconditions.uid, "resourceVersion": preconditions.resource_version}
            options["preconditions"] = {k: v for k, v in cond.items() if v is not None}
        result: KubeObject = await self._call(
            "DELETE", resource_path(rt, namespace, name), body=options
        )
        return result

    # -- Writer: update, patch and apply come from _Writes ------------------------

    def status(self) -> SubResourceWriter:
        """``update``/``patch``/``apply`` on the status subresource.

        controller-runtime's ``client.Status()``: the same write path, one URL segment on.
        """
        return _Writes(self._call, "status")

    # -- ListWatchClient --------------------------------------------------------

    async def watch(
        self,
        rt: ResourceType,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        allow_watch_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Stream watch events until the server closes the stream.

        Raises ``ApiError`` if the watch cannot be opened (``ConnectionRefused``,
        ``TooManyRequests``, ``Forbidden``...) or the connection breaks
        (``ApiConnectionError``). ERROR events are yielded, not raised. Closing the
        iterator (``aclose``) or cancelling the consumer drops the connection.
        """
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive: it bounds every stream")
        query = [("watch", "true"), ("timeoutSeconds", str(int(timeout_seconds)))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if allow_watch_bookmarks:
            query.append(("allowWatchBookmarks", "true"))
        query += selector_query(label_selector, field_selector)
        client_timeout = aiohttp.ClientTimeout(
            total=timeout_seconds + WATCH_CLIENT_TIMEOUT_MARGIN,
            sock_connect=self._request_timeout,
        )
        with _mapped():
            resp = await self._api.call_api(
                resource_path(rt, namespace),
                "GET",
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=client_timeout,
            )
        try:
            if resp.status >= 400:
                raise status_error(await resp.read(), code=resp.status, reason=resp.reason or "")
            with _mapped():
                async for line in resp.content:
                    event = parse_watch_line(rt, line)
                    if event is not None:
                        yield event
        finally:
            # Dropping the connection is the only way to end a chunked watch early.
            resp.close()
