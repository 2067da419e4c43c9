"""tools/dataset_converters/to_coco_vid.py: the command line around the converters — split files
written together, the classes line to paste, video files decoded first, and bad input as one
``error:`` line with nothing written."""
import json
import os
import os.path as osp

import cv2
import pytest

from tests.datasets.converters import synthetic_export as synth


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('dataset_converters/to_coco_vid.py')


def test_help_says_how_file_names_relate_to_data_root(tool, capsys):
    with pytest.raises(SystemExit):
        tool.main(['--help'])
    out = capsys.readouterr().out
    for words in ('cvat', 'mot', 'coco-video', '--val-fraction', '--videos', "data_root = 'data/my_videos/'"):
        assert words in out


def test_split_files_are_written_with_the_classes_line(tool, tmp_path, capsys):
    synth.write_mot(str(tmp_path / 'mot'))
    out = tmp_path / 'annotations' / 'vid.json'
    assert tool.main(['--format', 'mot', str(tmp_path / 'mot'), '--classes', *synth.CLASSES, '-o', str(out),
                      '--val-fraction', '0.3']) == 0
    assert sorted(os.listdir(tmp_path / 'annotations')) == ['vid_train.json', 'vid_val.json']
    printed = capsys.readouterr().out
    assert "classes = ('boat', 'buoy')" in printed and f'relative to {tmp_path}' in printed
    train = json.loads((tmp_path / 'annotations' / 'vid_train.json').read_text())
    val = json.loads((tmp_path / 'annotations' / 'vid_val.json').read_text())
    assert len(train['videos']) == 2 and len(val['videos']) == 1
    assert all(osp.isfile(tmp_path / image['file_name']) for image in train['images'] + val['images'])


def _write_videos(folder):
    """The synthetic frames as MJPEG .avi files, named as CVAT's <source> of each task."""
    frames = folder / 'decoded_by_test'
    synth.write_frames(lambda name: str(frames / name))
    os.makedirs(folder / 'videos')
    for name, count in synth.VIDEOS:
        writer = cv2.VideoWriter(str(folder / 'videos' / f'{name}.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 10,
                                 (synth.WIDTH, synth.HEIGHT))
        for k in range(count):
            writer.write(cv2.imread(str(frames / name / f'{k:06d}.png')))
        writer.release()


def test_video_files_are_decoded_into_frame_folders_first(tool, tmp_path):
    _write_videos(tmp_path)
    synth.write_cvat(str(tmp_path / 'cvat'))
    out = tmp_path / 'annotations' / 'vid.json'
    args = ['--format', 'cvat', str(tmp_path / 'cvat'), '--videos', str(tmp_path / 'videos'),
            '--frames', str(tmp_path / 'frames'), '-o', str(out)]
    assert tool.main(args) == 0
    assert sorted(os.listdir(tmp_path / 'frames' / 'pier')) == [f'{k:06d}.jpg' for k in range(10)]
    coco = json.loads(out.read_text())
    assert len(coco['images']) == sum(n for _, n in synth.VIDEOS) and len(coco['annotations']) == len(
        synth.expected_boxes())
    assert coco['images'][0]['file_name'] == 'frames/harbour/000000.jpg'
    os.remove(tmp_path / 'videos' / 'bay.avi')  # the decoded folders are kept: no video needed again
    assert tool.main(args) == 0


@pytest.mark.parametrize('split', [[], ['--val-fraction', '0.3']])
def test_bad_input_is_one_line_and_nothing_is_written(tool, tmp_path, user_error, split):
    synth.write_frames(lambda name: str(tmp_path / 'frames' / name))
    synth.write_cvat(str(tmp_path / 'cvat'))
    os.remove(tmp_path / 'frames' / 'bay' / '000004.png')
    out = tmp_path / 'annotations' / 'vid.json'
    line = user_error(tool.main, ['--format', 'cvat', str(tmp_path / 'cvat'), '--frames', str(tmp_path / 'frames'),
                                  '-o', str(out), *split])
    assert 'task_2.xml' in line and "video 'bay'" in line and 'frame 8 is listed but missing' in line
    assert not (tmp_path / 'annotations').exists() or os.listdir(tmp_path / 'annotations') == []


def test_mot_without_classes_is_refused(tool, tmp_path, user_error):
    synth.write_mot(str(tmp_path / 'mot'))
    line = user_error(tool.main, ['--format', 'mot', str(tmp_path / 'mot'), '-o', str(tmp_path / 'a' / 'v.json')])
    assert 'give the class names with --classes' in line
