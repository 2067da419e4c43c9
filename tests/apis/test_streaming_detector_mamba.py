"""StreamingDetector with MAMBA (configs/synthetic/mamba_r18-dc5_synthetic.py, random weights):
bounded memories, frame-size changes, resets, and equality with tools/test.py's online mode."""
import os

import cv2
import numpy as np
import pytest
import torch

from mamba_vod.apis import StreamingDetector, init_detector, multi_stream_detector
from mamba_vod.evaluation.functional import load_vid_predictions

SMALL_MEMORIES = {
    'model.instance_level.memory': dict(type='MemoryBank', capacity=120),
    'model.pixel_level.memory': dict(type='MemoryBank', capacity=150), 'model.pixel_level.seed': 0,
    'model.test_cfg.pixel': dict(score_thr=0.0, pixels_per_detection=5),
}
RANDOM_GEO_OUTPUTS = {'model.pixel_level.geo.zero_init_output': False,
                      'model.instance_level.geo.zero_init_output': False}
# the same random draws in both runs (the instance memory samples its key set from the 5th frame)
SEEDED = {'model.pixel_level.seed': 0, 'model.pixel_level.memory.seed': 0, 'model.instance_level.memory.seed': 0}


@pytest.fixture(scope='module')
def mamba(utils):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='random weights'):
        return StreamingDetector(utils.MAMBA_SYNTHETIC, cfg_options=SMALL_MEMORIES)


def _banks(detector):
    """The pixel memory, then the instance memories."""
    model = detector.model
    return [model.pixel_level.memory, *model.instance_level.memories]


def test_memories_stay_bounded_over_a_long_stream(mamba, utils):
    frames = utils.make_frames(3, 64, 80)
    mamba.reset()
    assert all(len(bank) == 0 for bank in _banks(mamba))
    for index in range(6):
        mamba.step(frames[index % 3])
    sizes = [len(bank) for bank in _banks(mamba)]
    # full (25 proposals a frame, 5 pixels a box) and no larger; the paper's composition keeps one instance memory
    assert sizes == [150, 120]


def test_size_change_resets_only_the_pixel_memory(mamba, utils):
    mamba.reset()
    for frame in utils.make_frames(2, 64, 80):
        mamba.step(frame)
    pixel, *instance = _banks(mamba)
    before = [len(bank) for bank in instance]
    first_rows = pixel.features[:3].clone()
    mamba.step(utils.make_frames(1, 72, 96)[0])
    rows_per_frame = mamba.model.instance_level.proposals_per_frame
    assert [len(bank) for bank in instance] == [min(120, size + rows_per_frame) for size in before]
    assert not torch.equal(pixel.features[:3], first_rows)  # emptied, then filled by the new frame only


def test_reset_starts_a_new_video_with_empty_memories(mamba, utils):
    frames = utils.make_frames(3, 64, 80)
    mamba.reset()
    first = [mamba.step(frame).pred_instances for frame in frames]
    mamba.reset()
    again = mamba.step(frames[0]).pred_instances
    torch.testing.assert_close(again.bboxes, first[0].bboxes)
    assert not torch.equal(first[1].scores, first[0].scores)


def test_a_config_of_the_paper_protocol_streams_online_and_says_so(utils, monkeypatch):
    said = []
    monkeypatch.setattr(multi_stream_detector, 'print_log', lambda message, **kwargs: said.append(message))
    with pytest.warns(UserWarning, match='random weights'):
        StreamingDetector(utils.MAMBA_SYNTHETIC, cfg_options={'test_dataloader.dataset.test_protocol': 'paper'})
    assert any("tests with the 'paper' protocol; a stream is detected online" in message for message in said)


def test_streaming_equals_tools_test_online_mode_on_the_same_video(utils, tmp_path):
    """Same checkpoint, same frames: the boxes of StreamingDetector and of tools/test.py agree."""
    root = str(tmp_path / 'data')
    ann_file = utils.write_coco_vid(root, utils.make_frames(6, 128, 160, seed=5))
    torch.manual_seed(1)
    with pytest.warns(UserWarning):  # random GEO outputs (the config starts them at 0), so memory matters
        model = init_detector(utils.MAMBA_SYNTHETIC, cfg_options=RANDOM_GEO_OUTPUTS)
    checkpoint = str(tmp_path / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), checkpoint)
    out = str(tmp_path / 'preds.npz')
    utils.run_tools_test(utils.MAMBA_SYNTHETIC, checkpoint, root, ann_file, str(tmp_path / 'work'), out,
                         [f'{key}={value}' for key, value in SEEDED.items()])
    offline = load_vid_predictions(out)

    detector = StreamingDetector(utils.MAMBA_SYNTHETIC, checkpoint, cfg_options=SEEDED)
    detector.reset()
    starts = np.concatenate([[0], np.cumsum(offline.num_dets)])
    order = np.argsort(offline.img_ids)
    assert offline.img_ids[order].tolist() == list(range(1, 7))
    for frame_id, k in enumerate(order):
        frame = cv2.imread(os.path.join(root, 'Data', 'VID', 'val', 'vid_0000', f'{frame_id:06d}.JPEG'))
        pred = detector.step(frame, video_length=6).pred_instances
        rows = slice(starts[k], starts[k + 1])
        assert len(pred.bboxes) == offline.num_dets[k] > 0
        np.testing.assert_allclose(pred.bboxes.numpy(), offline.bboxes[rows], atol=1e-3)
        np.testing.assert_allclose(pred.scores.numpy(), offline.scores[rows], atol=1e-5)
        np.testing.assert_array_equal(pred.labels.numpy(), offline.labels[rows])
    # the agreement covers the memory: the last frame alone, in a new video, scores differently
    detector.reset()
    alone = detector.step(frame, video_length=6).pred_instances
    assert not np.allclose(alone.scores.numpy()[:5], offline.scores[rows][:5])
