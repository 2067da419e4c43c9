"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out FILE]
[--protocol {online,paper}] [--cfg-options k=v ...] [--launcher pytorch]``.
Several GPUs: ``bash tools/dist_test.sh CONFIG CKPT N [ARGS]``."""
import argparse

from mmengine.runner import Runner

from mamba_vod.engine import TEST_PROTOCOLS, test_config  # importing mamba_vod prepares mmcv/mmdet
from mamba_vod.engine.cli import add_run_arguments, parse_run_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a mamba_vod detector.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the evaluation logs go (default ./work_dirs/<config>)')
    parser.add_argument('--out', help='also write all predictions to this .npz file (see tools/analysis/eval_vid.py)')
    parser.add_argument('--protocol', choices=TEST_PROTOCOLS,
                        help="video detectors: 'online' (past frames only, in order) or 'paper' (MAMBA's offline "
                             'protocol: 14 references spread over the video at frame 0, then the other frames '
                             "shuffled); default: the config's")
    add_run_arguments(parser, 'test_dataloader.num_workers=4')
    return parse_run_arguments(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = test_config(args.config, args.checkpoint, work_dir=args.work_dir, out=args.out,
                      cfg_options=args.cfg_options, launcher=args.launcher, protocol=args.protocol)
    runner = Runner.from_cfg(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
