"""Train a detector: ``python tools/train.py CONFIG [--work-dir D] [--resume [CKPT]] [--amp]
[--cfg-options k=v ...] [--launcher pytorch]``. Several GPUs: ``bash tools/dist_train.sh CONFIG N``."""
import argparse

from mmengine.runner import Runner

from mamba_vod.engine import train_config  # importing mamba_vod prepares mmcv/mmdet
from mamba_vod.engine.cli import RUN_ERRORS, add_run_arguments, parse_run_arguments, user_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a mamba_vod detector.')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default ./work_dirs/<config>)')
    parser.add_argument('--resume', nargs='?', const='auto', metavar='CKPT',
                        help='resume from CKPT (a path or URL), or from the latest checkpoint in the work dir '
                             'when no CKPT')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr to the total batch size (auto_scale_lr.base_batch_size)')
    add_run_arguments(parser, 'train_cfg.max_epochs=2 model.backbone.depth=101')
    return parse_run_arguments(parser, argv)


def main(argv=None):
    """Trains; a user error (missing file, bad config or checkpoint, unwritable work dir) ends
    with one line on stderr and exit status 1."""
    args = parse_args(argv)
    with user_errors():
        cfg = train_config(args.config, work_dir=args.work_dir, resume=args.resume, amp=args.amp,
                           auto_scale_lr=args.auto_scale_lr, cfg_options=args.cfg_options, launcher=args.launcher)
        runner = Runner.from_cfg(cfg)
    with user_errors(RUN_ERRORS):
        runner.train()
    return runner


if __name__ == '__main__':
    main()
