"""One list of the writes in flight, merged from the activity log (caller, operation id) and the
deployments' operation lists (which deployment issued them), with running deployments themselves.
"""

from __future__ import annotations

from dataclasses import replace

from .facts import Deployment, Facts, Operation, key

DEPLOYMENT_WRITE = "Microsoft.Resources/deployments/write"


def is_deployment_op(op: Operation) -> bool:
    return op.operation.lower() == DEPLOYMENT_WRITE.lower() or "/providers/microsoft.resources/deployments/" in key(
        op.resource_id)


def deployment_operation(dep: Deployment) -> Operation:
    """A running deployment as an operation of its own (what DeploymentActive waits for)."""
    return Operation(resource_id=dep.id, operation=DEPLOYMENT_WRITE, state=dep.state, started=dep.started,
                     caller=dep.caller, correlation_id=dep.correlation_id, deployment=dep.name,
                     source="deployment list")


def in_flight(facts: Facts) -> list[Operation]:
    """Every write in flight, once each, oldest first."""
    merged: list[Operation] = [op for op in facts.operations if op.in_flight]
    for dep in facts.deployments:
        if dep.running:
            _merge(merged, deployment_operation(dep))
        for op in dep.operations:
            if op.in_flight:
                _merge(merged, replace(op, caller=op.caller or dep.caller, deployment=op.deployment or dep.name,
                                       correlation_id=op.correlation_id or dep.correlation_id))
    merged = [_with_deployment(op, facts.deployments) for op in merged]
    return sorted(merged, key=lambda op: (op.started is None, op.started or 0, op.resource_id))


def all_operations(facts: Facts) -> list[Operation]:
    """Every operation known, finished or not: the activity log's, then the deployments' not in it."""
    merged = list(facts.operations)
    for dep in facts.deployments:
        for op in dep.operations:
            _merge(merged, replace(op, caller=op.caller or dep.caller, deployment=op.deployment or dep.name,
                                   correlation_id=op.correlation_id or dep.correlation_id))
    return merged


def _same(a: Operation, b: Operation) -> bool:
    if key(a.resource_id) != key(b.resource_id):
        return False
    if a.correlation_id and b.correlation_id and a.correlation_id.lower() != b.correlation_id.lower():
        return False
    return a.in_flight == b.in_flight


def _merge(into: list[Operation], op: Operation) -> None:
    for index, known in enumerate(into):
        if _same(known, op):
            into[index] = replace(
                known, caller=known.caller or op.caller, deployment=known.deployment or op.deployment,
                correlation_id=known.correlation_id or op.correlation_id, started=known.started or op.started,
                operation_id=known.operation_id or op.operation_id, error_code=known.error_code or op.error_code,
                source=known.source if known.source == op.source else f"{known.source}, {op.source}")
            return
    into.append(op)


def _with_deployment(op: Operation, deployments: tuple[Deployment, ...]) -> Operation:
    """The deployment that issued an activity-log operation, by correlation id (all operations of one
    deployment run share it), when the deployment lists did not say."""
    if op.deployment:
        return op
    if is_deployment_op(op):
        return replace(op, deployment=op.resource_id.rstrip("/").rsplit("/", 1)[-1])
    if not op.correlation_id:
        return op
    for dep in deployments:
        if dep.correlation_id and dep.correlation_id.lower() == op.correlation_id.lower():
            return replace(op, deployment=dep.name)
    return op
