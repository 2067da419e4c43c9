# Ablation on the synthetic data: MAMBA R-18-DC5, pixel level only.
_base_ = './mamba_r18-dc5_synthetic.py'

# the base's pixel-level dropout is there for the instance level; alone, the pixel level trains on every clip
model = dict(instance_level=None, train_cfg=dict(pixel=dict(level_dropout=0.0)))
