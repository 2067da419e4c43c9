"""Distributed runs on machines without a GPU (torchrun + gloo on CPU).

mmengine 0.10's pytorch launcher always calls ``torch.cuda.set_device``, which
fails where there is no GPU. Where CUDA is unavailable, the process group is
initialised without it; with a GPU mmengine's own code runs unchanged.
"""
import os

import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as dist_utils

_original_init_dist_pytorch = dist_utils._init_dist_pytorch


def _init_dist_pytorch(backend='nccl', init_backend='torch', **kwargs) -> None:
    if torch.cuda.is_available() or init_backend != 'torch':
        return _original_init_dist_pytorch(backend, init_backend=init_backend, **kwargs)
    if backend == 'nccl':
        raise RuntimeError("dist_cfg.backend='nccl' needs GPUs; this machine has none: use "
                           "--cfg-options env_cfg.dist_cfg.backend=gloo")
    torch_dist.init_process_group(backend=backend, rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **kwargs)


def install_cpu_distributed() -> None:
    """Lets mmengine's pytorch launcher start process groups without CUDA. Idempotent."""
    dist_utils._init_dist_pytorch = _init_dist_pytorch
