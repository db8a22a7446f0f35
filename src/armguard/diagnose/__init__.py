"""`armguard diagnose`: read what holds a resource, then give one verdict with its evidence.

    facts = gather(conn, request, error, scope)      # read-only calls through the azure-mgmt clients
    diagnosis = decide(facts, catalog)               # pure: wait | stuck | locked | collision | clear
    print(render_text(diagnosis))                    # or render_json

Modules: `facts` (the plain values read), `gather` (the reads), `timeline` (activity-log events into
operations), `inflight` (writes in flight, merged across sources), `relate` (which writes block which:
ancestry and the catalog's lock domains), `decide` (the verdict), `evidence` (one line per finding,
naming its source), `steps` (the commands recommended), `report` (text and JSON), `cli` (the command).
"""

from .decide import DEFAULT_MAX_SECONDS, EXIT_CODES, VERDICTS, Blocker, Diagnosis, decide
from .evidence import Evidence
from .facts import Deployment, ErrorFacts, Facts, Lock, Operation, OperationStatus, ResourceState

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "EXIT_CODES",
    "VERDICTS",
    "Blocker",
    "Deployment",
    "Diagnosis",
    "ErrorFacts",
    "Evidence",
    "Facts",
    "Lock",
    "Operation",
    "OperationStatus",
    "ResourceState",
    "decide",
]
