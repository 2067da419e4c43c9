# Ablation on the synthetic data: MAMBA R-18-DC5, instance level only.
_base_ = './mamba_r18-dc5_synthetic.py'

model = dict(pixel_level=None)
