"""FrozenModulesHook: the named parts of a model get no gradients and keep their BN statistics."""
from types import SimpleNamespace

import pytest
import torch

from mamba_vod.registry import HOOKS
from tests.models.detectors.mamba_fixtures import build_tiny_mamba, make_clip, make_sample, preprocess


def test_frozen_parts_keep_their_weights_and_statistics_while_the_rest_learns():
    model = build_tiny_mamba(instance_level=False)
    runner = SimpleNamespace(model=model)
    hook = HOOKS.build(dict(type='FrozenModulesHook', modules=['backbone', 'neck', 'rpn_head', 'roi_head']))
    hook.before_train(runner)
    model.train()  # as the loop does at each epoch, after its hooks
    hook.before_train_iter(runner, 0)
    bn = model.backbone.bn1
    before = (bn.running_mean.clone(), model.neck.convs[0].conv.weight.clone())
    inputs, samples = preprocess(model, [make_clip(3, seed=1)], [make_sample(frame_id=5, ref_frame_ids=[2, 9])],
                                 training=True)
    loss, _ = model.parse_losses(model.loss(inputs, samples))
    loss.backward()
    assert not bn.training and torch.equal(bn.running_mean, before[0])
    assert all(p.grad is None for name, p in model.named_parameters() if not name.startswith('pixel_level.'))
    assert all(p.grad is not None for p in model.pixel_level.geo.parameters())
    assert model.pixel_level.training  # the part that learns stays in train mode


def test_a_module_the_model_lacks_is_named():
    runner = SimpleNamespace(model=build_tiny_mamba(instance_level=False))
    with pytest.raises(ValueError, match=r"has no \['instance_level'\]"):
        HOOKS.build(dict(type='FrozenModulesHook', modules=['backbone', 'instance_level'])).before_train(runner)
    with pytest.raises(ValueError, match='list of module names'):
        HOOKS.build(dict(type='FrozenModulesHook', modules='backbone'))
