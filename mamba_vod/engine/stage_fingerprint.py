"""When a finished stage (data set, training, evaluation) may be reused: its fingerprint.

A stage's fingerprint is a set of named sha256 digests of what decides its outputs:

- ``config``: the fully merged config (file + ``cfg_options``, data moved by
  :func:`~.experiment.rebase_paths`), as canonical JSON;
- ``code``: the sources that run it: for a training or an evaluation, the package files that
  decide what its config builds and runs (:func:`config_code_digest`, over
  :func:`.config_code.config_code_files`: the registered types it names, the train/test plumbing
  and what they import), so a new detector file or an edited video writer leaves finished
  trainings of other configs reusable; :func:`source_digest` for tools and scripts
  (:func:`.config_code.script_code_files`: a script and what it imports). Code is read as its
  syntax tree without docstrings, so editing a comment or a docstring changes nothing;
- ``environment``: :func:`environment`, the versions of every package that can change a
  figure (torch, triton, mmcv, mmengine, mmdet, numpy, OpenCV, pycocotools, Pillow ...) and
  the device;
- the fingerprints of the stages it consumes (``data`` for a training, ``model`` for an
  evaluation), so a new data set retrains and a retrained model is evaluated again.

:func:`run_stage` records the fingerprint in ``FOLDER/stage_fingerprint.json`` when the stage
starts and, when it ends, marks it finished with the manifest of the files it wrote
(:mod:`.stage_outputs`: sizes and modification times, checked with one ``stat`` per file).
What a folder holds is reused only when its record matches, the stage finished and its files
are still those it wrote; otherwise the stage is redone and one line says why (a folder with
outputs but no record too). A stage that can resume (a training: mmengine resumes from its
last checkpoint) resumes an unfinished run of the same fingerprint instead, and says so.
:func:`train_stage` and :func:`evaluate_stage` are :func:`~.experiment.train` and
:func:`~.experiment.evaluate` under that rule (used by ``tools/quickstart.py`` and
``tools/analysis/synthetic_ablation.py``).
"""
import ast
import functools
import hashlib
import json
import os
import os.path as osp
import platform
from importlib import metadata
from typing import Callable, Dict, Optional, Sequence, Tuple, TypeVar

import cv2
import torch
from mmengine.config import Config

from ..utils import atomic_write
from .config_code import config_code_files, script_code_files
from .experiment import evaluate, rebase_paths, train
from .run_config import load_config
from .stage_outputs import ALL_FILES, manifest_change, output_manifest

FINGERPRINT_FILE = 'stage_fingerprint.json'
# The distributions whose version can change a figure (OpenCV by its module: it ships under several names).
LIBRARIES = ('torch', 'torchvision', 'triton', 'mmcv', 'mmcv-lite', 'mmengine', 'mmdet', 'numpy', 'pycocotools',
             'pillow')
UNFINISHED = 'its last run did not finish'
T = TypeVar('T')


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def config_digest(cfg: Config) -> str:
    """sha256 of the merged config ``cfg`` as canonical JSON (sorted keys; tuples as lists)."""
    return _sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=repr))


def _code_text(source: str, path: str) -> str:
    """The syntax tree of ``source`` without docstrings (comments are not in it)."""
    tree = ast.parse(source, filename=path)
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _python_files(path: str):
    """(name, path) of ``path`` (a file) or of the ``.py`` files under it (a folder), sorted."""
    if osp.isfile(path):
        yield osp.basename(path), path
        return
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(n for n in names if n.endswith('.py')):
            yield osp.relpath(osp.join(folder, name), path), osp.join(folder, name)


def source_digest(*paths: str) -> str:
    """sha256 of the Python code in ``paths`` (files, or folders searched for ``.py`` files):
    each file's name (relative to its folder) and syntax tree without docstrings."""
    lines = []
    for root in paths:
        for name, path in _python_files(root):
            with open(path, encoding='utf-8') as f:
                lines.append(f'{name} {_sha256(_code_text(f.read(), path))}')
    return _sha256('\n'.join(lines))


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return '-'


def config_code_digest(cfg: Config) -> str:
    """sha256 of the package code that decides what ``cfg`` builds and runs
    (:func:`.config_code.config_code_files`)."""
    return source_digest(*config_code_files(cfg))


def script_code_digest(script: str) -> str:
    """sha256 of ``script`` and the package code it imports (:func:`.config_code.script_code_files`)."""
    return source_digest(*script_code_files(script))


def _device() -> str:
    """The device a run of this process uses: the first GPU's name and CUDA version, or the CPU."""
    if torch.cuda.is_available():
        return f'{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})'
    return 'cpu'


@functools.lru_cache(maxsize=2)
def environment(device: bool = True) -> str:
    """The versions of :data:`LIBRARIES`, OpenCV and Python, and (``device``) the device, as
    one line: what besides the code can change a stage's figures."""
    versions = [f'{name}={_version(name)}' for name in LIBRARIES]
    versions += [f'opencv={cv2.__version__}', f'python={platform.python_version()}']
    return ' '.join(versions + ([f'device={_device()}'] if device else []))


class StageFingerprint:
    """Named digests (or short texts, e.g. a protocol) of what decides a stage's outputs, e.g.
    ``StageFingerprint(config=..., code=...)``; ``value`` is one sha256 of them all."""

    def __init__(self, **parts: str) -> None:
        self.parts = dict(sorted(parts.items()))

    @property
    def value(self) -> str:
        return _sha256(json.dumps(self.parts, sort_keys=True))

    def __eq__(self, other) -> bool:
        return isinstance(other, StageFingerprint) and self.parts == other.parts

    def __repr__(self) -> str:
        return f'StageFingerprint({self.value[:12]}: {", ".join(self.parts)})'

    def record(self, folder: str, *, stage: str, finished: bool, outputs: Sequence[str] = ALL_FILES) -> None:
        """Writes ``folder/stage_fingerprint.json`` (atomically); a finished stage's record holds
        the manifest of its ``outputs`` (glob patterns, see :func:`.stage_outputs.output_manifest`)."""
        record = dict(stage=stage, fingerprint=self.value, parts=self.parts, finished=finished)
        if finished:
            record['outputs'] = output_manifest(folder, outputs, FINGERPRINT_FILE)
        text = json.dumps(record, indent=2)
        atomic_write(osp.join(folder, FINGERPRINT_FILE), lambda f: f.write(text.encode('utf-8')))

    def why_not_reusable(self, folder: str, *, outputs: Sequence[str] = ALL_FILES) -> Optional[str]:
        """None when ``folder`` holds what a finished run under this fingerprint wrote there (its
        ``outputs`` unchanged on disk), or nothing; else why not, in a few words
        (:data:`UNFINISHED` for a run of this fingerprint that did not finish)."""
        path = osp.join(folder, FINGERPRINT_FILE)
        if not osp.isfile(path):
            held = osp.isdir(folder) and any(name != FINGERPRINT_FILE for name in os.listdir(folder))
            return 'its outputs have no fingerprint (made by an older version, or by hand)' if held else None
        try:
            with open(path) as f:
                record = json.load(f)
            recorded, finished, manifest = record['parts'], record['finished'], record.get('outputs')
        except (OSError, ValueError, KeyError, TypeError):
            return f'its fingerprint file {path} is unreadable'
        changed = sorted(name for name in recorded.keys() | self.parts.keys()
                         if recorded.get(name) != self.parts.get(name))
        if changed:
            return f'its {", ".join(changed)} changed since it ran'
        if finished is not True:
            return UNFINISHED
        if not isinstance(manifest, dict):
            return 'its record lists no outputs (made by an older version)'
        return manifest_change(manifest, output_manifest(folder, outputs, FINGERPRINT_FILE))


def run_stage(stage: str, folder: str, fingerprint: StageFingerprint, run: Callable[[bool], T], *,
              outputs: Sequence[str] = ALL_FILES, resumable: bool = False, force: bool = False,
              echo: Callable[[str], None] = print) -> T:
    """``run(force)`` with ``force`` set when the outputs in ``folder`` may not be reused.

    Args:
        stage: its name in the messages, e.g. 'train mamba'.
        run: does the stage (reusing what ``folder`` holds unless its argument is True) and
            returns its result.
        outputs: glob patterns (relative to ``folder``) of the files the stage writes and its
            consumers read; all files by default.
        resumable: ``run(False)`` resumes an unfinished run of the same fingerprint (else it
            is redone).
        force: redo the stage whatever its record says.
    """
    reason = None if force else fingerprint.why_not_reusable(folder, outputs=outputs)
    if reason == UNFINISHED and resumable:
        echo(f'{stage}: {reason}; resuming it')
        reason = None
    elif reason:
        echo(f'{stage}: {reason}; redoing it')
    os.makedirs(folder, exist_ok=True)
    fingerprint.record(folder, stage=stage, finished=False)
    result = run(force or reason is not None)
    fingerprint.record(folder, stage=stage, finished=True, outputs=outputs)
    return result


#: what a training writes and its consumers read (:func:`train_stage`), and an evaluation's
TRAINING_OUTPUTS = ('*.pth', 'last_checkpoint')
EVALUATION_OUTPUTS = ('test_metrics.json', '*.npz')


def _run_fingerprint(config: str, cfg_options: Optional[dict], data_root: Optional[tuple], **parts: str
                     ) -> StageFingerprint:
    """The fingerprint of a run of ``config``: its merged config, the code it builds and runs, the
    environment, and ``parts`` (what it consumes)."""
    cfg = load_config(config, cfg_options)
    return StageFingerprint(config=config_digest(rebase_paths(cfg, *data_root) if data_root else cfg),
                            code=config_code_digest(cfg), environment=environment(), **parts)


def training_fingerprint(config: str, *, data: StageFingerprint, data_root: Optional[tuple] = None,
                         cfg_options: Optional[dict] = None) -> StageFingerprint:
    """What :func:`train_stage` records for these arguments: a folder's training is current when
    ``training_fingerprint(...).why_not_reusable(folder, outputs=TRAINING_OUTPUTS)`` is None."""
    return _run_fingerprint(config, cfg_options, data_root, data=data.value)


def evaluation_fingerprint(config: str, *, model: StageFingerprint, data_root: Optional[tuple] = None,
                           cfg_options: Optional[dict] = None, protocol: Optional[str] = None) -> StageFingerprint:
    """What :func:`evaluate_stage` records for these arguments (``model``: the training's)."""
    return _run_fingerprint(config, cfg_options, data_root, model=model.value, protocol=str(protocol))


def train_stage(config: str, work_dir: str, *, data: StageFingerprint, data_root: Optional[tuple] = None,
                cfg_options: Optional[dict] = None, force: bool = False,
                echo: Callable[[str], None] = print) -> Tuple[str, StageFingerprint]:
    """:func:`~.experiment.train` (same arguments), redone unless the config, the code, the
    environment and ``data`` (the data set's fingerprint) are those of the run in ``work_dir``
    and its checkpoints are as it left them; an unfinished run of the same fingerprint resumes.

    Returns:
        the checkpoint and the training's fingerprint (an evaluation's ``model``).
    """
    fingerprint = training_fingerprint(config, data=data, data_root=data_root, cfg_options=cfg_options)
    checkpoint = run_stage(f'train {config}', work_dir, fingerprint,
                           lambda redo: train(config, work_dir, data_root=data_root, cfg_options=cfg_options,
                                              force=redo), outputs=TRAINING_OUTPUTS, resumable=True,
                           force=force, echo=echo)
    return checkpoint, fingerprint


def evaluate_stage(config: str, checkpoint: str, work_dir: str, *, model: StageFingerprint,
                   data_root: Optional[tuple] = None, cfg_options: Optional[dict] = None, out: Optional[str] = None,
                   protocol: Optional[str] = None, force: bool = False,
                   echo: Callable[[str], None] = print) -> Dict[str, float]:
    """:func:`~.experiment.evaluate` (same arguments), redone unless the config, the protocol,
    the code, the environment and ``model`` (the training's fingerprint) are those of the
    metrics in ``work_dir``, and its metrics and predictions are as it left them."""
    fingerprint = evaluation_fingerprint(config, model=model, data_root=data_root, cfg_options=cfg_options,
                                         protocol=protocol)
    return run_stage(f'test {config}' + (f' ({protocol} protocol)' if protocol else ''), work_dir, fingerprint,
                     lambda redo: evaluate(config, checkpoint, work_dir, data_root=data_root, cfg_options=cfg_options,
                                           out=out, force=redo, protocol=protocol),
                     outputs=EVALUATION_OUTPUTS, force=force, echo=echo)
