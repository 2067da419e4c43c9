"""The configs of configs/custom as a user edits them: a copy with only its data_root and classes
lines changed, in a tree whose ``_base_`` is the repository's, and a tiny model for CPU tests."""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CUSTOM_CONFIGS = {name: os.path.join(ROOT, 'configs', 'custom', f'{name}_custom.py')
                  for name in ('faster-rcnn_r50-dc5', 'mamba_r50-dc5')}

# What a CPU test changes besides the user's two lines: a ResNet-18 from scratch (C5 of 128
# channels), small heads and memories, 64x48 frames, no COCO weights, one epoch of batches of 4.
TINY_OVERRIDES = """
model = dict(
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False,
                  norm_cfg=dict(type='BN', requires_grad=True)),
    rpn_head=dict(in_channels=128, feat_channels=32),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=128), bbox_head=dict(in_channels=128, fc_out_channels=64)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50), rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=30)))
load_from = None
img_scale = (64, 48)
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, batch_sampler=None,
                        dataset=dict(pipeline={train_pipeline}))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(pipeline={test_pipeline}))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=2)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""
TINY_MAMBA = """
model.update(
    pixel_level=dict(geo=dict(channels=128, num_heads=2), memory=dict(capacity=400, key_set_size=50)),
    instance_level=dict(geo=dict(channels=64, num_heads=2), memory=dict(capacity=200, key_set_size=40),
                        proposals_per_frame=10))
model['train_cfg']['pixel'] = dict(num_keys=50)
model['test_cfg']['pixel'] = dict(pixels_per_detection=10)
"""


def edited_custom_config(name: str, folder, data_root: str, classes: tuple) -> str:
    """``configs/custom/<name>_custom.py`` with its data_root and classes lines replaced, under
    ``folder/configs/custom`` (``folder/configs/_base_`` links to the repository's)."""
    path = CUSTOM_CONFIGS[name]
    configs = os.path.join(str(folder), 'configs')
    os.makedirs(os.path.join(configs, 'custom'), exist_ok=True)
    if not os.path.lexists(os.path.join(configs, '_base_')):
        os.symlink(os.path.join(ROOT, 'configs', '_base_'), os.path.join(configs, '_base_'))
    with open(path) as f:
        text = f.read()
    edited = re.sub(r"^data_root = '[^']*'", f'data_root = {data_root!r}', text, count=1, flags=re.M)
    edited = re.sub(r'^classes = \([^)]*\)', f'classes = {classes!r}', edited, count=1, flags=re.M)
    changed = [old.split(' = ')[0] for old, new in zip(text.splitlines(), edited.splitlines()) if old != new]
    assert changed == ['data_root', 'classes'], changed
    copy = os.path.join(configs, 'custom', os.path.basename(path))
    with open(copy, 'w') as f:
        f.write(edited)
    return copy


def tiny_custom_config(name: str, folder, data_root: str, classes: tuple) -> str:
    """A config on top of :func:`edited_custom_config` with :data:`TINY_OVERRIDES` (and the
    MAMBA levels scaled down for MAMBA); the frames resized to 64x48."""
    edited = edited_custom_config(name, folder, data_root, classes)
    video = name.startswith('mamba')
    text = f"_base_ = './{os.path.basename(edited)}'\n" + TINY_OVERRIDES.format(
        train_pipeline=_resized('train', video), test_pipeline=_resized('test', video))
    text += TINY_MAMBA if video else ''
    tiny = os.path.join(os.path.dirname(edited), f'tiny_{os.path.basename(edited)}')
    with open(tiny, 'w') as f:
        f.write(text)
    return tiny


def _resized(split: str, video: bool) -> str:
    """The config expression of the base's ``<split>_pipeline`` resized to ``img_scale`` (wrapped
    for clips of frames when ``video``)."""
    steps = f"[dict(step, scale=img_scale) if step['type'] == 'Resize' else step for step in _base_.{split}_pipeline"
    if not video:
        return steps + ']'
    return (f"[dict(type='FrameBroadcaster', share_random_params=True, transforms={steps}[:-1]]), "
            "dict(type='PackVideoInputs')]")
