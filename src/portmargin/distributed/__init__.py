"""Scale-out: margin a large positions file shard by shard, in this process or on Dask.

Executors run shard tasks: :class:`LocalExecutor` (this process) and :class:`DaskExecutor`
(a Dask distributed cluster, local or remote; needs ``portmargin[distributed]``).
"""

from portmargin.distributed._executors import DaskExecutor, Executor, LocalExecutor
from portmargin.distributed._margin import ShardedRun, ShardOutcome, margin_sharded
from portmargin.distributed._plan import Shard, ShardPlan, plan_shards

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Shard",
    "ShardOutcome",
    "ShardPlan",
    "ShardedRun",
    "margin_sharded",
    "plan_shards",
]
