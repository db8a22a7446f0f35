"""Deployments (`Microsoft.Resources/deployments`): records, views, and the state's deployment API.

`put_deployment(scope, name, body)` validates the template with the ARM front end (400
InvalidTemplate with its one-line message), then runs it with the engine: Accepted, Running, then
Succeeded, Failed (code DeploymentFailed with one detail per failed operation) or Canceled (after
Canceling). A deployment of the same name still active in the same scope is refused with 409
DeploymentActive. `deploy_graph` runs a DeploymentGraph built elsewhere (a Bicep file through
`armguard.bicep.load_graph`: see `plan_bicep` for what is evaluated and how).

Every resource a deployment writes goes through the same `_write` path (and conflict rules) as an
API request; nested deployments (`kind == "module"` nodes) run as child deployments with their own
records, named after the node's name.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from armguard.arm.graph import build_graph
from armguard.arm.template import load_template
from armguard.emulator import errors as E
from armguard.emulator.clock import iso, iso_duration, us_time
from armguard.emulator.engine import FAILED, RUNNING, SKIPPED, SUCCEEDED, Executor, Step, shuffler
from armguard.emulator.errors import ArmError, as_json_text, reason
from armguard.emulator.ids import parse
from armguard.emulator.locks import referenced_ids
from armguard.emulator.operations import CANCELED as OP_CANCELED
from armguard.emulator.operations import FAILED as OP_FAILED
from armguard.emulator.operations import IN_PROGRESS, Operation
from armguard.emulator.operations import SUCCEEDED as OP_SUCCEEDED
from armguard.emulator.plan import SKIP, ArmLevel, Level, Target, capitalized
from armguard.emulator.resources import stored_body
from armguard.errors import ArmguardError, one_line
from armguard.model import DeploymentGraph
from armguard.source import SourceFile

ACCEPTED, DEP_RUNNING, CANCELING = "Accepted", "Running", "Canceling"
ACTIVE = frozenset({ACCEPTED, DEP_RUNNING, CANCELING})
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"
EXPIRY_SECONDS = 7 * 24 * 3600.0
CANCEL_SECONDS = 1.0  # how long a deployment stays Canceling
_WRITE = "Microsoft.Resources/deployments/write"


class Deployment:
    __slots__ = ("body", "caller", "correlation_id", "ended", "error", "executor", "group", "id", "key", "language",
                 "launch", "level", "location", "mode", "name", "op", "outputs", "parameters", "parent", "parent_step",
                 "ref", "run", "scope", "started", "state", "subscription", "template_hash")

    def __init__(self, scope: str, name: str, run: int, now: float, caller: str, corr: str):
        self.scope = scope.rstrip("/")
        self.name = name
        self.id = f"{self.scope}/providers/{DEPLOYMENT_TYPE}/{name}"
        self.key = self.id.lower()
        self.run = run
        self.ref = f"{self.key}#{run}"  # names this run of the deployment in events and operations
        self.subscription, self.group = split_scope(self.scope)
        self.location: str | None = None
        self.mode = "Incremental"
        self.body: dict[str, Any] | None = None  # the request body (template + parameters), for persistence
        self.parameters: dict[str, Any] = {}
        self.state = ACCEPTED
        self.started = now
        self.ended: float | None = None
        self.caller = caller
        self.correlation_id = corr
        self.error: dict[str, Any] | None = None
        self.outputs: dict[str, Any] | None = None
        self.op: Operation | None = None
        self.parent: str | None = None  # ref of the parent deployment
        self.parent_step: int | None = None
        self.level: Level | None = None
        self.executor: Executor | None = None
        self.launch: Any = None
        self.template_hash = "0"
        self.language = "arm"


def split_scope(scope: str) -> tuple[str, str | None]:
    parts = scope.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions" or not parts[1]:
        raise E.invalid_request(f"The deployment scope '{scope}' is not a subscription or resource group.")
    if len(parts) == 2:
        return parts[1], None
    if len(parts) == 4 and parts[2].lower() == "resourcegroups" and parts[3]:
        return parts[1], parts[3]
    raise E.invalid_request(f"The deployment scope '{scope}' is not a subscription or resource group.")


def template_hash(template: Any) -> str:
    digest = hashlib.blake2b(json.dumps(template, sort_keys=True).encode(), digest_size=8).digest()
    return str(int.from_bytes(digest, "big") % (10 ** 19))


class DeploymentsMixin:
    """The deployment half of ArmState (relies on its records, `_write`, clock and events)."""

    __slots__ = ()

    def _init_deployments(self) -> None:
        self.deployments: dict[str, Deployment] = {}
        self._runs = 0

    # =========================================================================================
    # Public API

    def put_deployment(self, scope: str, name: str, body: dict[str, Any], *, caller: str | None = None,
                       correlation_id: str | None = None) -> tuple[dict[str, Any], Operation]:
        self.settle()  # type: ignore[attr-defined]
        caller, corr = self._who(caller, correlation_id)  # type: ignore[attr-defined]
        return self._put_deployment(scope, name, body, self.clock.now(), caller, corr)  # type: ignore[attr-defined]

    def deploy_graph(self, scope: str, name: str, graph: DeploymentGraph, *, location: str | None = None,
                     caller: str | None = None, correlation_id: str | None = None
                     ) -> tuple[dict[str, Any], Operation]:
        """Run a DeploymentGraph built elsewhere: a Bicep file's (`armguard.bicep.load_graph(path,
        params)`) or an ARM one (evaluated as built; prefer `put_deployment` for ARM JSON)."""
        self.settle()  # type: ignore[attr-defined]
        now = self.clock.now()  # type: ignore[attr-defined]
        caller, corr = self._who(caller, correlation_id)  # type: ignore[attr-defined]
        scope = scope.rstrip("/")
        sub, group = split_scope(scope)

        def make() -> Level:
            if graph.language == "bicep":
                from armguard.emulator.plan_bicep import BicepLevel

                return BicepLevel(graph, scope=scope, subscription=sub, group=group, deployment_name=name,
                                  location=location, host=self)
            context = self.evaluation_context(sub, group, name, location)
            return ArmLevel(graph, graph.syntax, scope=scope, subscription=sub, group=group, deployment_name=name,
                            location=location, context=context)

        dep = self._create(scope, name, make, now, caller, corr, location=location)
        dep.language = graph.language
        return self._deployment_view(dep), dep.op  # type: ignore[return-value]

    def get_deployment(self, scope: str, name: str) -> dict[str, Any]:
        self.settle()  # type: ignore[attr-defined]
        return self._deployment_view(self._deployment(scope, name))

    def list_deployments(self, scope: str) -> list[dict[str, Any]]:
        self.settle()  # type: ignore[attr-defined]
        key = scope.rstrip("/").lower()
        return [self._deployment_view(d) for d in self.deployments.values() if d.scope.lower() == key]

    def cancel_deployment(self, scope: str, name: str, *, caller: str | None = None,
                          correlation_id: str | None = None) -> None:
        self.settle()  # type: ignore[attr-defined]
        dep = self._deployment(scope, name)
        if dep.state not in (ACCEPTED, DEP_RUNNING):
            raise E.deployment_not_cancellable(dep.name, dep.state)
        self._cancel(dep, self.clock.now())  # type: ignore[attr-defined]

    def delete_deployment(self, scope: str, name: str, *, caller: str | None = None,
                          correlation_id: str | None = None) -> None:
        self.settle()  # type: ignore[attr-defined]
        dep = self._deployment(scope, name)
        if dep.state in ACTIVE:
            raise self._active_error(dep)
        del self.deployments[dep.key]

    def validate_deployment(self, scope: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """What `POST .../validate` answers: the resources the template would deploy, or 400."""
        self.settle()  # type: ignore[attr-defined]
        scope = scope.rstrip("/")
        sub, group = split_scope(scope)
        self._check_target(sub, group)
        level, props, location = self._level_from_body(scope, sub, group, name, body)
        steps = level.plan()
        now = self.clock.now()  # type: ignore[attr-defined]
        return {
            "id": f"{scope}/providers/{DEPLOYMENT_TYPE}/{name}",
            "name": name,
            "type": DEPLOYMENT_TYPE,
            **({"location": location} if location else {}),
            "properties": {
                "templateHash": template_hash(props.get("template")),
                "parameters": self._parameters_view(level, props.get("parameters") or {}),
                "mode": props.get("mode", "Incremental"),
                "provisioningState": "Succeeded",
                "timestamp": iso(self.clock.epoch, now),  # type: ignore[attr-defined]
                "duration": "PT0S",
                "correlationId": self._new_guid(),  # type: ignore[attr-defined]
                "validatedResources": [{"id": s.resource_id} for s in steps if s.resource_id],
            },
        }

    def what_if(self, scope: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """What `POST .../whatIf` answers: every resource the template would write, as `Create`,
        `Modify` (with the changed properties) or `NoChange` against the emulated state, nested
        deployments' resources included; `Delete` for what complete mode would remove; `Unsupported`
        for a resource whose values wait on others that do not exist yet. Nothing is written."""
        self.settle()  # type: ignore[attr-defined]
        scope = scope.rstrip("/")
        sub, group = split_scope(scope)
        self._check_target(sub, group)
        level, props, _ = self._level_from_body(scope, sub, group, name, body)
        changes: list[dict[str, Any]] = []
        declared: set[str] = set()
        self._what_if_level(level, changes, declared, 0)
        if str(props.get("mode", "Incremental")).lower() == "complete" and group is not None:
            group_key = f"/subscriptions/{sub}/resourcegroups/{group}".lower()
            for key in self.by_group.get(group_key, {}):  # type: ignore[attr-defined]
                res = self.resources[key]  # type: ignore[attr-defined]
                if key not in declared and parse(res.id).parent is None:
                    changes.append({"resourceId": res.id, "changeType": "Delete", "before": res.view()})
        return {"status": "Succeeded", "properties": {"changes": changes}}

    def _what_if_level(self, level: Level, changes: list[dict[str, Any]], declared: set[str], depth: int) -> None:
        for step in level.plan():
            try:
                target = step.prepared if step.prepared is not None else level.materialize(step, self)
            except ArmguardError as e:
                changes.append({"resourceId": step.resource_id or step.label, "changeType": "Unsupported",
                                "unsupportedReason": one_line(e.message)})
                continue
            if target is None or target is SKIP:
                continue
            if target.kind == "module":
                if target.level is not None and depth < 8:
                    self._what_if_level(target.level(), changes, declared, depth + 1)
                continue
            rid = target.resource_id
            declared.add(rid.lower())
            stored = stored_body(target.body or {})
            after = {"id": rid, "name": rid.rsplit("/", 1)[-1], "type": target.type, **stored}
            existing = self.resources.get(rid.lower())  # type: ignore[attr-defined]
            if existing is None:
                changes.append({"resourceId": rid, "changeType": "Create", "after": after})
                continue
            before = {"id": existing.id, "name": existing.name, "type": existing.type, **existing.body}
            delta = property_changes(existing.body, stored)
            change: dict[str, Any] = {"resourceId": rid, "changeType": "Modify" if delta else "NoChange",
                                      "before": before, "after": after}
            if delta:
                change["delta"] = delta
            changes.append(change)

    def list_deployment_operations(self, scope: str, name: str) -> list[dict[str, Any]]:
        self.settle()  # type: ignore[attr-defined]
        dep = self._deployment(scope, name)
        if dep.executor is None:
            return []
        return [self._operation_view(dep, s) for s in dep.executor.steps if s.launched]

    # =========================================================================================
    # Creating and running

    def _deployment(self, scope: str, name: str) -> Deployment:
        dep = self.deployments.get(f"{scope.rstrip('/')}/providers/{DEPLOYMENT_TYPE}/{name}".lower())
        if dep is None:
            raise E.deployment_not_found(name)
        return dep

    def _active_error(self, dep: Deployment) -> ArmError:
        epoch = self.clock.epoch  # type: ignore[attr-defined]
        return E.deployment_active(dep.name, us_time(epoch, dep.started), us_time(epoch, dep.started + EXPIRY_SECONDS))

    def _check_target(self, sub: str, group: str | None) -> None:
        self.ensure_subscription(sub)  # type: ignore[attr-defined]
        if group is not None:
            record = self.groups.get(f"/subscriptions/{sub}/resourcegroups/{group}".lower())  # type: ignore[attr-defined]
            if record is None:
                raise E.group_not_found(group)
            if record.state == "Deleting":
                raise E.group_being_deleted(record.name)

    def _put_deployment(self, scope: str, name: str, body: Any, now: float, caller: str, corr: str
                        ) -> tuple[dict[str, Any], Operation]:
        scope = scope.rstrip("/")
        try:
            sub, group = split_scope(scope)
            self._check_target(sub, group)
            existing = self.deployments.get(f"{scope}/providers/{DEPLOYMENT_TYPE}/{name}".lower())
            if existing is not None and existing.state in ACTIVE:
                raise self._active_error(existing)
            level, props, location = self._level_from_body(scope, sub, group, name, body)
        except ArmError as e:
            self._log_rejected(now, _WRITE, f"{scope}/providers/{DEPLOYMENT_TYPE}/{name}",  # type: ignore[attr-defined]
                               _sub_or_none(scope), _group_or_none(scope), caller, corr, e)
            raise
        dep = self._create(scope, name, lambda: level, now, caller, corr, location=location, body=body)
        dep.mode = str(props.get("mode", "Incremental"))
        dep.template_hash = template_hash(props.get("template"))
        dep.parameters = props.get("parameters") or {}
        return self._deployment_view(dep), dep.op  # type: ignore[return-value]

    def _level_from_body(self, scope: str, sub: str, group: str | None, name: str, body: Any
                         ) -> tuple[Level, dict[str, Any], str | None]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise E.invalid_request("The request content was invalid and could not be deserialized: 'properties' "
                                    "is required.")
        props = body["properties"]
        location = body.get("location") if isinstance(body.get("location"), str) else None
        if group is None and location is None:
            raise E.location_required()
        template = props.get("template")
        if template is None:
            link = props.get("templateLink")
            if isinstance(link, dict):
                where = link.get("uri") or link.get("id") or link.get("relativePath")
                raise ArmError(400, "InvalidContentLink", f"Unable to download deployment content from '{where}'.")
            raise E.invalid_request("The request content was invalid: 'properties.template' or "
                                    "'properties.templateLink' must be provided.")
        if isinstance(props.get("parametersLink"), dict):
            raise ArmError(400, "InvalidContentLink",
                           f"Unable to download deployment content from '{props['parametersLink'].get('uri')}'.")
        mode = str(props.get("mode", "Incremental"))
        if mode.lower() not in ("incremental", "complete"):
            raise E.invalid_request(f"The deployment mode '{mode}' is not valid. Valid modes are Incremental and "
                                    "Complete.")
        supplied: dict[str, Any] = {}
        raw_params = props.get("parameters") or {}
        if not isinstance(raw_params, dict):
            raise E.invalid_request("'properties.parameters' must be an object.")
        for pname, entry in raw_params.items():
            if isinstance(entry, dict) and "value" in entry:
                supplied[pname] = entry["value"]
            elif isinstance(entry, dict) and "reference" in entry:
                supplied[pname] = "emulated-secret-value"
            else:
                raise E.invalid_request(f"The parameter '{pname}' must be an object with a 'value'.")
        context = self.evaluation_context(sub, group, name, location)
        template_obj, graph = _front_end(template, supplied, context)
        level = ArmLevel(graph, template_obj, scope=scope, subscription=sub, group=group, deployment_name=name,
                         location=location, context=context)
        return level, props, location

    def _create(self, scope: str, name: str, make_level: Any, now: float, caller: str, corr: str, *,
                location: str | None = None, body: Any = None, parent: Deployment | None = None,
                parent_step: int | None = None) -> Deployment:
        """Plan a deployment (400 on template errors) and schedule its start at `now`."""
        sub, group = split_scope(scope)
        self._check_target(sub, group)
        existing = self.deployments.get(f"{scope}/providers/{DEPLOYMENT_TYPE}/{name}".lower())
        if existing is not None and existing.state in ACTIVE:
            raise self._active_error(existing)
        level = make_level()
        steps = level.plan()
        self._resolve_ahead(steps)
        self._runs += 1
        dep = Deployment(scope, name, self._runs, now, caller, corr)
        dep.location = location
        dep.body = body
        dep.level = level
        dep.executor = Executor(steps, shuffler(self._order_rng))  # type: ignore[attr-defined]
        dep.language = level.language
        dep.launch = functools.partial(self._launch_step, dep)
        if parent is not None:
            dep.parent = parent.ref
            dep.parent_step = parent_step
        for i, step in enumerate(steps):
            step.operation_id = hashlib.blake2b(f"{dep.ref}:{i}".encode(), digest_size=8).hexdigest().upper()
        op = Operation(self._new_guid(), "deployment", "PUT", dep.id, DEPLOYMENT_TYPE, now, now,  # type: ignore[attr-defined]
                       caller, corr, self._next_seq(), state=self, location=location or "global")  # type: ignore[attr-defined]
        dep.op = op
        self.operations[op.id] = op  # type: ignore[attr-defined]
        old = self.deployments.get(dep.key)
        if old is not None and old.executor is not None:
            old.executor.cancel()
        self.deployments[dep.key] = dep
        self._schedule(now, "deploy", dep.ref)  # type: ignore[attr-defined]
        self.activity.add(now, _WRITE, "Started", None, caller, corr, dep.id, sub, group, op.id)  # type: ignore[attr-defined]
        self.activity.add(now, _WRITE, "Accepted", 201, caller, corr, dep.id, sub, group, op.id)  # type: ignore[attr-defined]
        return dep

    def _resolve_ahead(self, steps: list[Step]) -> None:
        """Parse the ids and resolve the lock domains of the steps known before deployment, as
        Resource Manager resolves resource ids when it validates (the results are cached)."""
        domains = self.domains  # type: ignore[attr-defined]
        for step in steps:
            target = step.prepared
            if isinstance(target, Target) and target.kind == "resource":
                try:
                    rid = parse(target.resource_id)
                except ArmError:
                    continue
                if rid.type is not None:
                    domains.keys(rid.id, rid.key, rid.type_key, target.body)
                    if rid.type_key.startswith("microsoft.network/"):  # the only writes that check them
                        target.refs = referenced_ids(target.body)

    def _by_ref(self, ref: str) -> Deployment | None:
        key, _, run = ref.rpartition("#")
        dep = self.deployments.get(key)
        if dep is None or str(dep.run) != run:
            return None
        return dep

    def _dispatch_deployment(self, t: float, kind: str, ref: str) -> None:
        if kind == "stepdone":
            dep_ref, step_index, op_id = ref.split("|")
            op = self.operations.get(op_id)  # type: ignore[attr-defined]
            if op is not None:
                self._step_done(dep_ref, int(step_index), op, t)
            return
        dep = self._by_ref(ref)
        if dep is None:
            return
        if kind == "deploy":
            if dep.state != ACCEPTED or dep.executor is None:
                return
            dep.state = DEP_RUNNING
            dep.executor.start(t, dep.launch)
            self._maybe_over(dep, t)
        elif kind == "cancel":
            if dep.state == CANCELING:
                self._end(dep, t, "Canceled")
        elif kind == "childdone":
            parent = self._by_ref(dep.parent) if dep.parent else None
            if parent is None or parent.executor is None or dep.parent_step is None:
                return
            step = parent.executor.steps[dep.parent_step]
            if step.child != dep.key:
                return
            if dep.state == "Succeeded":
                step.http_status = 201
                status = SUCCEEDED
            else:
                step.error = dep.error or {"code": "Canceled", "message": "The deployment was canceled."}
                status = FAILED
            parent.executor.finish(step, status, t, parent.launch)
            self._maybe_over(parent, t)

    def _launch_step(self, dep: Deployment, step: Step, now: float) -> str:
        if step.kind == "delete":
            try:
                op = self._write("DELETE", parse(step.resource_id or ""), None, now, dep.caller,  # type: ignore[attr-defined]
                                 dep.correlation_id, None, deployment=dep.ref, step=step.index, view=False)[1]
            except ArmError as e:
                return _failed(step, e)
            return _started(dep, step, op)
        target = step.prepared
        if target is None:
            try:
                target = dep.level.materialize(step, self)  # type: ignore[union-attr]
            except ArmError as e:
                return _failed(step, e)
            if target is None:
                return SKIPPED
        elif target is SKIP:
            return SKIPPED
        step.resource_id = target.resource_id
        step.type = target.type
        step.api_version = target.api_version
        if target.kind == "module":
            try:
                child = self._start_child(dep, step, target, now)
            except ArmError as e:
                return _failed(step, e)
            step.child = child.key
            return RUNNING
        rid = parse(target.resource_id)
        try:
            if rid.type is None:
                self._put_group(rid.subscription or "", rid.resource_group or "", target.body or {},  # type: ignore[attr-defined]
                                now, dep.caller, dep.correlation_id)
                step.http_status = 200
                return SUCCEEDED
            if rid.type_key == "microsoft.authorization/locks":
                self._put_lock(rid.scope or "", rid.name or "", target.body, now, dep.caller,  # type: ignore[attr-defined]
                               dep.correlation_id)
                step.http_status = 200
                return SUCCEEDED
            _, op = self._write("PUT", rid, target.body, now, dep.caller, dep.correlation_id,  # type: ignore[attr-defined]
                                target.api_version, dep.ref, step.index, False, True, target.refs)  # no view; the body is ours
        except ArmError as e:
            return _failed(step, e)
        return _started(dep, step, op)

    def _start_child(self, parent: Deployment, step: Step, target: Target, now: float) -> Deployment:
        assert target.scope is not None and target.name is not None and target.level is not None
        return self._create(target.scope, target.name, target.level, now, parent.caller, parent.correlation_id,
                            location=target.location, parent=parent, parent_step=step.index)

    def _operation_done(self, op: Operation, t: float, direct: bool = False) -> None:
        """A resource operation issued by a deployment ended: tell the deployment, at once when
        called from an event (`direct`), else through an event so no executor is re-entered."""
        if direct:
            self._step_done(op.deployment, op.step, op, t)  # type: ignore[arg-type]
        else:
            self._schedule(t, "stepdone", f"{op.deployment}|{op.step}|{op.id}")  # type: ignore[attr-defined]

    def _step_done(self, dep_ref: str, step_index: int, op: Operation, t: float) -> None:
        dep = op._dep
        if dep is None or self.deployments.get(dep.key) is not dep:
            dep = self._by_ref(dep_ref)
        executor = dep.executor if dep is not None else None
        if executor is None:
            return
        step = executor.steps[step_index]
        if step.op is not op:
            return
        if op.status == OP_SUCCEEDED:
            step.http_status = 201 if op.creating else 200
            status = SUCCEEDED
        else:
            step.error = op.error
            status = FAILED
        executor.finish(step, status, t, dep.launch)
        if executor.remaining == 0:
            self._maybe_over(dep, t)

    def _maybe_over(self, dep: Deployment, t: float) -> None:
        executor = dep.executor
        if executor is not None and executor.remaining == 0 and dep.state == DEP_RUNNING:
            failed = [s for s in executor.steps if s.status == FAILED]
            if not failed and self._complete_mode_deletes(dep, t):
                return
            self._end(dep, t, "Failed" if failed else "Succeeded")

    def _declared(self, dep: Deployment) -> set[str]:
        """Keys of every resource a deployment and its nested deployments declare."""
        out: set[str] = set()
        for s in dep.executor.steps if dep.executor is not None else ():
            if s.resource_id:
                out.add(s.resource_id.lower())
            child = self.deployments.get(s.child) if s.child else None
            if child is not None and child.parent == dep.ref:
                out |= self._declared(child)
        return out

    def _complete_mode_deletes(self, dep: Deployment, t: float) -> bool:
        """Complete mode: once everything is deployed, delete the group's top-level resources the
        template does not declare (one Delete operation each, same rules). True if any started."""
        executor = dep.executor
        if dep.mode.lower() != "complete" or dep.parent is not None or dep.group is None or executor is None \
                or any(s.kind == "delete" for s in executor.steps):
            return False
        group_key = f"/subscriptions/{dep.subscription}/resourcegroups/{dep.group}".lower()
        declared = self._declared(dep)
        doomed = []
        for key in self.by_group.get(group_key, {}):  # type: ignore[attr-defined]
            res = self.resources[key]  # type: ignore[attr-defined]
            rid = parse(res.id)
            if rid.parent is None and rid.scope is not None and rid.scope.lower() == group_key \
                    and key not in declared:
                doomed.append(res)
        if not doomed:
            return False
        fresh = []
        for res in doomed:
            step = Step(len(executor.steps), "(complete mode)", "delete", None, None)
            step.resource_id = res.id
            step.type = res.type
            step.operation_id = hashlib.blake2b(f"{dep.ref}:{step.index}".encode(), digest_size=8).hexdigest().upper()
            executor.steps.append(step)
            executor.remaining += 1
            fresh.append(step)
        executor.run(fresh, t, dep.launch)
        self._maybe_over(dep, t)
        return True

    def _end(self, dep: Deployment, t: float, state: str) -> None:
        dep.state = state
        dep.ended = t
        if state == "Failed" and dep.executor is not None:
            dep.error = {"code": "DeploymentFailed", "target": dep.id, "message": E.DEPLOYMENT_FAILED_MESSAGE,
                         "details": [self._step_error(dep, s) for s in dep.executor.steps if s.status == FAILED]}
        if state == "Succeeded" and dep.level is not None:
            try:
                dep.outputs = dep.level.outputs(self)
            except (ArmError, ArmguardError, RecursionError):
                dep.outputs = None
        op = dep.op
        if op is not None and op.status == IN_PROGRESS:
            op.status = {"Succeeded": OP_SUCCEEDED, "Failed": OP_FAILED}.get(state, OP_CANCELED)
            op.finished = t
            op.end = t
            op.error = dep.error
        http = 200 if state == "Succeeded" else None
        self.activity.add(t, _WRITE, state, http, dep.caller, dep.correlation_id, dep.id,  # type: ignore[attr-defined]
                          dep.subscription, dep.group, op.id if op else "", dep.error)
        if dep.parent is not None:
            self._schedule(t, "childdone", dep.ref)  # type: ignore[attr-defined]

    def _cancel(self, dep: Deployment, now: float) -> None:
        dep.state = CANCELING
        if dep.executor is not None:
            dep.executor.cancel()
            for s in dep.executor.steps:
                if s.status == RUNNING and s.child is not None:
                    child = self.deployments.get(s.child)
                    if child is not None and child.state in (ACCEPTED, DEP_RUNNING):
                        self._cancel(child, now)
        self._schedule(now + CANCEL_SECONDS, "cancel", dep.ref)  # type: ignore[attr-defined]

    def _drop_group_deployments(self, group_key: str) -> None:
        for key in [k for k, d in self.deployments.items() if d.scope.lower() == group_key]:
            dep = self.deployments.pop(key)
            if dep.executor is not None:
                dep.executor.cancel()

    # =========================================================================================
    # Host services for levels (plan.py, plan_bicep.py)

    def evaluation_context(self, sub: str, group: str | None, name: str, location: str | None) -> dict[str, Any]:
        """EvalContext scope values (subscription(), resourceGroup(), deployment()) for a deployment."""
        subscription = self.ensure_subscription(sub)  # type: ignore[attr-defined]
        out: dict[str, Any] = {
            "subscription": {"id": f"/subscriptions/{sub}", "subscriptionId": sub,
                             "tenantId": subscription.tenant_id, "displayName": subscription.display_name},
            "deployment": {"name": name, "properties": {"templateHash": "0", "parameters": {}, "mode": "Incremental",
                                                        "provisioningState": "Accepted"}},
        }
        if location:
            out["deployment"]["location"] = location
        if group is not None:
            record = self.groups.get(f"/subscriptions/{sub}/resourcegroups/{group}".lower())  # type: ignore[attr-defined]
            if record is not None:
                out["resource_group"] = {"id": record.id, "name": record.name, "type": "Microsoft.Resources/resourceGroups",
                                         "location": record.location, "tags": dict(record.tags),
                                         "properties": {"provisioningState": "Succeeded"}}
        return out

    def lookup_view(self, resource_id: str) -> dict[str, Any]:
        """A resource's (or deployment's, or group's) current view, for reference(); 404 ArmError."""
        rid = parse(resource_id)
        if rid.type is None and rid.resource_group is not None:
            record = self.groups.get(rid.key)  # type: ignore[attr-defined]
            if record is None:
                raise E.group_not_found(rid.resource_group)
            return record.view()
        if rid.type_key == DEPLOYMENT_TYPE.lower():
            dep = self.deployments.get(rid.key)
            if dep is None:
                raise E.deployment_not_found(rid.name or "")
            return self._deployment_view(dep)
        res = self.resources.get(rid.key)  # type: ignore[attr-defined]
        if res is None:
            raise E.resource_not_found(rid.provider_path, rid.resource_group)
        return res.view(self._shown_state(res))  # type: ignore[attr-defined]

    def list_function(self, function: str, resource_id: str) -> dict[str, Any]:
        """list*() answers: a config resource's settings (`sites/config/appsettings`: `{"properties":
        {...}}`, as the Web provider answers), else placeholder keys (the emulator keeps no secrets)."""
        key = resource_id.rstrip("/").lower()
        if "/config/" in key and function.lower() == "list":
            found = self.resources.get(key)  # type: ignore[attr-defined]
            props = found.body.get("properties") if found is not None else None
            return {"id": resource_id, "name": resource_id.rsplit("/", 1)[-1],
                    "properties": dict(props) if isinstance(props, dict) else {}}
        seed = hashlib.blake2b(resource_id.lower().encode(), digest_size=12).hexdigest()
        keys = [{"keyName": "key1", "value": f"emulated-key1-{seed}", "permissions": "FULL"},
                {"keyName": "key2", "value": f"emulated-key2-{seed}", "permissions": "FULL"}]
        return {"keys": keys, "primaryKey": keys[0]["value"], "secondaryKey": keys[1]["value"], "value": []}

    def group_record(self, sub: str, group: str | None) -> Any:
        if group is None:
            return None
        return self.groups.get(f"/subscriptions/{sub}/resourcegroups/{group}".lower())  # type: ignore[attr-defined]

    # =========================================================================================
    # Views

    def _deployment_view(self, dep: Deployment) -> dict[str, Any]:
        epoch = self.clock.epoch  # type: ignore[attr-defined]
        now = self.clock.now()  # type: ignore[attr-defined]
        end = dep.ended if dep.ended is not None else now
        props: dict[str, Any] = {
            "templateHash": dep.template_hash,
            "parameters": self._parameters_view(dep.level, dep.parameters),
            "mode": dep.mode,
            "provisioningState": dep.state,
            "timestamp": iso(epoch, end),
            "duration": iso_duration(end - dep.started),
            "correlationId": dep.correlation_id,
            "providers": [],
            "dependencies": [],
        }
        if dep.executor is not None:
            props["outputResources"] = [{"id": s.resource_id} for s in dep.executor.steps
                                        if s.status == SUCCEEDED and s.kind == "resource" and s.resource_id]
        if dep.outputs is not None:
            props["outputs"] = dep.outputs
        if dep.error is not None:
            props["error"] = dep.error
        out: dict[str, Any] = {"id": dep.id, "name": dep.name, "type": DEPLOYMENT_TYPE}
        if dep.location:
            out["location"] = dep.location
        out["properties"] = props
        return out

    @staticmethod
    def _parameters_view(level: Level | None, given: dict[str, Any]) -> dict[str, Any]:
        declared = getattr(getattr(level, "t", None), "parameters", {}) or {}
        types = {k.lower(): v.get("type") for k, v in declared.items() if isinstance(v, dict)}
        out = {}
        for name, entry in (given or {}).items():
            value = entry.get("value") if isinstance(entry, dict) else entry
            out[name] = {"type": capitalized(types.get(name.lower())), "value": value}
        return out

    def _step_error(self, dep: Deployment, s: Step) -> dict[str, Any]:
        if s.child is not None and s.op is None:
            child = self.deployments.get(s.child)
            if child is not None and child.error is not None:
                return child.error
            return s.error or {"code": "DeploymentFailed", "message": E.DEPLOYMENT_FAILED_MESSAGE}
        if s.op is not None:
            status = s.op.status
            return E.resource_deployment_failure(s.resource_id or "", status, s.error)
        body = s.error or {"error": {"code": "InternalServerError", "message": "The operation failed."}}
        return {"code": reason(s.http_status or 400), "message": as_json_text(body)}

    def _operation_view(self, dep: Deployment, s: Step) -> dict[str, Any]:
        epoch = self.clock.epoch  # type: ignore[attr-defined]
        now = self.clock.now()  # type: ignore[attr-defined]
        started = s.started if s.started is not None else dep.started
        end = s.ended if s.ended is not None else now
        state = {RUNNING: "Running", SUCCEEDED: "Succeeded", FAILED: "Failed"}.get(s.status, s.status)
        props: dict[str, Any] = {
            "provisioningOperation": "Delete" if s.kind == "delete" else "Create",
            "provisioningState": state,
            "timestamp": iso(epoch, end),
            "duration": iso_duration(end - started),
            "trackingId": _guid_of(f"{dep.ref}:{s.index}:tracking"),
            "serviceRequestId": _guid_of(f"{dep.ref}:{s.index}:request"),
        }
        if s.status == SUCCEEDED:
            props["statusCode"] = reason(s.http_status or 200)
            if s.kind == "resource" and s.resource_id:
                res = self.resources.get(s.resource_id.lower())  # type: ignore[attr-defined]
                if res is not None:
                    props["statusMessage"] = res.view()
        elif s.status == FAILED:
            if s.op is not None:
                error = s.error or {}
                props["statusCode"] = _async_status_code(error)
                props["statusMessage"] = {"status": s.op.status, "error": error}
            elif s.child is not None and s.http_status is None:
                child = self.deployments.get(s.child)
                props["statusCode"] = "Conflict" if _has_conflict(child.error if child else None) else "BadRequest"
                props["statusMessage"] = {"status": "Failed", "error": child.error if child else s.error}
            else:
                props["statusCode"] = reason(s.http_status or 400)
                props["statusMessage"] = s.error
        rid = s.resource_id or ""
        target: dict[str, Any] = {"id": rid, "resourceType": s.type}
        parsed = None
        try:
            parsed = parse(rid) if rid else None
        except ArmError:
            parsed = None
        if parsed is not None and parsed.names:
            target["resourceName"] = "/".join(parsed.names)
        if s.api_version:
            target["apiVersion"] = s.api_version
        props["targetResource"] = target
        return {"id": f"{dep.id}/operations/{s.operation_id}", "operationId": s.operation_id, "properties": props}


def _async_status_code(error: dict[str, Any]) -> str:
    code = str(error.get("code", ""))
    if code == "OperationTimedOut":
        return "InternalServerError"
    if code == "Canceled":
        return "Conflict"
    return "BadRequest"


def _has_conflict(error: Any) -> bool:
    text = json.dumps(error) if error is not None else ""
    return "Conflict" in text or "AnotherOperationInProgress" in text


def _guid_of(text: str) -> str:
    h = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _sub_or_none(scope: str) -> str | None:
    try:
        return split_scope(scope)[0]
    except ArmError:
        return None


def _group_or_none(scope: str) -> str | None:
    try:
        return split_scope(scope)[1]
    except ArmError:
        return None


_FRONT_END_CACHE: dict[tuple[str, str], tuple[Any, DeploymentGraph]] = {}
_FRONT_END_CACHE_SIZE = 8


def _front_end(template: Any, supplied: dict[str, Any], context: dict[str, Any]) -> tuple[Any, DeploymentGraph]:
    """The ARM front end's template and graph of a request: built once per distinct template,
    parameters and scope (`simulate` deploys one template a hundred times; the graph is only read)."""
    text = json.dumps(template, indent=1)
    key = (text, json.dumps([supplied, context], sort_keys=True, default=str))
    found = _FRONT_END_CACHE.pop(key, None)
    if found is None:
        try:
            template_obj = load_template(SourceFile("template.json", text))
            found = (template_obj, build_graph(template_obj, supplied, strict=True, context=context))
        except ArmguardError as e:
            raise E.invalid_template(str(e)) from None
        except RecursionError:
            raise E.invalid_template("template.json: error: expressions nested too deeply") from None
        if len(_FRONT_END_CACHE) >= _FRONT_END_CACHE_SIZE:
            del _FRONT_END_CACHE[next(iter(_FRONT_END_CACHE))]
    _FRONT_END_CACHE[key] = found  # most recently used last
    return found


def property_changes(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """What-if's `delta`: the properties a write changes (objects compared key by key, the rest
    whole); each `{"path", "propertyChangeType": "Create" | "Modify", "before"?, "after"?}`.
    Properties the template leaves out are not reported as deletions (what-if itself shows many of
    those as noise: read-only values the provider fills in)."""
    out: list[dict[str, Any]] = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in after.items():
            where = f"{path}.{key}" if path else key
            if key not in before:
                out.append({"path": where, "propertyChangeType": "Create", "after": value})
            elif before[key] != value:
                out.extend(property_changes(before[key], value, where))
        return out
    if before != after:
        out.append({"path": path, "propertyChangeType": "Modify", "before": before, "after": after})
    return out


def _failed(step: Step, error: ArmError) -> str:
    """A step whose request Resource Manager rejected."""
    step.error = error.body()
    step.http_status = error.status
    return FAILED


def _started(dep: Deployment, step: Step, op: Any) -> str:
    """A step whose write was accepted: done at once (no operation) or running."""
    if op is None:
        step.http_status = 200
        return SUCCEEDED
    op._dep = dep
    step.op = op
    return RUNNING
