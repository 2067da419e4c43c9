"""FGFA (:mod:`mamba_vod.models.detectors.fgfa`): what is aggregated in training and at test,
the offline window's backbone maps kept by frame id, bounded state.

The contract (training step, both protocols, streaming, multi-stream, ``aggregator=None`` as
Faster R-CNN) is in ``test_video_detector_contract.py``."""
import pytest
import torch

from mamba_vod.datasets.test_protocol import build_protocol
from mamba_vod.models.motion import flow_warp

from .flow_fixtures import (MMTRACKING_GRID, assert_same, build, detect, faster_rcnn_of, frames, record, train_maps,
                            zero_flow)
from .mamba_fixtures import make_sample, preprocess
from .test_mamba_pinned import one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


def _offline(model, video, *, reset_each_frame=False):
    """Detections of each frame of ``video`` fed as 'fgfa_offline' feeds it (15 past + 15 future)."""
    protocol = build_protocol('fgfa_offline')
    results = []
    for frame_id, frame in enumerate(video):
        if reset_each_frame:
            model.reset_memory()
        refs = protocol.references(frame_id, len(video))
        results.append(detect(model, frame, frame_id=frame_id, references=[video[r] for r in refs], ref_frame_ids=refs))
    return results


def test_with_no_references_it_is_faster_rcnn_on_the_key_frame():
    """A stream's first frame (online) aggregates itself alone."""
    model = build('fgfa')
    faster_rcnn = faster_rcnn_of('fgfa', model)
    first, second = frames(2, seed=10)
    for video_id, frame in enumerate((first, second)):
        expected = detect(faster_rcnn, frame)
        assert len(expected[0]) > 0
        assert_same(detect(model, frame, video_id=video_id), expected, f'video {video_id}')
    assert not torch.equal(detect(model, first, video_id=1, frame_id=1)[1], detect(faster_rcnn, first)[1])


def test_training_aggregates_the_warped_references_only():
    """Zero flow, two identical references: the aggregate is the reference's maps warped, whatever
    the current frame (its embedding only weighs the references); with the current frame among
    the aggregated maps, three identical frames would give something else."""
    model = build('fgfa', MMTRACKING_GRID)  # zero flow reads slightly inside the map there
    zero_flow(model)
    current, other, reference = frames(3, seed=20)
    x = train_maps(model, torch.stack([current, reference, reference]))[0]
    torch.testing.assert_close(x, train_maps(model, torch.stack([other, reference, reference]))[0])
    ref_maps = model.extract_feat(model.data_preprocessor(dict(inputs=[reference[None]]))['inputs'][:, 0])[0]
    torch.testing.assert_close(x, flow_warp(ref_maps, torch.zeros(1, 2, *ref_maps.shape[-2:])))
    same = train_maps(model, torch.stack([reference, reference, reference]))[0]
    torch.testing.assert_close(same, x)


def test_online_aggregates_the_frame_and_its_past_frames_warped():
    """Zero flow, identical frames: frame 1 is aggregator(raw, [warp(raw, 0), raw])."""
    model = build('fgfa', MMTRACKING_GRID)  # zero flow reads slightly inside the map there
    zero_flow(model)
    maps = record(model, 'enhance_maps')
    frame = frames(1, seed=30)[0]
    detect(model, frame, frame_id=0)
    detect(model, frame, frame_id=1)
    raw = maps[0][1][0]  # frame 0: itself alone
    warped = flow_warp(raw, torch.zeros(1, 2, *raw.shape[-2:]))
    with torch.no_grad():
        expected = model.aggregator(raw, torch.cat([warped, raw]))
    torch.testing.assert_close(maps[1][1][0], expected)
    assert not torch.allclose(expected, raw)


def test_offline_runs_each_frames_backbone_once_and_keeps_only_the_window():
    model = build('fgfa')
    calls = record(model.backbone, 'forward')
    windows = []
    write_frame = model.write_frame
    model.write_frame = lambda frame: windows.append(sorted(model.frames.state.frames)) or write_frame(frame)
    video = frames(8, seed=40)
    results = _offline(model, video)
    assert sum(len(args[0]) for args, _ in calls) == len(video)  # each frame through the backbone once
    protocol = build_protocol('fgfa_offline')
    assert windows == [sorted({t, *protocol.references(t, len(video))}) for t in range(len(video))]
    # the kept maps give what computing every map of the window again gives
    again = _offline(build('fgfa'), video, reset_each_frame=True)
    for frame_id, (got, expected) in enumerate(zip(results, again)):
        assert len(got[0]) == len(expected[0]) > 0, frame_id
        for a, e in zip(got, expected):
            torch.testing.assert_close(a, e, atol=1e-3, rtol=1e-4)  # backbone batches of other sizes


def test_online_keeps_the_last_past_frames_only():
    model = build('fgfa', {'model.test_cfg.num_online_refs': 3})
    sizes = []
    for frame_id, frame in enumerate(frames(3, seed=50) * 4):
        detect(model, frame, frame_id=frame_id)
        sizes.append(model.memories.current.nbytes)
        assert list(model.frames.state.frames) == list(range(max(0, frame_id - 2), frame_id + 1))
    assert sizes[2:] == [sizes[2]] * (len(sizes) - 2) and sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize('protocol', ['online', 'fgfa_offline'])
def test_a_frame_with_no_proposals_detects_nothing_without_crashing(protocol):
    model = build('fgfa', {'model.test_cfg.rpn.min_bbox_size': 10000})
    video = frames(3, seed=60)
    if protocol == 'online':
        results = [detect(model, frame, frame_id=frame_id) for frame_id, frame in enumerate(video)]
    else:
        results = _offline(model, video)
    for bboxes, scores, labels in results:
        assert bboxes.shape == (0, 4) and len(scores) == len(labels) == 0


def test_without_frame_ids_an_offline_clip_is_refused():
    model = build('fgfa')
    frame, ref = frames(2, seed=70)
    with pytest.raises(ValueError, match='needs the frame_id and 1 ref_frame_ids'):
        detect(model, frame, frame_id=0, references=[ref], ref_frame_ids=[None])


@pytest.mark.parametrize('num_refs', [0, 1.5])
def test_a_number_of_online_references_that_is_not_a_whole_number_is_refused(num_refs):
    with pytest.raises(ValueError, match='num_online_refs must be a whole number >= 1'):
        build('fgfa', {'model.test_cfg.num_online_refs': num_refs})


def test_an_offline_clip_of_another_stream_keeps_its_window_in_that_streams_state():
    """The base runs ``extract_frames`` in the clip's stream state: FGFA's offline window (read and
    replaced there) lands in the state given, not in the current one."""
    model = build('fgfa')
    video = frames(4, seed=80)
    other = model.memories.new_state()
    refs = [0, 2, 3]
    sample = make_sample(frame_id=1, ref_frame_ids=refs)
    inputs, samples = preprocess(model, [torch.stack([video[1], *(video[r] for r in refs)])], [sample])
    with torch.no_grad():
        model._predict_frames(inputs, samples, [other], True)
    assert sorted(other['frames'].frames) == [0, 1, 2, 3]
    assert not list(model.memories.current['frames'].frames) and not list(model.frames.state.frames)
