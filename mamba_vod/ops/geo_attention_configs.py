"""Autotuning spaces of the GEO attention kernels.

Each function is read once, when :mod:`.geo_attention_kernels` is decorated. Under the Triton
interpreter (``TRITON_INTERPRET=1`` at decoration time) every space is one small config: the
interpreter cannot time configs, and 32x32 blocks make the tests' odd sizes span several blocks,
so tails and multi-block loops are exercised.
"""
from typing import Dict, List

import triton

_INTERPRETED = [triton.Config({'BLOCK_M': 32, 'BLOCK_N': 32}, num_warps=1, num_stages=1)]


def _interpreting() -> bool:
    return bool(triton.knobs.runtime.interpret)


def forward_configs() -> List[triton.Config]:
    """Block sizes (BLOCK_M query rows x BLOCK_N keys), warps and pipeline stages of the forward."""
    if _interpreting():
        return list(_INTERPRETED)
    shapes = [(128, 64, 4, 3), (128, 64, 8, 3), (128, 128, 8, 3), (128, 32, 4, 4), (64, 64, 4, 3), (64, 32, 4, 4)]
    return [triton.Config({'BLOCK_M': m, 'BLOCK_N': n}, num_warps=w, num_stages=s) for m, n, w, s in shapes]


def backward_configs() -> List[triton.Config]:
    """Block sizes, warps and stages of the two backward kernels (dK/dV and dQ)."""
    if _interpreting():
        return list(_INTERPRETED)
    shapes = [(64, 64, 4, 2), (64, 64, 8, 3), (32, 64, 4, 3), (64, 32, 4, 3)]
    return [triton.Config({'BLOCK_M': m, 'BLOCK_N': n}, num_warps=w, num_stages=s) for m, n, w, s in shapes]


def prune_configs(configs: List[triton.Config], named_args: Dict, **kwargs) -> List[triton.Config]:
    """Drop configs that cannot pay off for this call, keeping at least one.

    ``named_args`` holds the kernel's arguments (``Q`` the query tensor, ``Nq``, ``Nk`` the row
    counts). Blocks larger than the padded problem only waste lanes (16 is the smallest block
    ``tl.dot`` accepts). fp32 runs on the FMA path (no tensor cores unless tf32), where 128-wide
    tiles spill registers and take minutes to compile, so fp32 keeps tiles of at most 64x64.
    """
    max_m = max(16, triton.next_power_of_2(named_args['Nq']))
    max_n = max(16, triton.next_power_of_2(named_args['Nk']))
    max_tile = 64 if named_args['Q'].dtype.itemsize == 4 else 128
    kept = [c for c in configs if min(max_m, max_tile) >= c.kwargs['BLOCK_M'] and
            min(max_n, max_tile) >= c.kwargs['BLOCK_N']]
    if kept:
        return kept
    smallest = min(c.kwargs['BLOCK_M'] * c.kwargs['BLOCK_N'] for c in configs)
    return [c for c in configs if c.kwargs['BLOCK_M'] * c.kwargs['BLOCK_N'] == smallest]
