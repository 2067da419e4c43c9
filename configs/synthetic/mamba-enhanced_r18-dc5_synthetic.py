# Ablation on the synthetic data: MAMBA R-18-DC5, both levels, the instance memory storing each
# frame's enhanced proposal features (after the GEOs, as the authors' released model does) instead
# of the raw ones that training keys on.
_base_ = './mamba_r18-dc5_synthetic.py'

# (the release composition's: the paper's memory holds the first FC's rows)
model = dict(instance_level=dict(composition='release', memory_features='enhanced'))
