"""Every synthetic config trains what its method adds to Faster R-CNN (GEOs, relation modules, flow
networks, embeddings) at a tenth of the learning rate and the rest as the baseline does: one rule
for all methods, so that the comparison does not favour the methods that got it."""
import glob
import os.path as osp

import pytest
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mamba_vod.engine import load_config
from mamba_vod.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASELINE = osp.join(ROOT, 'configs', 'synthetic', 'faster-rcnn_r18-dc5_synthetic.py')
METHODS = sorted(path for path in glob.glob(osp.join(ROOT, 'configs', 'synthetic', '*_synthetic.py'))
                 if path != BASELINE)
#: the box head's extra shared FCs (MEGA, Temporal RoI Align: 3 where Faster R-CNN has 2) are
#: Faster R-CNN's kind of layer and learn at its rate
HEAD_FCS = 'roi_head.bbox_head.shared_fcs.'


def _learning_rates(path):
    """{parameter name: (shape, learning rate)} of the config's model, as its optimiser is built."""
    cfg = load_config(path)
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    lr_of = {id(p): group['lr'] for group in optimizer.param_groups for p in group['params']}
    rates = {name: (tuple(p.shape), lr_of[id(p)]) for name, p in model.named_parameters()}
    return rates, cfg.optim_wrapper.optimizer.lr


@pytest.mark.parametrize('path', METHODS, ids=osp.basename)
def test_what_a_method_adds_learns_at_a_tenth_of_the_rate(path):
    init_default_scope('mamba_vod')
    baseline, base_lr = _learning_rates(BASELINE)
    method, lr = _learning_rates(path)
    assert lr == base_lr
    added = [name for name, (shape, _) in method.items()
             if baseline.get(name, (None,))[0] != shape and not name.startswith(HEAD_FCS)]
    assert added, 'the method adds no parameter to Faster R-CNN?'
    wrong = {name: rate for name, (_, rate) in method.items()
             if rate != pytest.approx(base_lr * (0.1 if name in added else 1.0))}
    assert not wrong, f'{osp.basename(path)}: learning rates off the rule: {wrong}'
