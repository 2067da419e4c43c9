"""tools/dataset_converters/imagenet_vid.py on a tiny ILSVRC2015 tree: the
fields, bad input, missing frames, and the three outputs appearing together or
not at all however the run ends (an error, a failed rename, Ctrl-C with
worker processes, SIGTERM)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ZEBRA, TIGER, LIZARD = 'n02391049', 'n02129604', 'n01674464'
OUT_FILES = ('imagenet_vid_train.json', 'imagenet_vid_val.json',
             'imagenet_det_30plus1cls.json')


@pytest.fixture
def conv(load_tool):
    return load_tool('dataset_converters/imagenet_vid.py')


def xml(width, height, objects, folder='f', filename='x'):
    """An annotation file; objects are dicts (name, box, and VID fields)."""
    parts = [f'<annotation><folder>{folder}</folder>'
             f'<filename>{filename}</filename><size><width>{width}</width>'
             f'<height>{height}</height></size>']
    for obj in objects:
        x1, y1, x2, y2 = obj['box']
        extra = ''.join(f'<{k}>{obj[k]}</{k}>'
                        for k in ('trackid', 'occluded', 'generated')
                        if k in obj)
        parts.append(f'<object>{extra}<name>{obj["name"]}</name><bndbox>'
                     f'<xmax>{x2}</xmax><xmin>{x1}</xmin><ymax>{y2}</ymax>'
                     f'<ymin>{y1}</ymin></bndbox></object>')
    return ''.join(parts) + '</annotation>\n'


def vobj(name, box, trackid=0, occluded=0, generated=0):
    return dict(name=name, box=box, trackid=trackid, occluded=occluded,
                generated=generated)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def root(tmp_path):
    """Two train videos, one val video, three DET images (one listed)."""
    r = tmp_path / 'ILSVRC2015'
    vid = r / 'Annotations' / 'VID'
    frames = {
        'train/A/vid0': [
            [vobj(ZEBRA, (10, 20, 50, 44)),
             vobj(TIGER, (0, 0, 30, 30), trackid=1, occluded=1,
                  generated=1)],
            [],
            [vobj(TIGER, (5, 5, 25, 35), trackid=1)]],
        'train/A/vid1': [[vobj(ZEBRA, (1, 2, 3, 4))],
                         [vobj(ZEBRA, (2, 2, 6, 8))]],
        'val/v0': [[vobj(LIZARD, (4, 4, 20, 24))],
                   [vobj(LIZARD, (6, 4, 22, 24), occluded=1)]],
    }
    for video, anns in frames.items():
        for i, objects in enumerate(anns):
            write(vid / video / f'{i:06d}.xml', xml(64, 48, objects))
            write(r / 'Data' / 'VID' / video / f'{i:06d}.JPEG', '')
    det = r / 'Annotations' / 'DET' / 'train'
    write(det / 'ILSVRC2014_train_0000' / 'img0.xml',
          xml(100, 80, [dict(name=ZEBRA, box=(1, 2, 11, 22))]))
    write(det / 'ILSVRC2014_train_0000' / 'img1.xml',
          xml(90, 70, [dict(name='n00000001', box=(3, 3, 9, 9)),
                       dict(name=TIGER, box=(0, 0, 90, 70))]))
    write(det / 'ILSVRC2013_train' / 'n01440764' / 'img2.xml',
          xml(50, 40, []))
    for name in ('ILSVRC2014_train_0000/img0', 'ILSVRC2014_train_0000/img1',
                 'ILSVRC2013_train/n01440764/img2'):
        write(r / 'Data' / 'DET' / 'train' / f'{name}.JPEG', '')
    lists = r / 'Lists'
    write(lists / 'VID_train_15frames.txt',
          'train/A/vid0 1 1 3\ntrain/A/vid0 1 3 3\ntrain/A/vid1 1 2 2\n')
    write(lists / 'VID_val_videos.txt', 'val/v0 1 0 2\n')
    write(lists / 'DET_train_30classes.txt',
          'train/ILSVRC2014_train_0000/img0 1\n')
    return r


def load(out):
    return [json.loads((out / name).read_text()) for name in OUT_FILES]


def test_converts_field_by_field(conv, root, tmp_path):
    out = tmp_path / 'out'
    summaries = conv.convert(str(root), str(out), echo=lambda line: None)
    train, val, det = load(out)

    cats = train['categories']
    assert len(cats) == 30 and cats[0] == dict(
        id=1, name='airplane', encode_name='n02691156')
    assert cats[29] == dict(id=30, name='zebra', encode_name=ZEBRA)
    assert val['categories'] == cats
    assert det['categories'][:30] == cats
    assert det['categories'][30] == dict(id=31, name='other_categeries',
                                         encode_name=None)

    assert list(train) == ['categories', 'videos', 'images', 'annotations']
    assert train['videos'] == [
        dict(id=1, name='train/A/vid0', vid_train_frames=[0, 2]),
        dict(id=2, name='train/A/vid1', vid_train_frames=[1])]
    assert train['images'] == [
        dict(file_name=f'{video}/{frame:06d}.JPEG', height=48, width=64,
             id=image_id, frame_id=frame, video_id=video_id,
             is_vid_train_frame=is_train)
        for image_id, (video, video_id, frame, is_train) in enumerate([
            ('train/A/vid0', 1, 0, True), ('train/A/vid0', 1, 1, False),
            ('train/A/vid0', 1, 2, True), ('train/A/vid1', 2, 0, False),
            ('train/A/vid1', 2, 1, True)], 1)]

    def ann(id_, video_id, image_id, cat, inst, bbox, occ=False, gen=False):
        return dict(id=id_, video_id=video_id, image_id=image_id,
                    category_id=cat, instance_id=inst, bbox=bbox,
                    area=bbox[2] * bbox[3], iscrowd=False, occluded=occ,
                    generated=gen)

    assert train['annotations'] == [
        ann(1, 1, 1, 30, 1, [10, 20, 40, 24]),
        ann(2, 1, 1, 25, 2, [0, 0, 30, 30], occ=True, gen=True),
        ann(3, 1, 3, 25, 2, [5, 5, 20, 30]),
        ann(4, 2, 4, 30, 3, [1, 2, 2, 2]),  # trackid 0 of another video
        ann(5, 2, 5, 30, 3, [2, 2, 4, 6])]
    # The first key order is mmtracking's.
    assert list(train['annotations'][0]) == list(ann(1, 1, 1, 1, 1, [0] * 4))

    assert val['videos'] == [dict(id=1, name='val/v0', vid_train_frames=[])]
    assert [im['frame_id'] for im in val['images']] == [0, 1]
    assert not any(im['is_vid_train_frame'] for im in val['images'])
    assert val['annotations'] == [ann(1, 1, 1, 17, 1, [4, 4, 16, 20]),
                                  ann(2, 1, 2, 17, 1, [6, 4, 16, 20], True)]

    assert list(det) == ['categories', 'images', 'annotations']
    assert det['images'] == [
        dict(file_name='train/ILSVRC2014_train_0000/img0.JPEG', height=80,
             width=100, id=1, is_vid_train_frame=True),
        dict(file_name='train/ILSVRC2013_train/n01440764/img2.JPEG',
             height=40, width=50, id=2, is_vid_train_frame=False),
        dict(file_name='train/ILSVRC2014_train_0000/img1.JPEG', height=70,
             width=90, id=3, is_vid_train_frame=False)]
    assert det['annotations'] == [
        dict(id=1, image_id=1, category_id=30, bbox=[1, 2, 10, 20],
             area=200, iscrowd=False),
        dict(id=2, image_id=3, category_id=31, bbox=[3, 3, 6, 6], area=36,
             iscrowd=False),
        dict(id=3, image_id=3, category_id=25, bbox=[0, 0, 90, 70],
             area=6300, iscrowd=False)]

    train_sum = summaries['imagenet_vid_train.json']
    assert (train_sum.videos, train_sum.images, train_sum.train_frames,
            train_sum.images_without_objects) == (2, 5, 3, 1)
    assert dict(train_sum.boxes) == {30: 3, 25: 2}
    assert dict(summaries['imagenet_det_30plus1cls.json'].boxes) == {
        30: 1, 31: 1, 25: 1}
    assert not train_sum.problems.counts


def test_parallel_workers_give_the_same_files(conv, root, tmp_path):
    conv.convert(str(root), str(tmp_path / 'one'), echo=lambda line: None)
    conv.convert(str(root), str(tmp_path / 'two'), workers=2,
                 echo=lambda line: None)
    assert load(tmp_path / 'one') == load(tmp_path / 'two')


def _ann_path(root, video, frame):
    return root / 'Annotations' / 'VID' / video / f'{frame:06d}.xml'


def _bad_missing_xml(root):
    path = _ann_path(root, 'train/A/vid0', 1)
    path.unlink()
    return [str(path), 'missing']


def _bad_malformed_xml(root):
    path = _ann_path(root, 'train/A/vid0', 2)
    path.write_text('<annotation><size><width>3</width>')
    return [str(path), 'malformed XML']


def _bad_empty_box(root):
    path = _ann_path(root, 'val/v0', 1)
    path.write_text(xml(64, 48, [vobj(LIZARD, (20, 4, 20, 24))]))
    return [str(path), 'object #0', 'empty box', '--drop-empty-boxes']


def _bad_unknown_wnid(root):
    path = _ann_path(root, 'train/A/vid1', 0)
    path.write_text(xml(64, 48, [vobj('n99999999', (1, 2, 3, 4))]))
    return [str(path), "'n99999999'"]


def _bad_missing_trackid(root):
    path = _ann_path(root, 'val/v0', 0)
    path.write_text(xml(64, 48, [dict(name=LIZARD, box=(1, 1, 9, 9),
                                      occluded=0, generated=0)]))
    return [str(path), '<trackid>']


def _bad_missing_video(root):
    lst = root / 'Lists' / 'VID_val_videos.txt'
    lst.write_text(lst.read_text() + 'val/nope 3 0 5\n')
    return [f'{lst} line 2', "'val/nope'", 'not found']


def _bad_missing_det_image(root):
    lst = root / 'Lists' / 'DET_train_30classes.txt'
    lst.write_text(lst.read_text() + 'train/ILSVRC2014_train_0000/gone 2\n')
    return [f'{lst} line 2', 'gone']


def _bad_train_frame_out_of_range(root):
    lst = root / 'Lists' / 'VID_train_15frames.txt'
    lst.write_text(lst.read_text() + 'train/A/vid1 1 7 2\n')
    return [f'{lst} line 4', 'frame 7']


@pytest.mark.parametrize('make_bad', [
    _bad_missing_xml, _bad_malformed_xml, _bad_empty_box, _bad_unknown_wnid,
    _bad_missing_trackid, _bad_missing_video, _bad_missing_det_image,
    _bad_train_frame_out_of_range])
def test_bad_input_stops_and_writes_nothing(conv, root, tmp_path, make_bad):
    expected = make_bad(root)
    out = tmp_path / 'out'
    out.mkdir()
    (out / OUT_FILES[1]).write_text('previous')
    with pytest.raises(conv.ConversionError) as err:
        conv.convert(str(root), str(out), echo=lambda line: None)
    for fragment in expected:
        assert fragment in str(err.value)
    assert sorted(os.listdir(out)) == [OUT_FILES[1]]
    assert (out / OUT_FILES[1]).read_text() == 'previous'


def test_cli_reports_the_error(conv, root, tmp_path, capsys):
    expected = _bad_unknown_wnid(root)
    assert conv.main(['-i', str(root), '-o', str(tmp_path / 'o')]) == 1
    err = capsys.readouterr().err
    assert 'error:' in err and expected[0] in err
    assert not (tmp_path / 'o').exists()


def test_cli_prints_a_summary(conv, root, tmp_path, capsys):
    assert conv.main(['-i', str(root), '-o', str(tmp_path / 'o')]) == 0
    printed = capsys.readouterr().out
    assert '2 videos, 5 images' in printed
    assert '30 zebra' in printed and 'problems: no problems found' in printed
    assert sorted(os.listdir(tmp_path / 'o')) == sorted(OUT_FILES)


def test_box_outside_the_image_is_clipped_and_counted(conv, root, tmp_path):
    path = _ann_path(root, 'val/v0', 0)
    path.write_text(xml(64, 48, [vobj(LIZARD, (-5, 3, 70, 40))]))
    summaries = conv.convert(str(root), str(tmp_path), echo=lambda line: None)
    val = load(tmp_path)[1]
    assert val['annotations'][0]['bbox'] == [0, 3, 64, 37]
    assert val['annotations'][0]['area'] == 64 * 37
    problems = summaries['imagenet_vid_val.json'].problems
    assert problems.counts == {'box clipped to the image': 1}
    assert str(path) in problems.lines()[0]


def test_drop_empty_boxes_counts_them(conv, root, tmp_path):
    _bad_empty_box(root)
    summaries = conv.convert(str(root), str(tmp_path), drop_empty_boxes=True,
                             echo=lambda line: None)
    val = load(tmp_path)[1]
    assert [a['image_id'] for a in val['annotations']] == [1]
    assert len(val['images']) == 2  # the frame stays, without its box
    counts = summaries['imagenet_vid_val.json'].problems.counts
    assert counts == {'empty box dropped (--drop-empty-boxes)': 1}


def test_train_list_frame_zero_is_frame_zero(conv, root, tmp_path):
    lst = root / 'Lists' / 'VID_train_15frames.txt'
    lst.write_text('train/A/vid1 1 0 2\ntrain/A/vid1 1 2 2\n')
    summaries = conv.convert(str(root), str(tmp_path), echo=lambda line: None)
    train = load(tmp_path)[0]
    assert train['videos'][0]['vid_train_frames'] == [0, 1]
    assert [im['is_vid_train_frame'] for im in train['images']] == [True, True]
    counts = summaries['imagenet_vid_train.json'].problems.counts
    assert counts == {'train-list frame index 0 read as frame 0': 1}


def test_a_failed_write_leaves_no_file(conv, root, tmp_path, monkeypatch):
    real_dump, calls = json.dump, []

    def failing_dump(data, f):
        calls.append(1)
        if len(calls) == 3:
            raise OSError('disk full')
        real_dump(data, f)

    monkeypatch.setattr(conv.json, 'dump', failing_dump)
    with pytest.raises(OSError, match='disk full'):
        conv.convert(str(root), str(tmp_path / 'o'), echo=lambda line: None)
    assert os.listdir(tmp_path / 'o') == []


def test_a_missing_frame_is_named_and_nothing_is_written(conv, root, tmp_path,
                                                         capsys):
    gone = root / 'Data' / 'VID' / 'train' / 'A' / 'vid0' / '000001.JPEG'
    gone.unlink()
    (root / 'Data' / 'DET' / 'train' / 'ILSVRC2013_train').rename(
        root / 'Data' / 'DET' / 'train' / 'moved')
    out = tmp_path / 'out'
    assert conv.main(['-i', str(root), '-o', str(out), '-j', '2']) == 1
    err = capsys.readouterr().err
    assert '2 image file(s) that the annotations name do not exist' in err
    assert str(gone) in err and 'n01440764/img2.JPEG' in err
    assert '--skip-frame-check' in err
    assert not out.exists() or os.listdir(out) == []
    assert conv.main(['-i', str(root), '-o', str(out),
                      '--skip-frame-check']) == 0
    assert sorted(os.listdir(out)) == sorted(OUT_FILES)


def test_a_rename_that_fails_rolls_back_the_files_already_replaced(
        conv, root, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    out.mkdir()
    for name in OUT_FILES:
        (out / name).write_text(f'previous {name}')
    real_replace = os.replace

    def replace(source, target):
        if str(target).endswith(OUT_FILES[2]) and '.partial' in str(source):
            raise OSError('rename failed')
        real_replace(source, target)

    monkeypatch.setattr(os, 'replace', replace)
    with pytest.raises(OSError, match='rename failed'):
        conv.convert(str(root), str(out), echo=lambda line: None)
    assert sorted(os.listdir(out)) == sorted(OUT_FILES)
    for name in OUT_FILES:
        assert (out / name).read_text() == f'previous {name}'


def test_sigterm_while_writing_leaves_no_partial_file(conv, root, tmp_path,
                                                      monkeypatch, capsys):
    real_dump, calls = json.dump, []

    def dump_then_terminated(data, f):
        calls.append(1)
        real_dump(data, f)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(conv.json, 'dump', dump_then_terminated)
    out = tmp_path / 'out'
    assert conv.main(['-i', str(root), '-o', str(out)]) == 143
    assert 'interrupted (SIGTERM): nothing was written' in \
        capsys.readouterr().err
    assert os.listdir(out) == []  # no hidden temporary file either
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


SLOW_CONVERSION = """
import sys, time
sys.path.insert(0, {tools!r})
import imagenet_vid as conv
parse = conv._parse
def slow_parse(task):
    time.sleep(0.2)
    return parse(task)
conv._parse = slow_parse
sys.exit(conv.main(['-i', {root!r}, '-o', {out!r}, '-j', '2']))
"""


def test_one_ctrl_c_ends_a_parallel_run_with_its_workers(root, tmp_path):
    for index in range(40):  # enough videos to keep two slow workers busy
        video = f'train/B/vid{index}'
        path = root / 'Annotations' / 'VID' / video / '000000.xml'
        write(path, xml(64, 48, [vobj(ZEBRA, (1, 2, 30, 40))]))
        with open(root / 'Lists' / 'VID_train_15frames.txt', 'a') as f:
            f.write(f'{video} 1 1 1\n')
    out = tmp_path / 'out'
    tools = str(Path(__file__).resolve().parents[2] / 'tools' /
                'dataset_converters')
    script = SLOW_CONVERSION.format(tools=tools, root=str(root),
                                    out=str(out))
    # A terminal's Ctrl-C goes to the whole process group: main + workers.
    process = subprocess.Popen([sys.executable, '-c', script],
                               stderr=subprocess.PIPE, text=True,
                               start_new_session=True,
                               env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        deadline = time.monotonic() + 120
        while len(_children(process.pid)) < 2:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)
        time.sleep(0.5)  # the workers are parsing
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err[-2000:]
    assert 'interrupted (SIGINT): nothing was written' in err
    assert not out.exists() or os.listdir(out) == []


def _children(pid: int) -> list:
    """The process ids whose parent is ``pid`` (from /proc)."""
    children = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children
