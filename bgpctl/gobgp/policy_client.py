"""Routing-policy methods of ``GoBGPClient``, split out to keep ``client`` small.

Defined sets, statements, policies and policy assignments.

GoBGP's delete calls have two modes: ``all=true`` deletes the whole object, ``all=false``
removes only the entries listed in the request, and with none listed silently does
nothing (the Go original deleted that way, so its deletes did nothing). The methods
here name the two modes apart: ``delete_*`` removes the whole object, ``remove_*`` the
listed entries. Replacement is never done by GoBGP: adding a defined set that exists
appends to it, adding a policy whose statements exist fails with ``statement ...
already defined`` (``AlreadyExists``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bgpctl.gobgp._proto import policy_pb2, service_pb2
from bgpctl.gobgp.convert_policy import (
    assignment_from_pb,
    assignment_to_pb,
    defined_set_from_pb,
    defined_set_to_pb,
    policy_from_pb,
    policy_to_pb,
    statement_from_pb,
    statement_to_pb,
)
from bgpctl.gobgp.errors import map_grpc_errors
from bgpctl.gobgp.policy import (
    GLOBAL_ASSIGNMENT,
    DefinedSet,
    DefinedType,
    Policy,
    PolicyAssignment,
    PolicyDirection,
    Statement,
)

if TYPE_CHECKING:
    from bgpctl.gobgp.connection import Connection


class PolicyMethods:
    """Mixin for ``GoBGPClient``: needs ``_conn``, ``_timeout`` and ``_list_timeout``."""

    _conn: Connection
    _timeout: float
    _list_timeout: float

    # -- defined sets ---------------------------------------------------------------------

    async def add_defined_set(self, defined: DefinedSet) -> None:
        """Create a defined set, or append the given entries to an existing one."""
        request = service_pb2.AddDefinedSetRequest(defined_set=defined_set_to_pb(defined))
        with map_grpc_errors():
            await self._conn.stub.AddDefinedSet(request, timeout=self._timeout)

    async def delete_defined_set(self, type: DefinedType, name: str) -> None:
        """Delete a whole defined set (``all=true``).

        Raises:
            InUse: A policy statement still references it.
            NotFound: No such set.
        """
        await self._delete_defined_set(DefinedSet(type, name), whole=True)

    async def remove_from_defined_set(self, defined: DefinedSet) -> None:
        """Remove only the listed entries from a defined set (``all=false``)."""
        await self._delete_defined_set(defined, whole=False)

    async def _delete_defined_set(self, defined: DefinedSet, *, whole: bool) -> None:
        request = service_pb2.DeleteDefinedSetRequest(
            defined_set=defined_set_to_pb(defined), all=whole
        )
        with map_grpc_errors():
            await self._conn.stub.DeleteDefinedSet(request, timeout=self._timeout)

    async def list_defined_sets(self, type: DefinedType, name: str = "") -> list[DefinedSet]:
        """Defined sets of ``type`` (all, or the one called ``name``)."""
        request = service_pb2.ListDefinedSetRequest(
            defined_type=policy_pb2.DefinedType.ValueType(type), name=name
        )
        with map_grpc_errors():
            call = self._conn.stub.ListDefinedSet(request, timeout=self._list_timeout)
            return [defined_set_from_pb(r.defined_set) async for r in call]

    # -- statements -------------------------------------------------------------------------

    async def add_statement(self, statement: Statement) -> None:
        """Create a statement (to be referenced with ``refer_existing_statements``)."""
        request = service_pb2.AddStatementRequest(statement=statement_to_pb(statement))
        with map_grpc_errors():
            await self._conn.stub.AddStatement(request, timeout=self._timeout)

    async def delete_statement(self, name: str) -> None:
        """Delete a whole statement.

        Raises:
            InUse: A policy still contains it.
        """
        request = service_pb2.DeleteStatementRequest(
            statement=policy_pb2.Statement(name=name), all=True
        )
        with map_grpc_errors():
            await self._conn.stub.DeleteStatement(request, timeout=self._timeout)

    async def list_statements(self, name: str = "") -> list[Statement]:
        """All statements, or the one called ``name``."""
        request = service_pb2.ListStatementRequest(name=name)
        with map_grpc_errors():
            call = self._conn.stub.ListStatement(request, timeout=self._list_timeout)
            return [statement_from_pb(r.statement) async for r in call]

    # -- policies ---------------------------------------------------------------------------

    async def add_policy(self, policy: Policy, *, refer_existing_statements: bool = False) -> None:
        """Create a policy with its statements (or referring to existing ones by name).

        Raises:
            AlreadyExists: A statement of that name exists (GoBGP never replaces).
        """
        request = service_pb2.AddPolicyRequest(
            policy=policy_to_pb(policy), refer_existing_statements=refer_existing_statements
        )
        with map_grpc_errors():
            await self._conn.stub.AddPolicy(request, timeout=self._timeout)

    async def delete_policy(self, name: str, *, preserve_statements: bool = False) -> None:
        """Delete a whole policy (``all=true``) and, unless preserved, its unused statements.

        Raises:
            InUse: The policy is assigned (GoBGP 3.10 only checks export assignments).
            NotFound: No such policy.
        """
        request = service_pb2.DeletePolicyRequest(
            policy=policy_pb2.Policy(name=name), all=True, preserve_statements=preserve_statements
        )
        with map_grpc_errors():
            await self._conn.stub.DeletePolicy(request, timeout=self._timeout)

    async def list_policies(self, name: str = "") -> list[Policy]:
        """All policies (sorted by GoBGP), or the one called ``name``."""
        request = service_pb2.ListPolicyRequest(name=name)
        with map_grpc_errors():
            call = self._conn.stub.ListPolicy(request, timeout=self._list_timeout)
            return [policy_from_pb(r.policy) async for r in call]

    # -- assignments --------------------------------------------------------------------------

    async def add_policy_assignment(self, assignment: PolicyAssignment) -> None:
        """Append policies to an assignment (creating it), setting its default action.

        Raises:
            AlreadyExists: One of the policies is already in the assignment.
            InvalidArgument: ``name`` is neither ``global`` nor a route-server client.
        """
        request = service_pb2.AddPolicyAssignmentRequest(assignment=assignment_to_pb(assignment))
        with map_grpc_errors():
            await self._conn.stub.AddPolicyAssignment(request, timeout=self._timeout)

    async def set_policy_assignment(self, assignment: PolicyAssignment) -> None:
        """Replace an assignment's policy list and default action in one call."""
        request = service_pb2.SetPolicyAssignmentRequest(assignment=assignment_to_pb(assignment))
        with map_grpc_errors():
            await self._conn.stub.SetPolicyAssignment(request, timeout=self._timeout)

    async def remove_from_policy_assignment(self, assignment: PolicyAssignment) -> None:
        """Detach exactly the listed policies (``all=false``); others stay attached."""
        await self._delete_assignment(assignment, whole=False)

    async def delete_policy_assignment(
        self, direction: PolicyDirection, name: str = GLOBAL_ASSIGNMENT
    ) -> None:
        """Detach every policy of an assignment and reset its default action (``all=true``)."""
        await self._delete_assignment(PolicyAssignment(direction, name=name), whole=True)

    async def _delete_assignment(self, assignment: PolicyAssignment, *, whole: bool) -> None:
        request = service_pb2.DeletePolicyAssignmentRequest(
            assignment=assignment_to_pb(assignment), all=whole
        )
        with map_grpc_errors():
            await self._conn.stub.DeletePolicyAssignment(request, timeout=self._timeout)

    async def list_policy_assignments(
        self, direction: PolicyDirection, name: str = GLOBAL_ASSIGNMENT
    ) -> list[PolicyAssignment]:
        """Assignments in ``direction`` for ``name`` (``""``: global and all RS clients)."""
        request = service_pb2.ListPolicyAssignmentRequest(
            name=name, direction=policy_pb2.PolicyDirection.ValueType(direction)
        )
        with map_grpc_errors():
            call = self._conn.stub.ListPolicyAssignment(request, timeout=self._list_timeout)
            return [assignment_from_pb(r.assignment) async for r in call]
