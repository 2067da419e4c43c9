"""demo/video_demo.py, run in-process through its main() (a tiny random-weight Faster R-CNN):
outputs, bad input, outputs that would destroy the input or each other, checkpoints of
another model and checkpoint URLs whose pickle would run code."""
import json
import os
import shutil
import signal

import cv2
import pytest
import torch

from mamba_vod.apis import StreamingDetector
from tests.compat.checkpoint_server import serving, write_payload_checkpoint


@pytest.fixture(scope='module')
def clip(tmp_path_factory, utils):
    return utils.write_video(str(tmp_path_factory.mktemp('clip') / 'clip.mp4'), utils.make_frames(12), fps=10)


def _json_lines(path):
    with open(path) as file:
        return [json.loads(line) for line in file]


def test_writes_the_annotated_video_and_a_json_line_per_frame(video_demo, tiny_config, clip, tmp_path, utils,
                                                              capsys):
    out, dets = str(tmp_path / 'out.mp4'), str(tmp_path / 'dets.jsonl')
    status = video_demo.main([clip, tiny_config, '--out', out, '--json', dets, '--score-thr', '0', '--show'])
    assert status == 0
    written = utils.read_video(out)
    assert len(written) == 12 and written[0].shape == (96, 128, 3)
    assert cv2.VideoCapture(out).get(cv2.CAP_PROP_FPS) == pytest.approx(10)
    lines = _json_lines(dets)
    assert [line['frame'] for line in lines] == list(range(12))
    assert all(len(line['boxes']) == len(line['scores']) == len(line['labels']) > 0 for line in lines)
    summary = utils.parse_summary(capsys.readouterr().out)
    assert summary['frames'] == 12 and summary['mean fps'] > 0 and summary['p95'] >= summary['latency p50']
    assert sorted(os.listdir(tmp_path)) == ['dets.jsonl', 'out.mp4']


@pytest.mark.parametrize('make_input, message', [
    (lambda d, u: str(d / 'missing.mp4'), 'does not exist'),
    (lambda d, u: (d / 'garbage.mp4').write_bytes(b'not a video' * 50) and str(d / 'garbage.mp4'), 'cannot open'),
    (lambda d, u: u.write_video(str(d / 'empty.avi'), []), 'no decodable frame'),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(video_demo, tiny_config, tmp_path, utils, capsys,
                                                       make_input, message):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    path = make_input(inputs, utils)
    status = video_demo.main([path, tiny_config, '--out', str(tmp_path / 'out.mp4')])
    assert status == 1
    assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / 'out.mp4')


def test_a_missing_output_directory_is_reported_before_any_work(video_demo, tiny_config, clip, tmp_path, capsys):
    assert video_demo.main([clip, tiny_config, '--out', str(tmp_path / 'no' / 'out.mp4')]) == 1
    assert 'does not exist; create it first' in capsys.readouterr().err


def test_a_video_that_stops_decoding_ends_with_finalised_outputs(video_demo, tiny_config, tmp_path, utils, capsys):
    full = utils.write_video(str(tmp_path / 'full.avi'), utils.make_frames(12))
    cut = utils.truncated_copy(full, str(tmp_path / 'cut.avi'))
    decodable = len(utils.read_video(cut))
    out, dets = str(tmp_path / 'out.mp4'), str(tmp_path / 'dets.jsonl')
    status = video_demo.main([cut, tiny_config, '--out', out, '--json', dets])
    assert status == 3
    assert 'failed mid-stream (decode_failed)' in capsys.readouterr().err
    assert 0 < decodable < 12
    assert len(utils.read_video(out)) == len(_json_lines(dets)) == decodable


def test_ctrl_c_stops_after_the_current_frame_with_finalised_outputs(video_demo, tiny_config, clip, tmp_path,
                                                                     utils, monkeypatch):
    step = StreamingDetector.step

    def step_then_interrupt(self, frame, **kwargs):
        if self.frame_id == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return step(self, frame, **kwargs)

    monkeypatch.setattr(StreamingDetector, 'step', step_then_interrupt)
    out, dets = str(tmp_path / 'out.mp4'), str(tmp_path / 'dets.jsonl')
    assert video_demo.main([clip, tiny_config, '--out', out, '--json', dets]) == 0
    assert len(utils.read_video(out)) == len(_json_lines(dets)) == 4


def test_the_video_demo_runs_mamba(video_demo, clip, tmp_path, utils, capsys):
    out, dets = str(tmp_path / 'out.avi'), str(tmp_path / 'dets.jsonl')
    config = os.path.join(utils.REPO, 'configs', 'synthetic', 'mamba_r18-dc5_synthetic.py')
    assert video_demo.main([clip, config, '--out', out, '--json', dets, '--score-thr', '0']) == 0
    assert len(utils.read_video(out)) == len(_json_lines(dets)) == 12
    assert utils.parse_summary(capsys.readouterr().out)['frames'] == 12


def test_an_output_that_is_the_input_or_the_other_output_is_refused(video_demo, tiny_config, clip, tmp_path,
                                                                    capsys):
    source = tmp_path / 'in.mp4'
    shutil.copy(clip, source)
    before = source.read_bytes()
    link = tmp_path / 'link.mp4'
    link.symlink_to(source)
    for out in (str(source), str(tmp_path / '.' / 'in.mp4'), str(link)):
        assert video_demo.main([str(source), tiny_config, '--out', out]) == 1
        assert 'is the input video' in capsys.readouterr().err
    assert video_demo.main([str(source), tiny_config, '--out', str(tmp_path / 'o.mp4'), '--json',
                            str(source)]) == 1
    assert "--json '" in capsys.readouterr().err
    same = str(tmp_path / 'both.mp4')
    assert video_demo.main([str(source), tiny_config, '--out', same, '--json', same]) == 1
    assert '--out and --json name the same file' in capsys.readouterr().err
    assert source.read_bytes() == before and sorted(os.listdir(tmp_path)) == ['in.mp4', 'link.mp4']


@pytest.fixture(scope='module')
def tiny_checkpoint(tiny_config, tmp_path_factory):
    """Weights of the tiny config's model (30 classes)."""
    with pytest.warns(UserWarning, match='random weights'):
        model = StreamingDetector(tiny_config).model
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_a_checkpoint_of_another_model_is_refused_unless_allowed(video_demo, tiny_config, tiny_checkpoint, clip,
                                                                 tmp_path, capsys, utils):
    out = str(tmp_path / 'out.mp4')
    eight = ['--cfg-options', 'model.roi_head.bbox_head.num_classes=8']
    assert video_demo.main([clip, tiny_config, '--checkpoint', tiny_checkpoint, '--out', out] + eight) == 1
    err = capsys.readouterr().err
    assert 'tiny.pth' in err and 'roi_head.bbox_head.fc_cls.weight' in err and '--allow-partial' in err
    assert not os.path.exists(out)
    assert video_demo.main([clip, tiny_config, '--checkpoint', tiny_checkpoint, '--out', out, '--allow-partial']
                           + eight) == 0
    assert len(utils.read_video(out)) == 12


def test_a_checkpoint_url_whose_pickle_would_run_code_is_refused(video_demo, tiny_config, clip, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    (tmp_path / 'served').mkdir()
    marker = tmp_path / 'code_ran'
    write_payload_checkpoint(str(tmp_path / 'served' / 'evil.pth'), str(marker))
    with serving(str(tmp_path / 'served')) as base:
        status = video_demo.main([clip, tiny_config, '--checkpoint', f'{base}/evil.pth', '--out',
                                  str(tmp_path / 'out.mp4')])
    assert status == 1 and 'could run code' in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / 'out.mp4').exists()
