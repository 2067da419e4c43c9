# ./mamba-enhanced_r18-dc5_synthetic.py (both levels, enhanced features in the instance memory)
# on the hard synthetic set: the model switch of that file on the data of
# ./mamba_r18-dc5_synthetic_hard.py (tests/tools/analysis/test_synthetic_ablation.py checks that
# the two differ in nothing else).
_base_ = './mamba_r18-dc5_synthetic_hard.py'

# (the release composition's: the paper's memory holds the first FC's rows)
model = dict(instance_level=dict(composition='release', memory_features='enhanced'))
