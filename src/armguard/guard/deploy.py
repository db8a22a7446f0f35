"""The guarded deployment behind `armguard deploy`.

1. Pre-flight: wait until no deployment of the scope is running and no resource of a type the
   template writes is in a non-terminal state.
2. Deploy (Incremental) through azure-mgmt-resource's DeploymentsMgmtClient with
   ConflictRetryPolicy, so a 409 on the deployment itself (DeploymentActive) is waited out too.
3. Follow the deployment; if it fails and every failed operation (nested deployments followed) is a
   conflict that waiting can help, wait for the blockers the errors name (else for the scope to
   be quiet) and deploy again under the same name: resources that succeeded are no-ops now.
4. Stop at success, at a failure waiting cannot help, at `max_attempts`, at the deadline, or when
   the single-writer lock is lost (then the running deployment is cancelled).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from armguard.errors import ArmguardError
from armguard.guard.connection import ArmConnection
from armguard.guard.deploy_input import DeployInput, template_types
from armguard.guard.errors import parse_error
from armguard.guard.probes import (
    DEPLOYMENTS_API_VERSION,
    ResourceRef,
    deployment_path,
    list_all,
    running_deployments,
)
from armguard.guard.redeploy import chain_siblings, serialize_loops
from armguard.guard.wait import WaitTarget, WaitTimeout, wait_for
from armguard.guard.wait_core import (
    Observation,
    format_duration,
    is_success,
    is_terminal,
    poll_delay,
    short_id,
)

GROUP_LIST_API_VERSION = "2021-04-01"


class DeployLockLost(ArmguardError):
    """The single-writer lock was lost while the deployment ran; it was cancelled."""


@dataclass(frozen=True)
class FailedOperation:
    resource: str
    code: str | None
    message: str | None
    category: str
    status_uri: str | None = None
    resource_id: str | None = None


@dataclass
class DeployOutcome:
    ok: bool
    state: str
    attempts: int
    name: str
    failures: list[FailedOperation] = field(default_factory=list)
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class DeployOptions:
    name: str
    resource_group: str | None = None
    location: str | None = None
    mode: str = "Incremental"
    timeout: float | None = 45 * 60.0
    max_attempts: int = 5
    poll_floor: float = 1.0
    poll_ceiling: float = 30.0
    preflight: bool = True


class GuardedDeploy:
    def __init__(self, conn: ArmConnection, options: DeployOptions, *, say: Callable[[str], None],
                 on_progress: Callable[[Observation, float], None] | None = None,
                 lost: threading.Event | None = None, lost_reason: Callable[[], str | None] | None = None):
        self.conn = conn
        self.options = options
        self.say = say
        self.on_progress = on_progress
        self.lost = lost
        self.lost_reason = lost_reason or (lambda: None)
        self._client: Any = None

    # -- scope ---------------------------------------------------------------------------------

    @property
    def scope(self) -> str:
        sub = self.conn.subscription_id()
        if self.options.resource_group:
            return f"/subscriptions/{sub}/resourceGroups/{self.options.resource_group}"
        return f"/subscriptions/{sub}"

    def _remaining(self, deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    # -- the run -------------------------------------------------------------------------------

    def run(self, deploy_input: DeployInput) -> DeployOutcome:
        started = time.monotonic()
        deadline = None if self.options.timeout is None else started + self.options.timeout
        try:
            if self.options.preflight:
                self.preflight(deploy_input, deadline)
            outcome = self._attempts(deploy_input, deadline)
        except WaitTimeout as e:
            outcome = DeployOutcome(False, "TimedOut", 0, self.options.name, reason=e.message)
        finally:
            if self._client is not None:
                self._client.close()
        outcome.seconds = time.monotonic() - started
        return outcome

    def preflight(self, deploy_input: DeployInput, deadline: float | None) -> None:
        running = running_deployments(self.conn, self.scope)
        if running:
            names = ", ".join(str(d.get("name")) for d in running[:3])
            self.say(f"pre-flight: {len(running)} deployment(s) running in the scope ({names}); waiting")
            for d in running:
                self._wait(WaitTarget(resource_id=str(d.get("id"))), deadline)
        if not self.options.resource_group:
            return
        types = template_types(deploy_input.template)
        for resource in self._busy_resources(types):
            self.say(f"pre-flight: {short_id(resource['id'])} is {resource['state']}; waiting")
            self._wait(WaitTarget(resource_id=resource["id"]), deadline)

    def _busy_resources(self, types: set[str]) -> list[dict[str, str]]:
        items = list_all(self.conn, f"{self.scope}/resources?$expand=provisioningState", GROUP_LIST_API_VERSION)
        busy = []
        for item in items:
            state = item.get("provisioningState") or (item.get("properties") or {}).get("provisioningState")
            if str(item.get("type", "")).lower() in types and isinstance(state, str) and not is_terminal(state):
                busy.append({"id": str(item.get("id")), "state": state})
        return busy

    def _wait(self, target: WaitTarget, deadline: float | None) -> None:
        self._check_lock()
        wait_for(target, conn=self.conn, timeout=self._remaining(deadline), poll_floor=self.options.poll_floor,
                 poll_ceiling=self.options.poll_ceiling, on_progress=self.on_progress)

    def _attempts(self, deploy_input: DeployInput, deadline: float | None) -> DeployOutcome:
        name = self.options.name
        for attempt in range(1, self.options.max_attempts + 1):
            self._put(deploy_input)
            state, error = self._follow(deadline)
            if is_success(state):
                return DeployOutcome(True, state, attempt, name)
            failures = self.failed_operations(deployment_path(self.scope, name))
            if not failures and error is not None:
                failures = [error]
            waitable = bool(failures) and all(f.category == "wait" for f in failures)
            if not waitable:
                return DeployOutcome(False, state, attempt, name, failures,
                                     reason="a failure that waiting will not fix" if failures else None)
            if attempt == self.options.max_attempts:
                return DeployOutcome(False, state, attempt, name, failures,
                                     reason=f"still conflicting after {attempt} attempts")
            if deadline is not None and time.monotonic() >= deadline:
                return DeployOutcome(False, state, attempt, name, failures, reason="deadline reached")
            codes = sorted({f.code or "?" for f in failures})
            deploy_input, changes = self._serialized(deploy_input, failures)
            then = f"deploying again with {'; '.join(changes)}" if changes else "deploying again"
            self.say(f"attempt {attempt}: {len(failures)} operation(s) failed on conflicts ({', '.join(codes)}); "
                     f"waiting for the blockers, then {then}")
            self._wait_for_blockers(failures, deadline)
        raise AssertionError("unreachable")

    def _serialized(self, deploy_input: DeployInput, failures: list[FailedOperation]) -> tuple[DeployInput, list[str]]:
        """The input with what collided serialized (see `redeploy`), and the changes in words."""
        types = set()
        for f in failures:
            if f.resource.startswith("/subscriptions/"):
                try:
                    types.add(ResourceRef.parse(f.resource).type.lower())
                except ArmguardError:
                    continue
        template, loops = serialize_loops(deploy_input.template, types)
        template, chains = chain_siblings(template, types)
        changes = [f"loop(s) {', '.join(loops)} one at a time (batchSize 1)"] if loops else []
        changes += [f"{chain} one after the other (dependsOn)" for chain in chains]
        return replace(deploy_input, template=template), changes

    def _wait_for_blockers(self, failures: list[FailedOperation], deadline: float | None) -> None:
        targets: list[WaitTarget] = []
        for f in failures:
            target = (WaitTarget(operation_url=f.status_uri) if f.status_uri
                      else WaitTarget(resource_id=f.resource_id) if f.resource_id else None)
            if target is not None and target not in targets:
                targets.append(target)
        for target in targets:
            try:
                self._wait(target, deadline)
            except ArmguardError as e:
                if isinstance(e, WaitTimeout | DeployLockLost):
                    raise
                self.say(f"cannot poll {target.describe()} ({e.message}); waiting for the scope instead")
        if self.options.resource_group:
            self._wait(WaitTarget(resource_group=self.options.resource_group), deadline)

    # -- Resource Manager calls ------------------------------------------------------------------

    def _deployments(self) -> Any:
        if self._client is None:
            from azure.mgmt.resource.deployments import DeploymentsMgmtClient

            from armguard.guard.policy import ConflictRetryPolicy

            policy = ConflictRetryPolicy(on_wait=lambda info: self.say(f"{info.code}: waiting for the holder"),
                                         timeout=self.options.timeout or 24 * 3600.0,
                                         poll_floor=self.options.poll_floor, poll_ceiling=self.options.poll_ceiling)
            self._client = self.conn.client(DeploymentsMgmtClient, retry_policy=policy)
        return self._client

    def _put(self, deploy_input: DeployInput) -> None:
        self._check_lock()
        body: dict[str, Any] = {"properties": {"mode": self.options.mode, "template": deploy_input.template,
                                               "parameters": deploy_input.parameters}}
        client = self._deployments()
        if self.options.resource_group:
            client.deployments.begin_create_or_update(self.options.resource_group, self.options.name, body,
                                                      polling=False)
        else:
            body["location"] = self.options.location
            client.deployments.begin_create_or_update_at_subscription_scope(self.options.name, body, polling=False)

    def _follow(self, deadline: float | None) -> tuple[str, FailedOperation | None]:
        """Poll the deployment to a terminal state; its state and top-level error."""
        from armguard.guard.probes import probe_deployment

        started = time.monotonic()
        while True:
            if self.lost is not None and self.lost.is_set():
                self._cancel()
                raise DeployLockLost(f"lost the single-writer lock: {self.lost_reason() or 'unknown reason'}; "
                                     f"deployment {self.options.name} was cancelled")
            obs = probe_deployment(self.conn, self.scope, self.options.name)
            if self.on_progress is not None:
                self.on_progress(obs, time.monotonic() - started)
            if obs.done:
                error = None
                if obs.detail:
                    code, _, message = obs.detail.partition(": ")
                    info = parse_error({"error": {"code": code, "message": message}})
                    error = FailedOperation(f"deployment {self.options.name}", info.code if info else code,
                                            message, info.category if info else "unknown")
                return obs.state, error
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"timed out after {format_duration(time.monotonic() - started)}: deployment "
                                  f"{self.options.name} still {obs.state}")
            delay = poll_delay(obs.retry_after, floor=self.options.poll_floor, ceiling=self.options.poll_ceiling)
            remaining = self._remaining(deadline)
            time.sleep(delay if remaining is None else min(delay, max(remaining, 0.01)))

    def _cancel(self) -> None:
        client = self._deployments()
        try:
            if self.options.resource_group:
                client.deployments.cancel(self.options.resource_group, self.options.name)
            else:
                client.deployments.cancel_at_subscription_scope(self.options.name)
        except Exception as e:  # already terminal: nothing to cancel
            self.say(f"could not cancel deployment {self.options.name}: {str(e).splitlines()[0]}")

    def _check_lock(self) -> None:
        if self.lost is not None and self.lost.is_set():
            raise DeployLockLost(f"lost the single-writer lock: {self.lost_reason() or 'unknown reason'}; "
                                 "nothing more was deployed")

    def failed_operations(self, deployment_id: str, depth: int = 0) -> list[FailedOperation]:
        """Failed operations of a deployment, nested deployments followed down to the resources."""
        ops = list_all(self.conn, deployment_id + "/operations", DEPLOYMENTS_API_VERSION)
        failures: list[FailedOperation] = []
        for op in ops:
            props = op.get("properties") or {}
            if props.get("provisioningState") not in ("Failed", "Canceled"):
                continue
            target = props.get("targetResource") or {}
            target_id = target.get("id") or ""
            if str(target.get("resourceType", "")).lower() == "microsoft.resources/deployments" and depth < 8:
                nested = self.failed_operations(target_id, depth + 1) if target_id else []
                if nested:
                    failures.extend(nested)
                    continue
            failures.append(failed_operation(target_id or str(target.get("resourceName") or "?"),
                                             props.get("statusMessage")))
        return failures


def failed_operation(resource: str, status_message: Any) -> FailedOperation:
    info = parse_error(status_message) if status_message is not None else None
    if info is None:
        text = str(status_message)[:300] if status_message is not None else None
        return FailedOperation(resource, None, text, "unknown")
    return FailedOperation(resource, info.code, info.message, info.category, info.status_uri,
                           resource if resource.startswith("/subscriptions/") else info.resource_id)
