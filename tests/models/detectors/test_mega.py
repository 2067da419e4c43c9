"""MEGA and RDN beyond the contract: the full training clip (local, memory, global frames), the
stream state (bounded, memory written by frames leaving the window, seeded global draws), frames
without proposals, and every MEGA / RDN config builds."""
import copy
import glob
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mamba_vod.registry import MODELS

from .mamba_fixtures import make_clip, make_sample, preprocess
from .test_mamba_pinned import one_thread

pytestmark = pytest.mark.usefixtures(one_thread.__name__)
REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..')
MEGA_CFG = os.path.join(REPO, 'configs', 'synthetic', 'mega_r18-dc5_synthetic.py')
SMALL = {'model.relation_level.window_size': 3, 'model.relation_level.memory_size': 2,
         'model.relation_level.global_size': 2}


def _build(path: str = MEGA_CFG, options: dict = None, seed: int = 0):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(options or {})
    init_default_scope('mamba_vod')
    torch.manual_seed(seed)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    return MODELS.build(model_cfg)


def _step(model, frame_id: int, video_id: int = 3, seed: int = 100):
    frame = make_clip(1, 64, 96, seed=seed + frame_id)
    with torch.no_grad():
        return model.predict(*preprocess(model, [frame], [make_sample(video_id=video_id, frame_id=frame_id)]))[0]


def _run(model, count: int, video_id: int = 3, seed: int = 100):
    return [_step(model, frame_id, video_id, seed) for frame_id in range(count)]


def test_a_full_training_clip_trains_local_memory_and_global_parts():
    model = _build().train()
    clips = [make_clip(8, 64, 96, seed=seed) for seed in (1, 2)]  # key + 2 local + 3 memory + 2 global
    samples = [make_sample(frame_id=4, ref_frame_ids=list(range(7))),
               make_sample(video_id=1, frame_id=2, ref_frame_ids=list(range(7)))]
    losses = model.loss(*preprocess(model, clips, samples, training=True))
    total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    level = model.relation_level
    for part in (level.local_relations, level.global_relations):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters() if p.dim() > 1)
    with pytest.raises(ValueError, match='more than train_references'):
        model.loss(*preprocess(model, [make_clip(10, 64, 96, seed=1)], samples[:1], training=True))


def test_the_stream_state_is_bounded_and_frames_leaving_the_window_reach_the_memory():
    model = _build(options=SMALL).eval()
    sizes = []
    for frame_id in range(9):
        result = _step(model, frame_id)
        state = model.relation_level.state
        sizes.append(state.nbytes)
        assert len(state.window) <= 3 and all(len(m) <= 2 for m in state.memory) and len(state.global_pool) <= 2
    assert [len(m) for m in state.memory] == [2, 2, 2]  # every stage's memory filled
    assert sizes[-1] == sizes[-2] == sizes[-3] > sizes[0]  # full, then constant
    # the memory changes what a frame detects: the same stream without it differs
    no_memory = _build(options={**SMALL, 'model.relation_level.memory_size': 0}).eval()
    no_memory.load_state_dict(model.state_dict())
    assert not torch.equal(_run(no_memory, 9)[-1].pred_instances.scores, result.pred_instances.scores)


def test_a_video_draws_the_same_global_frames_whatever_ran_before_it():
    model = _build(options=SMALL).eval()
    first = _run(model, 6)
    _run(model, 4, video_id=7, seed=500)  # another video on the stream
    again = _run(model, 6)
    for a, b in zip(first, again):
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)


@pytest.mark.parametrize('config', ['mega_r18-dc5_synthetic.py', 'rdn_r18-dc5_synthetic.py'])
def test_a_frame_without_proposals_does_not_crash(config):
    model = _build(os.path.join(REPO, 'configs', 'synthetic', config), SMALL if 'mega' in config else {}).eval()
    _run(model, 2)
    model.rpn_head.test_cfg.min_bbox_size = 10 ** 6  # every proposal filtered out
    frame = make_clip(1, 64, 96, seed=50)
    with torch.no_grad():
        empty = model.predict(*preprocess(model, [frame], [make_sample(video_id=3, frame_id=2)]))[0]
    assert len(empty.pred_instances.bboxes) == 0
    model.rpn_head.test_cfg.min_bbox_size = 0
    with torch.no_grad():
        after = model.predict(*preprocess(model, [frame], [make_sample(video_id=3, frame_id=3)]))[0]
    assert len(after.pred_instances.bboxes) > 0 and torch.isfinite(after.pred_instances.scores).all()


def test_a_reference_frame_without_proposals_gives_an_empty_entry():
    model = _build(options=SMALL).eval()
    level = model.relation_level
    rows, boxes = torch.randn(4, 256), torch.tensor([[0., 0., 10., 10.]]).repeat(4, 1)
    empty = (rows[:0], boxes[:0])
    from mamba_vod.models.levels import RelationKeys
    for window in ([empty, (rows, boxes)], [(rows, boxes), empty], [empty]):
        keys = RelationKeys(window=window, memory=[[empty]] * 3, global_rows=rows[:0], push_oldest=True)
        out = level.enhance(rows, boxes, keys, model.roi_head.bbox_head.shared_fcs)
        assert out.shape == rows.shape and torch.isfinite(out).all()
        pushes = level.pushes(keys, model.roi_head.bbox_head.shared_fcs)
        assert len(pushes) == 3 and len(pushes[0][0]) == len(window[0][0])


def test_the_window_and_protocol_must_agree():
    model = _build().eval()
    clip = make_clip(4, 64, 96, seed=1)  # 3 references: fewer than a first frame's window of 25
    with pytest.raises(ValueError, match='window of 25 frames'), torch.no_grad():
        model.predict(*preprocess(model, [clip], [make_sample(video_id=3, frame_id=0, ref_frame_ids=[0, 1, 2])]))


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(REPO, 'configs', 'mega', '*.py')) +
                                        glob.glob(os.path.join(REPO, 'configs', 'rdn', '*.py')) +
                                        glob.glob(os.path.join(REPO, 'configs', 'synthetic', '*mega*.py')) +
                                        glob.glob(os.path.join(REPO, 'configs', 'synthetic', 'rdn*.py'))),
                         ids=os.path.basename)
def test_every_mega_and_rdn_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.model.type in ('MEGA', 'RDN')
    if 'synthetic' not in path:  # ImageNet-sized: build on the meta device, no weights
        with torch.device('meta'):
            model = _build(path)
    else:
        model = _build(path)
    assert model.relation_level is not None and len(model.relation_level.local_relations) >= 2


def test_the_stage_memories_hold_exactly_the_frames_that_left_the_window():
    """Window of 3, no global frames; each frame's rows are the constant frame id + 1 (boxes its
    own proposals'). After frame t the stage memories hold, oldest first and each once, the frames
    the next frame's window no longer holds (0 .. t-2), also when frame t has no proposals (the
    RoI head then returns before the box head runs)."""
    model = _build(options={**SMALL, 'model.relation_level.memory_size': 10,
                            'model.relation_level.num_global': 0}).eval()
    level, own = model.relation_level, {}
    frame_entries = model.frame_entries

    def constant_rows(maps, sample, proposals=None):
        entries = frame_entries(maps, sample, proposals)
        if proposals is None:  # references (offline): not used here
            return entries
        frame_id = sample.metainfo['frame_id']
        own[frame_id] = [(rows.new_full(rows.shape, frame_id + 1.), boxes) for rows, boxes in entries][0]
        return [own[frame_id]]

    model.frame_entries = constant_rows
    empty_frame = 4
    for frame_id in range(8):
        model.rpn_head.test_cfg.min_bbox_size = 10 ** 6 if frame_id == empty_frame else 0
        result = _step(model, frame_id)
        assert (len(result.pred_instances.bboxes) == 0) == (frame_id == empty_frame)
        state = level.state
        left = list(range(max(0, frame_id - 1)))
        for stage, memory in enumerate(state.memory):
            assert len(memory) == len(left), (frame_id, stage)
            for (rows, boxes), gone in zip(memory, left):
                count = len(own[gone][1]) if stage == 0 else min(len(own[gone][1]), level.distilled_per_frame)
                assert torch.equal(boxes, own[gone][1][:count]), (frame_id, stage, gone)
                if stage == 0:
                    assert torch.equal(rows, own[gone][0]), (frame_id, gone)
    assert len(own[empty_frame][0]) == 0 and len(state.memory[0][empty_frame][0]) == 0  # it left the window too
