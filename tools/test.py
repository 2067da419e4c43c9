"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out FILE]
[--protocol NAME] [--allow-partial] [--cfg-options k=v ...] [--launcher pytorch]``.
Several GPUs: ``bash tools/dist_test.sh CONFIG CKPT N [ARGS]``.

CHECKPOINT is a file, an ``http(s)://`` URL or a URI such as ``torchvision://``; it must fit
the model of the config (a checkpoint that leaves model tensors untrained is refused unless
``--allow-partial``)."""
import argparse

from mmengine.runner import Runner

from mamba_vod.engine import TEST_PROTOCOLS, test_config  # importing mamba_vod prepares mmcv/mmdet
from mamba_vod.engine.cli import RUN_ERRORS, add_run_arguments, parse_run_arguments, user_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a mamba_vod detector.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint: a file, or a URL (downloaded once into the torch hub cache)')
    parser.add_argument('--work-dir', help='where the evaluation logs go (default ./work_dirs/<config>)')
    parser.add_argument('--out', help='also write all predictions to this .npz file (see tools/analysis/eval_vid.py)')
    parser.add_argument('--protocol', metavar='NAME',
                        help="video detectors: one of the test protocols the config's detector accepts, e.g. "
                             "'online' (past frames only, in order; every video detector) or 'mamba_offline' "
                             "(alias 'paper': MAMBA's offline protocol, 14 references spread over the video at "
                             f"frame 0, then the other frames shuffled); known: {', '.join(TEST_PROTOCOLS)}; "
                             "default: the config's")
    parser.add_argument('--allow-partial', action='store_true',
                        help='evaluate even if the checkpoint leaves parts of the model untrained (missing or '
                             'mis-shaped tensors keep their random initialisation)')
    add_run_arguments(parser, 'test_dataloader.num_workers=4')
    return parse_run_arguments(parser, argv)


def main(argv=None):
    """Evaluates; a user error (missing file, bad config, a checkpoint that is unsafe, damaged or
    of another model, an unwritable --out) ends with one line on stderr and exit status 1."""
    args = parse_args(argv)
    with user_errors():
        cfg = test_config(args.config, args.checkpoint, work_dir=args.work_dir, out=args.out,
                          cfg_options=args.cfg_options, launcher=args.launcher, protocol=args.protocol,
                          allow_partial=args.allow_partial)
        runner = Runner.from_cfg(cfg)
    with user_errors(RUN_ERRORS):
        return runner.test()


if __name__ == '__main__':
    main()
