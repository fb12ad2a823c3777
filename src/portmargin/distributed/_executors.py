"""Where shard tasks run: in this process (default) or on a Dask distributed cluster."""

from __future__ import annotations

import copyreg
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Protocol, TypeVar

from portmargin.core import PortmarginError

__all__ = ["DaskExecutor", "Executor", "LocalExecutor"]

T = TypeVar("T")
R = TypeVar("R")


def _read_only(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A read-only view of ``items`` (how a pickled read-only mapping is rebuilt)."""
    return MappingProxyType(items)


# Frozen domain values (snapshots, parameter packs) hold read-only mappings; ship them to
# workers as plain dicts, rebuilt read-only on arrival (by a module-level function, so that
# the standard pickle can name it as well as cloudpickle).
copyreg.pickle(MappingProxyType, lambda m: (_read_only, (dict(m),)))


class Executor(Protocol):
    """Runs one function over many items, with shared values sent to every worker once."""

    @property
    def workers(self) -> int:
        """How many tasks can run at once."""
        ...

    def map(self, fn: Callable[..., R], items: Sequence[T], shared: Mapping[str, Any]) -> list[R]:
        """``[fn(item, **shared) for item in items]``, in the order of ``items``."""
        ...


class LocalExecutor:
    """Runs every task in this process, one after the other."""

    @property
    def workers(self) -> int:
        """One."""
        return 1

    def map(self, fn: Callable[..., R], items: Sequence[T], shared: Mapping[str, Any]) -> list[R]:
        """``[fn(item, **shared) for item in items]``."""
        return [fn(item, **shared) for item in items]


class DaskExecutor:
    """Runs tasks on a Dask distributed cluster (needs ``portmargin[distributed]``).

    Use as a context manager. With ``scheduler`` it connects to a running cluster
    (``tcp://host:8786``); otherwise it starts a :class:`distributed.LocalCluster` of
    ``workers`` single-threaded worker processes on this machine and stops it on exit.

    Shared values (the market snapshot, the parameters) are scattered to every worker once,
    before any task runs.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None) -> None:
        if (workers is None) == (scheduler is None):
            raise PortmarginError("give either a number of workers or a scheduler address")
        if workers is not None and workers < 1:
            raise PortmarginError(f"workers must be >= 1, got {workers}")
        try:
            import distributed
        except ImportError:  # pragma: no cover - depends on the install
            raise PortmarginError(
                "running on Dask needs the distributed extra: pip install 'portmargin[distributed]'"
            ) from None
        dask: Any = distributed  # untyped package
        self._cluster: Any = None
        if scheduler is None:
            self._cluster = dask.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            self._client: Any = dask.Client(self._cluster)
        else:
            try:
                self._client = dask.Client(scheduler, timeout="10s")
            except OSError as exc:
                message = f"cannot reach the Dask scheduler {scheduler}: {exc}"
                raise PortmarginError(message) from None

    @property
    def workers(self) -> int:
        """Worker count of the cluster (threads across all workers)."""
        return max(1, int(sum(self._client.nthreads().values())))

    def map(self, fn: Callable[..., R], items: Sequence[T], shared: Mapping[str, Any]) -> list[R]:
        """Scatter ``shared`` to every worker, run ``fn`` on each item, gather in order."""
        futures = {k: self._client.scatter(v, broadcast=True) for k, v in shared.items()}
        tasks = self._client.map(fn, list(items), pure=False, **futures)
        result: list[R] = self._client.gather(tasks)
        return result

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started one."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
