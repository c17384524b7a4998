"""Data parallelism: torch's `DistributedDataParallel`, on minigrad's own backward pass.

Each process (a "rank") holds a whole copy of the model and trains on its own shard of every
batch. After backward(), each rank holds the gradient of the loss on its shard; the wrapper
replaces it, on every rank, by the average over the ranks, with an all-reduce (torch.distributed's:
gloo between CPUs, NCCL between GPUs). Every rank then takes the same optimizer step: the step one
process would take on the whole batch (docs/distributed.md has the maths).

    dist.init_process_group()                        # torchrun tells each process its rank
    model = DistributedDataParallel(model)           # now rank 0's parameters on every rank
    loss = loss_func(model(xb), yb)                  # xb: this rank's shard of the batch
    loss.backward()                                  # .grad: the average over the ranks
    opt.step()                                       # the same step on every rank

How the gradients travel:
- In buckets. The gradients are flattened into a few large tensors (about `bucket_cap_mb` each),
  one all-reduce per bucket: each call has a fixed cost (a round trip between processes or
  machines) that one call per parameter would pay once per parameter.
- During backward. Each parameter tells the wrapper when its gradient is final (a post-accumulate-
  grad hook, which the engine calls as the gradient lands in `.grad`). A bucket whose gradients
  are all final is sent at once, and travels while backward computes the gradients of the layers
  below it. Parameters are bucketed in reverse order, the order in which backward finishes them,
  and buckets are always sent in the same order, so that every rank's calls pair up.
- The last gradient of the pass waits for every bucket and copies the averages into `.grad`, so
  that when `loss.backward()` returns, every rank holds the same averaged gradients.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
import torch.distributed as dist

from ..autograd.grad_mode import is_grad_enabled
from ..distributed import require_process_group
from ..errors import DistributedError
from ..errors import missing_name_getattr as _missing_name_getattr
from ..tensor import Tensor
from .modules import Module, Parameter

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wrap `module` so that backward() averages its gradients over all processes.

    module:            the model; every rank builds the same one (the same parameter shapes).
    device_ids:        None, or the one GPU this process's model is on (`[local_rank]`), as in
                       torch; inputs given to forward are moved there.
    output_device:     None, or that same device (torch's argument for multi-GPU modules).
    broadcast_buffers: before each forward, copy rank 0's buffers (running statistics) to all
                       (a collective call: every rank must run each forward, eval ones too).
    init_sync:         at construction, copy rank 0's parameters and buffers to every rank, so
                       that all ranks start from the same model whatever their seeds were.
    process_group:     the group of ranks to average over (default: all of them).
    bucket_cap_mb:     the size of a bucket of gradients, in MiB (default 25, torch's).
    overlap:           send each bucket as soon as its gradients are final (the default, as
                       torch does); False sends all buckets once backward has finished every
                       gradient. Same result; overlap only saves time.

    `model.module` is the wrapped model; parameters, `state_dict` (keys `module.*`) and
    `train`/`eval` are the Module's, as with torch's wrapper. Save `model.module.state_dict()`
    to load into an unwrapped model. Every parameter that requires grad must get a gradient in
    each backward(): freeze unused ones (`p.requires_grad_(False)`) before wrapping.
    """

    # Why minigrad.compile refuses a step that calls this module (it asks every module it meets).
    cannot_compile = (
        "DistributedDataParallel cannot be compiled: its all-reduces are calls between "
        "processes, which a replay of the recorded step would leave out. Train the wrapped "
        "model without minigrad.compile (Learner(..., compile=False))."
    )

    def __init__(
        self,
        module: Module,
        device_ids: list[int | str | torch.device] | None = None,
        output_device: int | str | torch.device | None = None,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        *,
        overlap: bool = True,
    ) -> None:
        super().__init__()
        require_process_group("DistributedDataParallel")
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel wraps a minigrad.nn.Module, got {type(module).__name__}"
            )
        if find_unused_parameters:
            raise ValueError(
                "DistributedDataParallel(find_unused_parameters=True) is not supported: minigrad "
                "waits for every parameter's gradient in each backward(). Freeze the parameters "
                "a step does not use with p.requires_grad_(False) before wrapping the model."
            )
        bucket_cap_mb = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        if not bucket_cap_mb >= 0:
            raise ValueError(f"bucket_cap_mb must be a size in MiB, >= 0; got {bucket_cap_mb}")
        self.module = module
        named = [(name, p) for name, p in self.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError(
                "DistributedDataParallel: no parameter of this module requires grad, so there "
                "is no gradient to average. Wrap the model you train."
            )
        params = [p for _, p in named]
        device = _single_device(params, device_ids, output_device)
        self.device_ids = None if device is None else [device]
        self.output_device = device
        self.broadcast_buffers = broadcast_buffers
        self.process_group = process_group
        self.require_backward_grad_sync = True  # False inside no_sync()
        names = [name for name, _ in named]
        cap_bytes = int(bucket_cap_mb * 2**20)
        self.reducer = _Reducer(params, names, process_group, cap_bytes, overlap)
        if init_sync:
            self.reducer.check_same_model()
            self.reducer.broadcast_from_first_rank([p._data for p in params], "the parameters")
            self._sync_buffers()
        handles = [p.register_post_accumulate_grad_hook(self.reducer.mark_ready) for p in params]
        weakref.finalize(self, _remove_hooks, handles)  # unwrapped again when this is deleted

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        # As torch decides it: the backward of this forward averages unless inside no_sync().
        # A forward under no_grad() has no backward, and leaves the decision as it was (an
        # evaluation between a forward and its backward must not stop the averaging).
        if is_grad_enabled():
            self.reducer.prepare(sync=self.require_backward_grad_sync)
        if self.broadcast_buffers:
            self._sync_buffers()
        if self.device_ids is not None:
            inputs, kwargs = _to_device((inputs, kwargs), self.device_ids[0])
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this block, backward() keeps each rank's gradients to itself: they add up in
        `.grad` as in one process. The first backward of a forward outside the block then
        averages the sum. For gradient accumulation, with one all-reduce per optimizer step:

            with model.no_sync():
                for xb, yb in micro_batches[:-1]:
                    loss_func(model(xb), yb).backward()
            loss_func(model(last_xb), last_yb).backward()    # averages all of them
            opt.step()
        """
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def _sync_buffers(self) -> None:
        buffers = _buffers(self.module)
        if buffers and self.reducer.world_size > 1:
            self.reducer.broadcast_from_first_rank(buffers, "the buffers")


class _Bucket:
    """Gradients that travel together: parameters of one dtype and device, in one flat tensor."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.params: list[Parameter] = []
        self.numels: list[int] = []
        self.nbytes = 0
        self.pending = 0  # parameters whose gradient is not final yet, in this backward
        self.flat: torch.Tensor | None = None  # the gradients, flattened and divided, once sent
        self.work: Any = None  # the all-reduce in flight (a torch.distributed Work)

    def add(self, p: Parameter) -> None:
        self.params.append(p)
        self.numels.append(p._data.numel())
        self.nbytes += p._data.numel() * p._data.element_size()

    def __repr__(self) -> str:
        names = ", ".join(p.name or "?" for p in self.params)
        return f"_Bucket({self.index}: {names}; {self.nbytes} bytes)"


def assign_buckets(params: Iterable[Parameter], cap_bytes: int) -> list[_Bucket]:
    """Cut the parameters, in reverse order (backward finishes the last layer first), into
    buckets of one dtype and device each; a bucket closes once it holds `cap_bytes` or more."""
    buckets: list[_Bucket] = []
    open_buckets: dict[tuple[torch.dtype, torch.device], _Bucket] = {}
    for p in reversed(list(params)):
        key = (p._data.dtype, p._data.device)
        bucket = open_buckets.get(key)
        if bucket is None:
            bucket = open_buckets[key] = _Bucket(len(buckets))
            buckets.append(bucket)
        bucket.add(p)
        if bucket.nbytes >= cap_bytes:
            del open_buckets[key]
    return buckets


class _Reducer:
    """The all-reduces of one wrapped model (torch's name for this part of its DDP)."""

    def __init__(
        self,
        params: list[Parameter],
        names: list[str],
        group: Any,
        cap_bytes: int,
        overlap: bool,
    ) -> None:
        self.group = group
        self.world_size = dist.get_world_size(group)
        self.overlap = overlap
        self.buckets = assign_buckets(params, cap_bytes)
        self.bucket_of = {id(p): bucket for bucket in self.buckets for p in bucket.params}
        self.name_of = {id(p): name for p, name in zip(params, names)}
        self.sync = True  # set by each forward
        self._start_pass()

    def _start_pass(self) -> None:
        """Ready for the next backward: no gradient final yet, no bucket sent."""
        self.ready: set[int] = set()
        self.next_bucket = 0  # buckets before it are sent
        for bucket in self.buckets:
            bucket.pending = len(bucket.params)
            bucket.flat = bucket.work = None

    def prepare(self, sync: bool) -> None:
        """Called by each forward: the previous backward must have averaged every gradient."""
        if self.ready:
            missing = [name for key, name in self.name_of.items() if key not in self.ready]
            raise DistributedError(
                "DistributedDataParallel: the last backward() gave no gradient to "
                f"{', '.join(missing)}, so the gradients of that step were never averaged (and "
                "the ranks' models may now differ). Every parameter that requires grad must be "
                "used by the loss: freeze the unused ones with p.requires_grad_(False) before "
                "wrapping the model."
            )
        self.sync = sync

    def mark_ready(self, param: Tensor) -> None:
        """The hook each parameter calls when backward has finished its gradient."""
        if not self.sync:  # inside no_sync(): this rank's gradients stay its own
            return
        key = id(param)
        if key in self.ready:
            raise DistributedError(
                f"DistributedDataParallel: {self.name_of[key]} got a gradient twice before "
                "every parameter had one, so its all-reduce would go out twice. Call backward() "
                "once per forward, on a loss that uses every parameter."
            )
        self.ready.add(key)
        self.bucket_of[key].pending -= 1
        if self.overlap:
            self._send_finished_buckets()
        if len(self.ready) == len(self.name_of):  # the last gradient of this backward
            self._finish()

    def _send_finished_buckets(self) -> None:
        """Send, in order, every bucket whose gradients are all final."""
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            self._send(self.buckets[self.next_bucket])
            self.next_bucket += 1

    def _send(self, bucket: _Bucket) -> None:
        """Start the all-reduce of one bucket: flatten, divide by the number of ranks, add up."""
        flat = torch.cat([p.grad._data.reshape(-1) for p in bucket.params])
        flat /= self.world_size  # the sum over ranks of g_r / n is their average
        bucket.work = self._collective(
            f"the all-reduce of gradient bucket {bucket.index}",
            lambda: dist.all_reduce(flat, group=self.group, async_op=True),
        )
        bucket.flat = flat

    def _finish(self) -> None:
        """Wait for every bucket, then copy the averaged gradients back into each `.grad`."""
        for bucket in self.buckets[self.next_bucket :]:
            self._send(bucket)  # without overlap, all of them go now
        for bucket in self.buckets:
            self._collective(f"the all-reduce of gradient bucket {bucket.index}", bucket.work.wait)
            for p, average in zip(bucket.params, bucket.flat.split(bucket.numels)):
                p.grad._data.copy_(average.view(p.grad._data.shape))
        self._start_pass()

    # ---- at construction and before each forward ------------------------------------------

    def check_same_model(self) -> None:
        """Every rank must train the same parameters; a mismatch would corrupt or hang the
        all-reduces, so compare each rank's count of parameters and of numbers first."""
        params = [p for bucket in self.buckets for p in bucket.params]
        mine = torch.tensor(
            [len(params), sum(p._data.numel() for p in params)], device=params[0]._data.device
        )
        everyone = [torch.empty_like(mine) for _ in range(self.world_size)]
        self._collective(
            "comparing the ranks' models", lambda: dist.all_gather(everyone, mine, self.group)
        )
        rank = dist.get_rank(self.group)
        for other_rank, theirs in enumerate(everyone):
            if not torch.equal(theirs, mine):
                raise DistributedError(
                    f"DistributedDataParallel: rank {rank} has {mine[0]} parameters to train "
                    f"({mine[1]} numbers) but rank {other_rank} has {theirs[0]} ({theirs[1]}). "
                    "Every rank must build the same model: the same layers, sizes and frozen "
                    "parameters."
                )

    def broadcast_from_first_rank(self, tensors: list[torch.Tensor], what: str) -> None:
        """Copy the group's first rank's values of `tensors` into every rank's, in place:
        flattened, one broadcast per dtype and device."""
        source = 0 if self.group is None else dist.get_global_rank(self.group, 0)
        groups: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}
        for t in tensors:
            groups.setdefault((t.dtype, t.device), []).append(t)
        for same_kind in groups.values():
            flat = torch.cat([t.reshape(-1) for t in same_kind])
            self._collective(
                f"the broadcast of {what} from rank {source}",
                lambda flat=flat: dist.broadcast(flat, src=source, group=self.group),
            )
            for t, values in zip(same_kind, flat.split([t.numel() for t in same_kind])):
                t.copy_(values.view(t.shape))

    def _collective(self, what: str, call: Callable[[], Any]) -> Any:
        """Run a torch.distributed call; if a rank is gone, say what likely happened."""
        try:
            return call()
        except RuntimeError as error:  # gloo's and NCCL's errors are RuntimeErrors
            rank, world = dist.get_rank(), dist.get_world_size()
            raise DistributedError(
                f"DistributedDataParallel, rank {rank} of {world}: {what} failed. It needs "
                "every rank. Most likely another rank raised an error or died (its traceback, "
                "above or in its log, is the real error), or the ranks are not running the same "
                "steps (each must call forward and backward as many times: a DistributedSampler "
                "gives every rank as many batches). A rank alive but stuck makes the others wait "
                "for the process group's timeout: init_process_group(timeout=timedelta(...)).\n"
                f"torch.distributed said: {error}"
            ) from error


# ---- helpers -------------------------------------------------------------------------------


def _single_device(
    params: list[Parameter],
    device_ids: list[int | str | torch.device] | None,
    output_device: int | str | torch.device | None,
) -> torch.device | None:
    """The device named by device_ids, checked against the parameters' (None if not given)."""
    if device_ids is None:
        if output_device is not None:
            raise ValueError("DistributedDataParallel: output_device needs device_ids too")
        return None
    if len(device_ids) != 1:
        raise ValueError(
            f"DistributedDataParallel(device_ids={device_ids!r}): give the one device this "
            "process's model is on, e.g. device_ids=[local_rank] (one process per GPU)."
        )
    device = _as_device(device_ids[0])
    if output_device is not None and _as_device(output_device) != device:
        raise ValueError(
            f"DistributedDataParallel: output_device {output_device!r} is not the device of "
            f"device_ids ({device}); with one device per process, leave output_device out."
        )
    elsewhere = sorted({str(p.device) for p in params if p.device != device})
    if elsewhere:
        raise ValueError(
            f"DistributedDataParallel(device_ids=[{device_ids[0]!r}]): the model's parameters "
            f"are on {', '.join(elsewhere)}, not on {device}. Build the model on this "
            "process's device first (e.g. device=f'cuda:{local_rank}'), then wrap it."
        )
    return device


def _as_device(device: int | str | torch.device) -> torch.device:
    if isinstance(device, int):
        return torch.device("cuda", device)
    device = torch.device(device)
    return torch.device("cuda", 0) if device.type == "cuda" and device.index is None else device


def _to_device(value: Any, device: torch.device) -> Any:
    """Tensors (also inside tuples, lists and dicts) moved to `device`; anything else as is."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def _buffers(module: Module) -> list[torch.Tensor]:
    """The module's buffers (running statistics), for modules that have them."""
    buffers = getattr(module, "buffers", None)
    if not callable(buffers):
        return []
    return [b._data if isinstance(b, Tensor) else b for b in buffers()]


def _remove_hooks(handles: list[Any]) -> None:
    for handle in handles:
        handle.remove()


# nn.parallel.DataParallel, a torch name minigrad lacks, raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.parallel")
