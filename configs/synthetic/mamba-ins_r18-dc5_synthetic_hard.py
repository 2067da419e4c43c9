# ./mamba-ins_r18-dc5_synthetic.py (instance level only) on the hard synthetic set: the model
# switch of that file on the data of ./mamba_r18-dc5_synthetic_hard.py (tests/tools/analysis/
# test_synthetic_ablation.py checks that the two differ in nothing else).
_base_ = './mamba_r18-dc5_synthetic_hard.py'

model = dict(pixel_level=None)
