"""The contract every video detector passes (:class:`BaseVideoDetector` and its methods).

One row of :data:`DETECTORS` per detector config; a new method adds its synthetic config here.
For each row:

- a training step gives finite losses and gradients that reach the method's own modules;
- every test protocol the detector declares runs (model side: frames, or clips with references,
  as the data side feeds them) and its references matter;
- :class:`StreamingDetector` gives, box for box, what ``tools/test.py`` gives online;
- a stream of a :class:`MultiStreamDetector` gives what a :class:`StreamingDetector` gives, with
  the config as it is (no seed set), while another stream runs other frames;
- with the method's aggregation switched off, the detector is mmdet's Faster R-CNN on the key
  frame: the same losses and detections, number for number.

Random weights throughout, with the aggregation's outputs not started at 0, so that the stream
state and the references change the detections.
"""
import copy
import importlib.util
import os
import random
from typing import Dict, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.apis import MultiStreamDetector, StreamingDetector, init_detector
from mamba_vod.datasets.test_protocol import NAMED_PROTOCOLS, build_protocol
from mamba_vod.evaluation.functional import load_vid_predictions
from mamba_vod.models.detectors import BaseVideoDetector
from mamba_vod.registry import MODELS

from .mamba_fixtures import make_clip, make_sample, preprocess
from .test_mamba_pinned import one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)  # tiny models run fastest on one thread

_spec = importlib.util.spec_from_file_location(
    'stream_test_utils', os.path.join(os.path.dirname(__file__), '..', '..', 'apis', 'stream_test_utils.py'))
utils = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(utils)


class Row(NamedTuple):
    """A detector config under contract.

    name: the row's test id. config: path under configs/.
    options: ``--cfg-options`` (dotted keys, plain values) every run of the row uses: small
        states, so that they sample and replace within a few frames.
    init_options: options of the weights only (the aggregation's outputs not started at 0).
    train_options: options of the training step (e.g. no dropout of a level).
    own: the module names of the method's own parameters (gradients must reach each).
    switch_off: options that switch the aggregation off, or None (no switch).
    faster_rcnn: options that make the switched-off config mmdet's Faster R-CNN (types only).
    """
    name: str
    config: str
    options: Dict[str, object]
    init_options: Dict[str, object]
    train_options: Dict[str, object]
    own: Tuple[str, ...]
    switch_off: Optional[Dict[str, object]]
    faster_rcnn: Dict[str, object]


MAMBA_TYPES_TO_FASTER_RCNN = {'model.type': 'FasterRCNN', 'model.data_preprocessor.type': 'DetDataPreprocessor',
                              'model.roi_head.type': 'StandardRoIHead',
                              'model.roi_head.bbox_head.type': 'Shared2FCBBoxHead'}
DETECTORS = [
    Row('mamba', os.path.join(utils.REPO, 'configs', 'synthetic', 'mamba_r18-dc5_synthetic.py'),
        options={'model.instance_level.memory.capacity': 60, 'model.instance_level.memory.key_set_size': 30,
                 'model.pixel_level.memory.capacity': 60, 'model.pixel_level.memory.key_set_size': 20,
                 'model.test_cfg.pixel.score_thr': 0.0, 'model.test_cfg.pixel.pixels_per_detection': 4},
        init_options={'model.pixel_level.geo.zero_init_output': False,
                      'model.instance_level.geo.zero_init_output': False},
        train_options={'model.train_cfg.pixel.level_dropout': 0.0},
        own=('pixel_level', 'instance_level'),
        switch_off={'model.pixel_level': None, 'model.instance_level': None},
        faster_rcnn=MAMBA_TYPES_TO_FASTER_RCNN),
    Row('selsa', os.path.join(utils.REPO, 'configs', 'synthetic', 'selsa_r18-dc5_synthetic.py'),
        options={'model.past_frames': 3},
        init_options={'model.instance_level.geo.zero_init_output': False},
        train_options={}, own=('instance_level', ),
        switch_off={'model.instance_level': None},
        faster_rcnn=MAMBA_TYPES_TO_FASTER_RCNN),
    # every pixel among the most similar points: a top-2 of near-equal cosines could flip with the
    # arithmetic of batching (the multi-stream comparison's tolerance)
    Row('selsa-troialign', os.path.join(utils.REPO, 'configs', 'synthetic', 'selsa-troialign_r18-dc5_synthetic.py'),
        options={'model.past_frames': 3, 'model.roi_head.bbox_roi_extractor.num_most_similar_points': 10000},
        init_options={'model.instance_level.geo.zero_init_output': False},
        train_options={}, own=('instance_level', ),
        switch_off={'model.instance_level': None, 'model.roi_head.bbox_roi_extractor': dict(
            _delete_=True, type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
            out_channels=64, featmap_strides=[16])},
        faster_rcnn={**MAMBA_TYPES_TO_FASTER_RCNN, 'model.roi_head.bbox_head.type': 'ConvFCBBoxHead'}),
    # key frames 0 and 3 of the 6-frame videos: both kinds of frame, and a key frame replaced
    Row('dff', os.path.join(utils.REPO, 'configs', 'synthetic', 'dff_r18-dc5_synthetic.py'),
        options={'model.test_cfg.key_frame_interval': 3}, init_options={}, train_options={}, own=('motion', ),
        switch_off={'model.motion': None},
        faster_rcnn={'model.type': 'FasterRCNN', 'model.data_preprocessor.type': 'DetDataPreprocessor'}),
    # 3 past frames online, so that the oldest leave within the 6-frame videos
    Row('fgfa', os.path.join(utils.REPO, 'configs', 'synthetic', 'fgfa_r18-dc5_synthetic.py'),
        options={'model.test_cfg.num_online_refs': 3}, init_options={}, train_options={}, own=('motion', 'aggregator'),
        switch_off={'model.motion': None, 'model.aggregator': None},
        faster_rcnn={'model.type': 'FasterRCNN', 'model.data_preprocessor.type': 'DetDataPreprocessor'}),
    # MEGA and RDN keep their protocols' windows (25 / 37 frames), so their memory fills after
    # the contract's videos: tests/models/detectors/test_mega.py runs it with a small window
    Row('mega', os.path.join(utils.REPO, 'configs', 'synthetic', 'mega_r18-dc5_synthetic.py'),
        options={}, init_options={}, train_options={}, own=('relation_level', ),
        switch_off={'model.relation_level': None},
        faster_rcnn={**MAMBA_TYPES_TO_FASTER_RCNN, 'model.roi_head.bbox_head.type': 'ConvFCBBoxHead'}),
    Row('rdn', os.path.join(utils.REPO, 'configs', 'synthetic', 'rdn_r18-dc5_synthetic.py'),
        options={}, init_options={}, train_options={}, own=('relation_level', ),
        switch_off={'model.relation_level': None},
        faster_rcnn={**MAMBA_TYPES_TO_FASTER_RCNN, 'model.roi_head.bbox_head.type': 'ConvFCBBoxHead'}),
]
IDS = [row.name for row in DETECTORS]
VIDEO_LENGTH, HEIGHT, WIDTH = 6, 128, 160


def protocol_feed(protocol: str, video_length: int) -> List[Tuple[int, List[int]]]:
    """How the data side feeds ``protocol`` (its registered object): (frame id, its references)
    in processing order."""
    feed = build_protocol(protocol)
    order = feed.frame_order([list(range(video_length))])[0]
    return [(frame_id, feed.references(frame_id, video_length)) for frame_id in order]


def _cfg(row: Row, *option_sets: dict) -> Config:
    cfg = Config.fromfile(row.config)
    for options in (row.options, *option_sets):
        cfg.merge_from_dict(copy.deepcopy(options))
    return cfg


def _build(cfg: Config, seed: int = 0):
    init_default_scope('mamba_vod')
    torch.manual_seed(seed)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    return MODELS.build(model_cfg)


@pytest.fixture(scope='module', params=DETECTORS, ids=IDS)
def row_checkpoint(request, tmp_path_factory):
    """A row and a checkpoint of random weights for it."""
    row = request.param
    torch.manual_seed(1)
    with pytest.warns(UserWarning, match='random weights'):
        model = init_detector(_cfg(row, row.init_options))
    with torch.no_grad():  # scores spread out: no near-ties whose order the arithmetic of batching could flip
        model.roi_head.bbox_head.fc_cls.weight.mul_(30)
    path = str(tmp_path_factory.mktemp(row.name) / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), path)
    return row, path


def _frames(count: int, seed: int, height: int = HEIGHT, width: int = WIDTH) -> List[np.ndarray]:
    return utils.make_frames(count, height, width, seed=seed)


def _detections(result) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pred = result.pred_instances
    return pred.bboxes.clone(), pred.scores.clone(), pred.labels.clone()


def _assert_equal(got, expected, where: str) -> None:
    for name, a, e in zip(('bboxes', 'scores', 'labels'), got, expected):
        assert torch.equal(a, e), f'{where}: {name}'


# ------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize('row', DETECTORS, ids=IDS)
def test_a_training_step_gives_finite_losses_and_gradients_to_the_methods_own_modules(row):
    model = _build(_cfg(row, row.init_options, row.train_options)).train()
    assert isinstance(model, BaseVideoDetector)
    random.seed(0)
    clips = [make_clip(3, 64, 96, seed=seed) for seed in (1, 2)]
    samples = [make_sample(frame_id=4, ref_frame_ids=[1, 8]), make_sample(video_id=1, frame_id=2, ref_frame_ids=[0, 5])]
    losses = model.loss(*preprocess(model, clips, samples, training=True))
    total = sum(value.sum() if isinstance(value, torch.Tensor) else sum(v.sum() for v in value)
                for name, value in losses.items() if 'loss' in name)
    assert torch.isfinite(total) and total > 0
    total.backward()
    for name in row.own:
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert grads and all(g is None or torch.isfinite(g).all() for g in grads), name
        assert any(g is not None and g.abs().sum() > 0 for g in grads), f'no gradient reaches {name}'


# ------------------------------------------------------------------------------------------ protocols
def _run_protocol(model, protocol: str, frames: List[torch.Tensor]) -> Dict[int, tuple]:
    """Detections of each frame of one video, fed as the data side feeds ``protocol``."""
    results = {}
    for frame_id, refs in protocol_feed(protocol, len(frames)):
        clip = torch.stack([frames[frame_id]] + [frames[ref] for ref in refs])
        sample = make_sample(video_id=3, frame_id=frame_id, ref_frame_ids=refs, height=64, width=96)
        sample.set_metainfo(dict(video_length=len(frames)))
        with torch.no_grad():
            results[frame_id] = _detections(model.predict(*preprocess(model, [clip], [sample]))[0])
    return results


@pytest.mark.parametrize('row', DETECTORS, ids=IDS)
def test_every_declared_protocol_runs_and_its_references_matter(row):
    model_cls = MODELS.get(Config.fromfile(row.config).model.type)
    declared = model_cls.test_protocols
    assert 'online' in declared and set(declared) <= set(NAMED_PROTOCOLS), declared
    model = _build(_cfg(row, row.init_options)).eval()
    frames = [make_clip(1, 64, 96, seed=200 + frame_id)[0] for frame_id in range(VIDEO_LENGTH)]
    online = None
    for protocol in declared:
        model.reset_memory()
        results = _run_protocol(model, protocol, frames)
        assert sorted(results) == list(range(VIDEO_LENGTH))
        assert all(len(boxes) > 0 and torch.isfinite(boxes).all() for boxes, _, _ in results.values()), protocol
        if protocol == 'online':
            online = results
        elif any(refs for _, refs in protocol_feed(protocol, VIDEO_LENGTH)):
            # the references change what the frames that read them detect
            assert not all(torch.equal(results[f][1], online[f][1]) for f in results), protocol


# ---------------------------------------------------------------------------------------- streaming
def test_streaming_detector_equals_tools_test_online_box_for_box(row_checkpoint, tmp_path):
    row, checkpoint = row_checkpoint
    root = str(tmp_path / 'data')
    ann_file = utils.write_coco_vid(root, _frames(VIDEO_LENGTH, seed=5))
    out = str(tmp_path / 'preds.npz')
    utils.run_tools_test(row.config, checkpoint, root, ann_file, str(tmp_path / 'work'), out,
                         [f'{key}={value}' for key, value in row.options.items()] +
                         ['test_dataloader.dataset.test_protocol=online'])
    offline = load_vid_predictions(out)
    detector = StreamingDetector(row.config, checkpoint, cfg_options=row.options)
    starts = np.concatenate([[0], np.cumsum(offline.num_dets)])
    order = np.argsort(offline.img_ids)
    assert offline.img_ids[order].tolist() == list(range(1, VIDEO_LENGTH + 1))
    for frame_id, k in enumerate(order):
        frame = cv2.imread(os.path.join(root, 'Data', 'VID', 'val', 'vid_0000', f'{frame_id:06d}.JPEG'))
        pred = detector.step(frame, video_length=VIDEO_LENGTH).pred_instances
        rows = slice(starts[k], starts[k + 1])
        assert len(pred.bboxes) == offline.num_dets[k] > 0
        np.testing.assert_allclose(pred.bboxes.numpy(), offline.bboxes[rows], atol=1e-3)
        np.testing.assert_allclose(pred.scores.numpy(), offline.scores[rows], atol=1e-5)
        np.testing.assert_array_equal(pred.labels.numpy(), offline.labels[rows])
    detector.reset()  # the agreement covers the state: the last frame alone scores differently
    alone = detector.step(frame, video_length=VIDEO_LENGTH).pred_instances
    assert not np.allclose(alone.scores.numpy()[:5], offline.scores[rows][:5])


def test_a_stream_of_a_multi_stream_detector_is_a_streaming_detector(row_checkpoint):
    """Stream 'a' runs batched with 'b' (frames of one size), 'c' alone (another size): 'c' is
    exactly what it is alone, 'a' within the arithmetic of batching."""
    row, checkpoint = row_checkpoint
    multi = MultiStreamDetector(row.config, checkpoint, cfg_options=row.options)
    single = StreamingDetector(row.config, checkpoint, cfg_options=row.options)
    videos = dict(a=_frames(VIDEO_LENGTH, seed=1), b=_frames(VIDEO_LENGTH, seed=2),
                  c=_frames(VIDEO_LENGTH, seed=3, height=96, width=64))
    together = [multi.step({name: video[index] for name, video in videos.items()}) for index in range(VIDEO_LENGTH)]
    for name in ('a', 'c'):
        single.reset()
        for index, frame in enumerate(videos[name]):
            alone, ours = single.step(frame), together[index][name]
            if name == 'c':
                _assert_equal(_detections(ours), _detections(alone), f'stream c frame {index}')
            else:
                utils.assert_same_detections(ours.pred_instances, alone.pred_instances, f'stream a frame {index}')
    states = [stream.memory for stream in multi.streams.values()]
    assert len({id(state) for state in states}) == 3 and all(state.nbytes > 0 for state in states)


# ------------------------------------------------------------------------------------- Faster R-CNN
def _faster_rcnn_cfg(row: Row) -> Config:
    cfg = _cfg(row, row.switch_off)
    kept = ('type', 'backbone', 'neck', 'rpn_head', 'roi_head', 'train_cfg', 'test_cfg', 'data_preprocessor')
    cfg.model = type(cfg.model)({key: value for key, value in cfg.model.items() if key in kept})
    cfg.merge_from_dict(row.faster_rcnn)
    return cfg


def _assert_is_faster_rcnn(video_cfg: Config, faster_rcnn_cfg: Config) -> None:
    """The video detector of ``video_cfg`` gives the losses and detections of the Faster R-CNN of
    ``faster_rcnn_cfg`` (loaded with its weights) on the key frames, number for number."""
    video = _build(video_cfg)
    faster_rcnn = _build(faster_rcnn_cfg, seed=1)
    assert isinstance(video, BaseVideoDetector) and not isinstance(faster_rcnn, BaseVideoDetector)
    faster_rcnn.load_state_dict(video.state_dict(), strict=True)
    clips = [make_clip(3, 64, 96, seed=seed) for seed in (1, 2)]
    samples = [make_sample(frame_id=4, ref_frame_ids=[1, 8]), make_sample(video_id=1, frame_id=2, ref_frame_ids=[0, 5])]
    losses = {}
    for name, model, inputs in (('video', video, clips), ('faster_rcnn', faster_rcnn, [c[0] for c in clips])):
        model.train()
        torch.manual_seed(7)  # the RoI sampler's draws
        losses[name] = model.loss(*preprocess(model, inputs, copy.deepcopy(samples), training=True))
    assert losses['video'].keys() == losses['faster_rcnn'].keys()
    for name, value in losses['faster_rcnn'].items():
        for a, e in zip(*(v if isinstance(v, list) else [v] for v in (losses['video'][name], value))):
            assert torch.equal(a, e), name
    video.eval()
    faster_rcnn.eval()
    for frame_id in range(3):
        frame = make_clip(1, 64, 96, seed=300 + frame_id)
        sample = make_sample(video_id=5, frame_id=frame_id)
        with torch.no_grad():
            got = _detections(video.predict(*preprocess(video, [frame], [copy.deepcopy(sample)]))[0])
            expected = _detections(faster_rcnn.predict(*preprocess(faster_rcnn, [frame[0]], [sample]))[0])
        assert len(expected[0]) > 0
        _assert_equal(got, expected, f'frame {frame_id}')


@pytest.mark.parametrize('row', [row for row in DETECTORS if row.switch_off is not None],
                         ids=[row.name for row in DETECTORS if row.switch_off is not None])
def test_with_its_aggregation_switched_off_it_is_faster_rcnn_on_the_key_frame(row):
    _assert_is_faster_rcnn(_cfg(row, row.switch_off), _faster_rcnn_cfg(row))


def test_the_base_with_no_hook_doing_anything_is_faster_rcnn_on_the_key_frame():
    row = DETECTORS[0]
    base = _faster_rcnn_cfg(row)
    base.merge_from_dict({'model.type': 'BaseVideoDetector', 'model.data_preprocessor.type': 'VideoDataPreprocessor'})
    _assert_is_faster_rcnn(base, _faster_rcnn_cfg(row))
