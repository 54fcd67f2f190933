"""The scheduler core: assignments, their hash chain, schedule formats and
the assignment cache. Pure functions over messages and stores; the scheduler
devices and their HTTP routes build on this package.

Upstream: dev_scheduler_server (assignment creation), dev_scheduler_formats,
dev_scheduler_cache.
"""

from hyperbeam.scheduler.assignment import make_assignment, next_hash_chain, verify_chain

__all__ = ["make_assignment", "next_hash_chain", "verify_chain"]
