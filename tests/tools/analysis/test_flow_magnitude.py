"""tools/analysis/flow_magnitude.py: the lengths of the flows a DFF/FGFA model computes on a stream,
measured where the detector uses them; a config without a flow network is refused."""
import json

import cv2
import numpy as np
import pytest
import torch

DFF = 'configs/synthetic/dff_r18-dc5_synthetic.py'
BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'


def _frames_folder(tmp_path, count=4):
    folder = tmp_path / 'video'
    folder.mkdir()
    for index in range(count):  # a square moving right over a gradient
        frame = np.tile(np.linspace(0, 255, 160, dtype=np.uint8)[None, :, None], (128, 1, 3))
        frame[40:80, 20 + 5 * index:60 + 5 * index] = (0, 0, 255)
        cv2.imwrite(str(folder / f'{index:06d}.png'), frame)
    return folder


def test_pair_lengths_are_euclidean_per_pixel(load_tool):
    tool = load_tool('analysis/flow_magnitude.py')
    flow = torch.zeros(2, 2, 3, 4)
    flow[0, 0], flow[0, 1] = 3.0, 4.0  # every pixel moves (3, 4): length 5
    flow[1, 0, 0, 0] = -8.0  # one pixel of the second pair moves 8
    assert tool.pair_lengths(flow) == [dict(mean=5.0, max=5.0), dict(mean=pytest.approx(8 / 12), max=8.0)]


def test_the_flows_of_a_dff_stream_are_measured_where_the_detector_warps(load_tool, tmp_path, monkeypatch):
    tool = load_tool('analysis/flow_magnitude.py')
    folder, out = _frames_folder(tmp_path), tmp_path / 'flow.json'
    random_weights = tool.measure(DFF, None, str(folder))
    assert random_weights['pairs'] == 3  # frame 0 is the key frame, frames 1-3 warp its maps
    assert random_weights['flow_size'][0] >= 120 and random_weights['max_px'] > 0

    built = tool.StreamingDetector

    def zero_flow_detector(*args, **kwargs):
        detector = built(*args, **kwargs)
        with torch.no_grad():
            detector.model.motion.predict_flow.conv.weight.zero_()
        return detector

    monkeypatch.setattr(tool, 'StreamingDetector', zero_flow_detector)
    zero = tool.measure(DFF, None, str(folder), frames=3)
    assert zero['pairs'] == 2 and zero['max_px'] == 0.0
    monkeypatch.setattr(tool, 'measure', lambda *a, **k: dict(zero, config=DFF))
    tool.main([DFF, 'ckpt.pth', str(folder), '--json', str(out)])
    assert json.loads(out.read_text())['pairs'] == 2


def test_a_model_without_flow_network_and_an_empty_folder_are_refused(load_tool, tmp_path):
    tool = load_tool('analysis/flow_magnitude.py')
    with pytest.raises(ValueError, match='no flow network.*DFF and FGFA'):
        tool.measure(BASELINE, None, str(_frames_folder(tmp_path, 1)))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty: no image files'):
        list(tool.folder_frames(str(tmp_path / 'empty')))


def test_the_command_line_names_a_missing_source_in_one_line(load_tool, tmp_path, capsys):
    tool = load_tool('analysis/flow_magnitude.py')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(SystemExit) as exit_info:
        tool.main([DFF, 'none.pth', str(tmp_path / 'empty')])
    assert exit_info.value.code != 0
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and ('none.pth' in error or 'empty' in error)
