# Ablation on the synthetic data: both levels trained in two stages, the authors' pixel recipe
# (Duckduckgod/MAMBA's 'alignment' configs): a trained instance-level model
# (./mamba-ins_r18-dc5_synthetic.py) gets a pixel level whose GEO alone learns, everything else
# frozen (FrozenModulesHook: no gradients, BN on running statistics). Stage 2 of:
#   python tools/train.py configs/synthetic/mamba-ins_r18-dc5_synthetic.py --work-dir work_dirs/ins
#   python tools/train.py configs/synthetic/mamba-staged_r18-dc5_synthetic.py \
#       --cfg-options load_from=work_dirs/ins/epoch_8.pth
_base_ = './mamba_r18-dc5_synthetic.py'

# every clip goes through the pixel level: nothing else learns beside it
model = dict(train_cfg=dict(pixel=dict(level_dropout=0.0)))
custom_hooks = [dict(type='FrozenModulesHook', modules=['backbone', 'neck', 'rpn_head', 'roi_head', 'instance_level'])]
