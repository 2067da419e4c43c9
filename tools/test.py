"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out FILE]
[--cfg-options k=v ...] [--launcher pytorch]``. Several GPUs: ``bash tools/dist_test.sh CONFIG CKPT N``."""
import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

from mamba_vod.engine import LAUNCHERS, test_config  # importing mamba_vod prepares mmcv/mmdet


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a mamba_vod detector.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation logs go (default ./work_dirs/<config>)')
    parser.add_argument('--out', help='also write all predictions to this file (see tools/analysis/eval_vid.py)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config entries, e.g. model.test_mode=paper')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local-rank', '--local_rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = test_config(args.config, args.checkpoint, work_dir=args.work_dir, out=args.out,
                      cfg_options=args.cfg_options, launcher=args.launcher)
    runner = Runner.from_cfg(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
