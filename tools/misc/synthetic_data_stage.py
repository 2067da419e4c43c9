"""The data stage of ``tools/quickstart.py`` and ``tools/analysis/synthetic_ablation.py``.

:func:`prepare_synthetic_data` writes a synthetic data set with ``make_synthetic_vid.py`` and its
COCO-VID json files with ``tools/dataset_converters/imagenet_vid.py``, or reuses the ones in the
folder when a finished run made them with the same generator arguments, the same code of both
tools and the same packages, and every file is still as it wrote it
(:mod:`mamba_vod.engine.stage_fingerprint`); otherwise it makes them again and says why. The
generator's code is ``make_synthetic_vid.py`` and the ``synthetic_vid_*.py`` modules beside it
(a module of the generator must be named so), the converter's ``tools/dataset_converters/``.
"""
import glob
import os.path as osp
import subprocess
import sys
from typing import Callable, Sequence

from mamba_vod.engine import StageFingerprint, environment, run_stage, source_digest

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
GENERATOR = osp.join(TOOLS, 'misc', 'make_synthetic_vid.py')
CONVERTER = osp.join(TOOLS, 'dataset_converters', 'imagenet_vid.py')


def data_fingerprint(generator_args: Sequence[str]) -> StageFingerprint:
    """What decides the data set: the generator's arguments, the two tools' code and the packages
    they run on (numpy, OpenCV ...; not the device: the data are made on the CPU)."""
    modules = sorted(glob.glob(osp.join(osp.dirname(GENERATOR), 'synthetic_vid_*.py')))
    return StageFingerprint(arguments=' '.join(generator_args),
                            code=source_digest(GENERATOR, *modules, osp.dirname(CONVERTER)),
                            environment=environment(device=False))


def _run_tool(args: Sequence[str]) -> None:
    subprocess.run([sys.executable, *args], cwd=osp.dirname(TOOLS), check=True)


def prepare_synthetic_data(data_root: str, generator_args: Sequence[str], *, force: bool = False,
                           echo: Callable[[str], None] = print) -> StageFingerprint:
    """Makes (or reuses) the data set in ``data_root``: ``Data/``, ``Annotations/``, ``Lists/``
    and ``annotations/imagenet_vid_{train,val}.json`` + ``imagenet_det_30plus1cls.json``.

    Args:
        generator_args: options of ``make_synthetic_vid.py`` besides ``--out``, e.g.
            ``['--preset', 'hard', '--seed', '0']``.

    Returns:
        the data set's fingerprint (a training's ``data``).
    """
    fingerprint = data_fingerprint(generator_args)
    annotations = osp.join(data_root, 'annotations')

    def make(redo: bool) -> None:
        if redo or not osp.isfile(osp.join(data_root, 'Lists', 'VID_val_videos.txt')):
            # --force: the folder holds at most the stage's record or a stale set
            _run_tool([GENERATOR, '--out', data_root, '--force', *generator_args])
        if redo or not osp.isfile(osp.join(annotations, 'imagenet_vid_val.json')):
            _run_tool([CONVERTER, '-i', data_root, '-o', annotations])

    run_stage('data', data_root, fingerprint, make, force=force, echo=echo)
    return fingerprint
