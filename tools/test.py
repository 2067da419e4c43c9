"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out FILE]
[--cfg-options k=v ...] [--launcher pytorch]``. Several GPUs: ``bash tools/dist_test.sh CONFIG CKPT N``."""
import argparse

from mmengine.runner import Runner

from mamba_vod.engine import test_config  # importing mamba_vod prepares mmcv/mmdet
from mamba_vod.engine.cli import add_run_arguments, parse_run_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a mamba_vod detector.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation logs go (default ./work_dirs/<config>)')
    parser.add_argument('--out', help='also write all predictions to this .npz file (see tools/analysis/eval_vid.py)')
    add_run_arguments(parser, 'model.test_mode=paper')
    return parse_run_arguments(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = test_config(args.config, args.checkpoint, work_dir=args.work_dir, out=args.out,
                      cfg_options=args.cfg_options, launcher=args.launcher)
    runner = Runner.from_cfg(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
