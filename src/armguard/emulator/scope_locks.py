"""Management locks (`Microsoft.Authorization/locks`) at subscription, resource group or resource scope.

A `ReadOnly` lock blocks writes (PUT/PATCH/DELETE) at and below its scope; `CanNotDelete` and
`ReadOnly` both block deletes at and below their scope, and deleting a scope that contains a locked
scope (a group holding a locked resource, a resource with a locked child). Both fail with 409
ScopeLocked: "The scope '<scope>' cannot perform write operation because following scope(s) are
locked: '<lock scope>'. Please remove the lock and try again." ("delete operation" for deletes).
"""

from __future__ import annotations

from typing import Any

from armguard.emulator.errors import ArmError, scope_locked

LEVELS = ("CanNotDelete", "ReadOnly")
LOCK_TYPE = "Microsoft.Authorization/locks"


class ManagementLock:
    __slots__ = ("level", "name", "notes", "owners", "scope", "scope_key")

    def __init__(self, scope: str, name: str, level: str, notes: str | None = None,
                 owners: list[Any] | None = None):
        self.scope = scope.rstrip("/")
        self.scope_key = self.scope.lower()
        self.name = name
        self.level = level
        self.notes = notes
        self.owners = owners

    @property
    def id(self) -> str:
        return f"{self.scope}/providers/{LOCK_TYPE}/{self.name}"

    @property
    def key(self) -> str:
        return self.id.lower()

    def view(self) -> dict[str, Any]:
        props: dict[str, Any] = {"level": self.level}
        if self.notes is not None:
            props["notes"] = self.notes
        if self.owners:
            props["owners"] = self.owners
        return {"id": self.id, "name": self.name, "type": LOCK_TYPE, "properties": props}

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "name": self.name, "level": self.level, "notes": self.notes,
                "owners": self.owners}


def parse_level(body: Any) -> tuple[str, str | None, list[Any] | None]:
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise ArmError(400, "InvalidRequestContent", "The lock body must have 'properties' with a 'level'.")
    level = props.get("level")
    for known in LEVELS:
        if isinstance(level, str) and level.lower() == known.lower():
            notes = props.get("notes")
            owners = props.get("owners")
            return known, notes if isinstance(notes, str) else None, owners if isinstance(owners, list) else None
    # Emulator-defined wording.
    raise ArmError(400, "LockLevelInvalid",
                   f"The lock level '{level}' is not valid. Valid levels are: {', '.join(LEVELS)}.")


class LockStore:
    __slots__ = ("locks",)

    def __init__(self) -> None:
        self.locks: dict[str, ManagementLock] = {}

    def __bool__(self) -> bool:
        return bool(self.locks)

    def at_or_above(self, target_key: str) -> list[ManagementLock]:
        return [lk for lk in self.locks.values()
                if target_key == lk.scope_key or target_key.startswith(lk.scope_key + "/")]

    def below(self, target_key: str) -> list[ManagementLock]:
        prefix = target_key + "/"
        return [lk for lk in self.locks.values() if lk.scope_key.startswith(prefix)]

    def check_write(self, target: str) -> None:
        if not self.locks:
            return
        blocking = [lk for lk in self.at_or_above(target.lower()) if lk.level == "ReadOnly"]
        if blocking:
            raise scope_locked(target, _scopes(blocking), "write")

    def check_delete(self, target: str) -> None:
        if not self.locks:
            return
        key = target.lower()
        blocking = self.at_or_above(key) + self.below(key)
        if blocking:
            raise scope_locked(target, _scopes(blocking), "delete")


def _scopes(locks: list[ManagementLock]) -> list[str]:
    return list(dict.fromkeys(lk.scope for lk in locks))
