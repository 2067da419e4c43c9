"""The RPN's part of a two-stage detector's training step, as mmdet's ``TwoStageDetector.loss``."""
import copy
from typing import Tuple

import torch
from mmdet.structures import SampleList
from torch import Tensor, nn


def rpn_loss_and_proposals(rpn_head: nn.Module, x: Tuple[Tensor], batch_data_samples: SampleList,
                           proposal_cfg) -> Tuple[dict, list]:
    """RPN losses (on class-agnostic ground truth, keys prefixed ``rpn_``) and its proposals.

    Args:
        x: the feature maps ((B, C, h, w),).
        proposal_cfg: how proposals are made from the RPN's outputs (``train_cfg.rpn_proposal``).
    """
    rpn_data_samples = copy.deepcopy(batch_data_samples)
    for data_sample in rpn_data_samples:
        data_sample.gt_instances.labels = torch.zeros_like(data_sample.gt_instances.labels)
    rpn_losses, rpn_results_list = rpn_head.loss_and_predict(x, rpn_data_samples, proposal_cfg=proposal_cfg)
    rpn_losses = {(key if 'loss' not in key or 'rpn' in key else f'rpn_{key}'): value
                  for key, value in rpn_losses.items()}
    return rpn_losses, rpn_results_list
