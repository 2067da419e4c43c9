"""The oracle bound of an instance-level method: its trained model tested with the keys of each query
restricted by the ground truth.

    python tools/analysis/oracle_bound.py CONFIG CHECKPOINT --keys learned|same-object|other-objects
        [--protocol online|NAME] [--data-root DIR] [--cfg-options KEY=VALUE ...] [--work-dir DIR] [--json OUT]

Tests CONFIG with CHECKPOINT as ``tools/test.py`` does (same config path, Runner, protocol, VIDMetric
with its degraded / clean subsets), except that in every instance-level attention of the model the
keys a query may attend to are chosen by ``--keys``:

- ``learned``: no restriction: ``tools/test.py``'s metrics, number for number;
- ``same-object``: a query RoI that is an object (IoU >= 0.5 with a ground-truth box of its frame:
  that box's instance id, :func:`instance_retrieval.roi_identities`) attends only to the keys that
  are proposals of the same object in their own frames;
- ``other-objects``: an object query attends only to proposals of the video's other objects
  (instance id >= 0 and not its own), the opposite control.

A query that is background or ambiguous, of a frame without ground truth, or whose object has no
key in the key set (no key of another object for ``other-objects``) keeps its learned attention;
the tool reports how many queries were restricted. Restricting is exact: the attention module runs,
with its own code, on the restricted rows of the queries over the allowed keys alone (what a
softmax with -inf on the other keys gives); everything else of the model is unchanged. With
``centre_values`` a GEO's value mean is over the key set it receives, i.e. the allowed keys.

Identities come from the test evaluator's ``ann_file`` (COCO-VID with ``instance_id``), boxes
compared in original-image pixels (proposals divided by the frame's ``scale_factor``). Nothing of
the model or its configs changes: the tool wraps methods of the built model's modules (instance
attributes, removed afterwards). One adapter per method family, each knowing its keys' boxes:

- :class:`InstanceLevelOracle` (MAMBA with an instance level, both levels too; SELSA; Temporal
  RoI Align): the keys are rows of the instance level's memory banks (followed by the frame's own
  rows with ``self_keys``, or the frame's own rows alone while the banks are empty), or, at frame 0
  of MAMBA's offline protocol, the references' rows. Every row written to a bank carries its
  identity as one more extra of the bank (same slot, so the bank's own appends, random or oldest
  replacements keep them aligned); the rows' boxes are those of the ``embed_proposals`` call that
  gave them (matched by equal values) and their frames the write's ``frame_ids``. A key set is the
  slots the bank drew (its ``sample_index``, recorded), so its identities are the identity
  extra at those slots; the paper composition's second GEO reads the same slots. Queries are the
  RoIs of the RoI extractor's last call, of the frame being detected (a MAMBA initial frame of the
  offline protocol: the reference it is). Temporal RoI Align: only its SELSA aggregation is
  restricted; its per-pixel RoI extractor over reference maps is not keyed by proposals.
- :class:`RelationOracle` (MEGA, RDN): the keys and queries of a relation are rows of entries
  (one frame's rows and boxes): the window's, their first k (distilled), the stage memories', the
  global pool's, in the order ``relation_level`` concatenates them, which the oracle rebuilds per
  call from the :class:`RelationKeys` being read and checks (equal boxes, equal global rows). Each
  entry is identified once, when ``frame_entries`` makes it (the frame detected, or its
  references), by the storage of its boxes, which the state's detached copies and the distilled
  slices share; what a stage memory takes is the window's oldest entry's rows. Queries are the
  RoIs of the frame detected, or (the stages' references, RDN's advanced stage) window rows.

Queries are counted per attention call (a RoI read by two GEOs counts twice; MEGA's reference rows,
queries of its stages too), attributed to the test frame being detected.

A single-frame detector, DFF and FGFA have no instance-level keys and are refused.
"""
import argparse
import os.path as osp
import sys
import tempfile
from typing import Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from oracle import KEYS, FrameTruth, InstanceLevelOracle, Oracle, RelationOracle  # noqa: E402  (beside this script)

from mamba_vod.engine import TEST_PROTOCOLS, load_config, rebase_paths, test_config  # noqa: E402
from mamba_vod.engine.cli import user_errors  # noqa: E402
from mamba_vod.evaluation.functional import load_vid_annotations, read_frame_subset, write_json  # noqa: E402
from mamba_vod.models.detectors import MAMBA, MEGA, SELSA  # noqa: E402
from mamba_vod.registry import MODELS  # noqa: E402

SUPPORTED = 'MAMBA with an instance level, SELSA, Temporal RoI Align, RDN, MEGA'


def oracle_for(model, truth: FrameTruth, keys: str) -> Oracle:
    """The adapter of the model's method family, installed; ValueError for a model without
    instance-level keys."""
    if getattr(model, 'instance_level', None) is not None and isinstance(model, (MAMBA, SELSA)):
        return InstanceLevelOracle(model, truth, keys)
    if getattr(model, 'relation_level', None) is not None and isinstance(model, MEGA):
        return RelationOracle(model, truth, keys)
    raise ValueError(f'{type(model).__name__} has no instance-level keys to restrict; supported: {SUPPORTED}')


def check_supported(cfg: Config, config: str) -> None:
    """Refuses, before any work, a config whose model has no instance-level keys."""
    kind = cfg.model.get('type')
    detector = MODELS.get(kind) if isinstance(kind, str) else kind
    if isinstance(detector, type) and (
            issubclass(detector, (MAMBA, SELSA)) and cfg.model.get('instance_level') is not None
            or issubclass(detector, MEGA) and cfg.model.get('relation_level') is not None):
        return
    raise ValueError(f'{config}: its model ({kind}) has no instance-level keys to restrict; oracle_bound supports '
                     f'{SUPPORTED}')


def evaluate(config: str, checkpoint: str, keys: str, *, protocol: Optional[str] = None, data_root=None,
             cfg_options: Optional[dict] = None, work_dir: Optional[str] = None) -> dict:
    """Tests ``config`` with ``checkpoint`` under :data:`KEYS` ``keys``; returns ``{'subsets': {subset:
    {'mAP' (%), 'queries', 'object_queries', 'restricted'}}, 'metrics'}``."""
    if keys not in KEYS:
        raise ValueError(f'--keys must be one of {KEYS}, got {keys!r}')
    cfg = load_config(config, cfg_options)
    if data_root:
        if not cfg.get('data_root'):
            raise ValueError(f'{config} names no data_root to move to {data_root}')
        cfg = rebase_paths(cfg, cfg.data_root, data_root)
    check_supported(cfg, config)
    with tempfile.TemporaryDirectory() as scratch:
        runner = Runner.from_cfg(test_config(cfg, checkpoint, work_dir=work_dir or scratch, protocol=protocol))
        evaluator = runner.cfg.test_evaluator
        annotations = load_vid_annotations(evaluator['ann_file'])
        members = {name: set(annotations.img_ids[read_frame_subset(path, annotations)].tolist())
                   for name, path in (evaluator.get('frame_subsets') or {}).items()}
        oracle = oracle_for(runner.model, FrameTruth.from_ann_file(evaluator['ann_file']), keys)
        try:
            metrics = runner.test()
        finally:
            oracle.remove()
    table = oracle.summary(members)
    for subset, row in table.items():
        name = 'mAP' if subset == 'all' else f'mAP_{subset}'
        found = [value for key, value in metrics.items() if key.split('/')[-1] == name]
        if not found:
            raise KeyError(f'the test metrics have no {name} (a VIDMetric with frame_subsets): {sorted(metrics)}')
        row['mAP'] = 100 * found[0]
    return dict(subsets=table, metrics=metrics)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Test a trained instance-level method with each query's keys "
                                     'restricted by the ground truth (the oracle bound).')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--keys', choices=KEYS, required=True,
                        help="learned: the model's own attention; same-object / other-objects: an object query "
                             "attends only to proposals of its own object / of the video's other objects")
    parser.add_argument('--protocol', metavar='NAME',
                        help=f"a test protocol of the detector ({', '.join(TEST_PROTOCOLS)}); default: the config's")
    parser.add_argument('--data-root', help="the data set's folder, when it is not the config's data_root")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, metavar='KEY=VALUE')
    parser.add_argument('--work-dir', help='keep the evaluation logs there (default: a temporary folder)')
    parser.add_argument('--json', help='also write the table to this JSON file')
    return parser.parse_args(argv)


def main(argv: Sequence[str] = None) -> dict:
    args = parse_args(argv)
    with user_errors():
        result = evaluate(args.config, args.checkpoint, args.keys, protocol=args.protocol, data_root=args.data_root,
                          cfg_options=args.cfg_options, work_dir=args.work_dir)
    result = dict(config=args.config, checkpoint=args.checkpoint, keys=args.keys, protocol=args.protocol, **result)
    print(f'keys={args.keys}: {args.config}')
    print(f"{'subset':<10} {'mAP@0.5 (%)':>11} {'restricted':>10} {'object queries':>14} {'queries':>8}")
    for subset, row in result['subsets'].items():
        print(f"{subset:<10} {row['mAP']:>11.2f} {row['restricted']:>10} {row['object_queries']:>14} "
              f"{row['queries']:>8}")
    if args.json:
        write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
