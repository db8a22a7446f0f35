"""`armguard plan`: how long a deployment takes as written, with the usual fix, and at best, and
which writes collide on a shared lock domain.

    from armguard.plan import plan_file
    plan = plan_file("main.bicep")
    plan.makespan("as_written"), plan.makespan("optimal"), plan.lower_bound.value
"""

from armguard.plan.core import Options, Plan, plan_file, plan_graph

__all__ = ["Options", "Plan", "plan_file", "plan_graph"]
