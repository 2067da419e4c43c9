"""A small box head and instance level in float64 for the instance-head fidelity tests.

Shape shorthand: R RoIs, Cin x 7 x 7 a RoI feature, C channels of the FCs, K rows a frame writes.
"""
import torch

from mamba_vod.registry import MODELS

CIN, C, HEADS, K = 8, 64, 16, 5


def build_head_and_level(**level_options):
    """(box head, instance level), float64, eval mode, seeded weights whose GEO outputs matter."""
    torch.manual_seed(0)
    head = MODELS.build(dict(type='InstanceAggregationBBoxHead', in_channels=CIN, fc_out_channels=C,
                             roi_feat_size=7, num_classes=5)).double().eval()
    level = MODELS.build(dict(type='InstanceLevel', proposals_per_frame=K,
                              memory=dict(type='MemoryBank', capacity=40, key_set_size=12),
                              **level_options)).double().eval()
    return head, level


def rois(num: int) -> torch.Tensor:
    """(num, Cin, 7, 7) RoI features, float64."""
    return torch.randn(num, CIN, 7, 7, dtype=torch.float64)


def spy_key_sets(bank) -> list:
    """Records every key set (slots) ``bank`` draws."""
    drawn, original = [], bank.sample_index

    def sample_index(generator=None):
        index = original(generator)
        drawn.append(index)
        return index

    bank.sample_index = sample_index
    return drawn
