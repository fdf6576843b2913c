"""One run in several processes (``accelerate launch`` or ``torchrun``): who is who, and the
few collectives codistill needs. In a single process every function is a cheap no-op.

The launcher sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; :func:`init` joins the process group
(NCCL on GPUs, gloo on CPU) before the HF Trainer would, so teacher signals can be computed
sharded before training starts. Work that every process needs (teacher logits of an
evaluation set) is split with :func:`my_share` and put back together with :func:`all_gather`;
files are written by the main process only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from codistill.errors import ConfigError

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}


def launched_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def use_cpu() -> bool:
    """gloo on CPU when asked (``ACCELERATE_USE_CPU``) or when there is no GPU."""
    import torch

    return os.environ.get("ACCELERATE_USE_CPU", "").lower() in _TRUE or not torch.cuda.is_available()


def init() -> None:
    """Join the launcher's process group (idempotent; nothing to do in a single process)."""
    import torch.distributed as dist

    if (
        os.environ.get("ACCELERATE_USE_CPU", "").lower() in _TRUE
        and "MASTER_ADDR" in os.environ
        and "WORLD_SIZE" not in os.environ
        and not any(k in os.environ for k in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"))
    ):
        raise ConfigError(
            "`accelerate launch --cpu --num_processes N` starts one process unless run under mpirun; "
            "for N CPU processes on one machine use `accelerate launch --multi_gpu --num_processes N` "
            "(codistill uses gloo when there is no GPU) or `torchrun --nproc_per_node N`"
        )
    if launched_world_size() > 1 and not (dist.is_available() and dist.is_initialized()):
        from accelerate import PartialState

        PartialState(cpu=use_cpu())
        # a script that calls the API under a launcher gets the CLI's clean exit too: leave the group
        # before interpreter teardown (no barrier: at exit another rank may already be gone)
        atexit.register(shutdown, wait=False)


def shutdown(*, wait: bool = True) -> None:
    """Leave the process group before the interpreter exits (a no-op in a single process).

    Without this the process group is torn down during interpreter exit, where gloo's threads can
    abort one rank (``terminate called without an active exception``) after the work is done and
    the launcher reports a failed run. ``wait`` lines every process up first, so no rank closes
    its connections while another still uses them; pass ``wait=False`` on an error path, where the
    other processes may never get there.
    """
    if "torch.distributed" not in sys.modules or not _initialized():
        return
    import torch.distributed as dist

    if wait:
        dist.barrier()
    dist.destroy_process_group()


def _initialized() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if _initialized() else 1


def rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if _initialized() else 0


def is_main() -> bool:
    return rank() == 0


def device() -> Any:
    """This process's accelerator (``cuda:LOCAL_RANK``) or the CPU."""
    import torch

    if use_cpu():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0") or 0))


def barrier() -> None:
    if world_size() > 1:
        import torch.distributed as dist

        dist.barrier()


def all_gather(obj: T) -> list[T]:
    """Every process's ``obj`` (picklable), in rank order, on every process."""
    if world_size() == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def my_share(items: Sequence[T]) -> list[T]:
    """This process's items: ``items[rank::world_size]`` (interleaved, so a length-sorted list
    gives every process similar work)."""
    return list(items[rank() :: world_size()])


@contextlib.contextmanager
def main_directory(path: str | os.PathLike, kind: str = "output") -> Iterator[Path]:
    """The main process's atomic output folder (:func:`~codistill.utils.io.atomic_directory`);
    a throw-away scratch folder in the other processes, which must not write ``path``."""
    if is_main():
        from codistill.utils.io import atomic_directory

        with atomic_directory(path, kind) as tmp:
            yield tmp
    else:
        with tempfile.TemporaryDirectory(prefix="codistill-rank-") as tmp:
            yield Path(tmp)
