"""tools/misc/make_synthetic_vid.py and its rendering modules (the hard preset:
tests/tools/test_make_synthetic_vid_hard.py)."""
import hashlib
import json
import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

SMALL = ['--train-videos', '2', '--val-videos', '2', '--frames', '10',
         '--det-images', '3', '--height', '64', '--width', '80',
         '--classes', '3', '--train-key-frames', '4']


@pytest.fixture
def gen(load_tool):
    return load_tool('misc/make_synthetic_vid.py')


def digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).digest()
            for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture
def small_set(gen, tmp_path_factory):
    root = tmp_path_factory.mktemp('syn') / 'data'
    assert gen.main(['--out', str(root), '--seed', '3'] + SMALL) == 0
    return root


def test_same_seed_same_bytes(gen, small_set, tmp_path):
    again, other = tmp_path / 'again', tmp_path / 'other'
    assert gen.main(['--out', str(again), '--seed', '3'] + SMALL) == 0
    assert gen.main(['--out', str(other), '--seed', '4'] + SMALL) == 0
    first = digest(small_set)
    assert len(first) == 2 * 2 * 10 * 2 + 3 * 2 + 5
    assert digest(again) == first
    assert digest(other).keys() == first.keys()
    assert digest(other) != first


def test_the_default_set_is_the_published_one(gen, load_tool, tmp_path):
    """The default preset writes, byte for byte, the files pinned by the
    committed manifest (made before the hard preset existed). Its header
    says how to remake it: only right for a change meant to alter the
    published data set."""
    files = load_tool('misc/synthetic_vid_files.py')
    header, pinned = files.read_manifest(
        str(Path(__file__).with_name('synthetic_vid_default.sha256')))
    line = next(h for h in header if h.startswith('arguments:'))
    words = shlex.split(line[len('arguments:'):])
    assert words[:2] == ['--preset', 'default']
    assert len(pinned) == 2 * 2 * 10 * 2 + 3 * 2 + 5
    out = tmp_path / 'default'
    assert gen.main(['--out', str(out)] + words) == 0
    ours = {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob('*')) if p.is_file()}
    changed = sorted(name for name in pinned.keys() | ours.keys()
                     if pinned.get(name) != ours.get(name))
    assert not changed, f'the default synthetic set changed: {changed[:5]}'


def test_layout_lists_and_annotations(small_set):
    lists = small_set / 'Lists'
    train = (lists / 'VID_train_15frames.txt').read_text().splitlines()
    assert len(train) == 2 * 4
    name, one, frame, count = train[0].split()
    assert name == 'train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'
    assert (one, count) == ('1', '10') and 1 <= int(frame) <= 10
    assert (lists / 'VID_val_videos.txt').read_text().splitlines() == [
        'val/ILSVRC2015_val_00000000 1 0 10',
        'val/ILSVRC2015_val_00000001 11 0 10']
    det = (lists / 'DET_train_30classes.txt').read_text().splitlines()
    assert det[2] == 'train/ILSVRC2014_train_0000/ILSVRC2014_train_00000002 3'
    frame0 = small_set / 'Data/VID/val/ILSVRC2015_val_00000001/000000.JPEG'
    assert cv2.imread(str(frame0)).shape == (64, 80, 3)

    root = ET.parse(small_set / 'Annotations/VID' / (
        train[0].split()[0] + '/000004.xml')).getroot()
    assert root.findtext('folder') == ('ILSVRC2015_VID_train_0000/'
                                       'ILSVRC2015_train_00000000')
    assert root.findtext('filename') == '000004'
    assert (root.findtext('size/width'), root.findtext('size/height')) == (
        '80', '64')
    objects = root.findall('object')
    assert 1 <= len(objects) <= 2
    for obj in objects:
        # video 0 has class 0 = zebra
        assert obj.findtext('name') == 'n02391049'
        assert obj.findtext('trackid') in ('0', '1')
        assert obj.findtext('occluded') in ('0', '1')
        assert obj.findtext('generated') == '0'
        x1, y1, x2, y2 = (int(obj.findtext(f'bndbox/{k}'))
                          for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        assert 0 <= x1 < x2 <= 80 and 0 <= y1 < y2 <= 64
        assert min(x2 - x1, y2 - y1) >= 0.2 * 64  # objects are big


def test_degraded_and_clean_lists_split_the_val_frames(small_set):
    lists = small_set / 'Lists'
    bad = (lists / 'VID_val_degraded_frames.txt').read_text().split()
    good = (lists / 'VID_val_clean_frames.txt').read_text().split()
    every = {f'val/ILSVRC2015_val_{v:08d}/{t:06d}.JPEG'
             for v in range(2) for t in range(10)}
    assert set(bad) | set(good) == every and not set(bad) & set(good)
    assert 4 <= len(bad) <= 12  # about 40% of 20 frames, in bursts


def test_the_converter_reads_the_output(load_tool, small_set, tmp_path):
    conv = load_tool('dataset_converters/imagenet_vid.py')
    summaries = conv.convert(str(small_set), str(tmp_path),
                             echo=lambda line: None)
    val = json.loads((tmp_path / 'imagenet_vid_val.json').read_text())
    assert len(val['images']) == 20 and len(val['videos']) == 2
    names = {im['file_name'] for im in val['images']}
    bad = (small_set / 'Lists/VID_val_degraded_frames.txt').read_text()
    assert set(bad.split()) <= names
    train = summaries['imagenet_vid_train.json']
    assert train.train_frames == 8 and train.images == 20
    assert set(train.boxes) <= {30, 25, 13}  # zebra, tiger, giant_panda
    assert not any(s.problems.counts for s in summaries.values())


def test_existing_output_needs_force(gen, small_set, capsys):
    before = digest(small_set)
    assert gen.main(['--out', str(small_set)] + SMALL) == 1
    assert 'exists' in capsys.readouterr().err
    assert digest(small_set) == before
    assert gen.main(['--out', str(small_set), '--force', '--seed', '9']
                    + SMALL) == 0
    assert digest(small_set) != before
    assert not [p for p in os.listdir(small_set.parent) if p.startswith('.')]


def test_classes_share_the_mean_colour(load_tool):
    """Blurred away, every class (and every look-alike of the hard preset)
    is the same grey: colour alone can't tell."""
    app = load_tool('misc/synthetic_vid_appearance.py')
    hard = load_tool('misc/synthetic_vid_hard.py')
    rng = np.random.default_rng(0)
    styles = app.CLASS_STYLES + tuple(hard.lookalike_styles(8))
    means = [app.object_texture(style, rng).reshape(-1, 3).mean(0)
             for style in styles]
    spread = np.ptp(np.stack(means), axis=0)
    assert spread.max() < 45
    # ... while their clear patterns differ a lot
    contrast = [app.object_texture(s, rng).std() for s in app.CLASS_STYLES]
    assert min(contrast) > 40


def _detail(img: np.ndarray) -> float:
    """High-frequency energy: variance of the Laplacian of the grey image."""
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F).var())


@pytest.mark.parametrize('kind', ['motion_blur', 'defocus'])
def test_blurs_wipe_out_the_pattern(load_tool, kind):
    app = load_tool('misc/synthetic_vid_appearance.py')
    deg = load_tool('misc/synthetic_vid_degrade.py')
    rng = np.random.default_rng(1)
    tex = cv2.resize(app.object_texture(app.CLASS_STYLES[0], rng), (64, 64))
    frame = np.full((128, 160, 3), 128, np.uint8)
    frame[32:96, 48:112] = tex
    out = deg.degrade(frame, (kind, ), 1.0, rng)
    assert _detail(out) < 0.1 * _detail(frame)
    assert np.array_equal(deg.degrade(frame, (kind, ), 0.0, rng), frame)


def test_noise_and_low_contrast_bury_the_pattern(load_tool):
    deg = load_tool('misc/synthetic_vid_degrade.py')
    rng = np.random.default_rng(2)
    frame = np.zeros((128, 160, 3), np.uint8)
    frame[:, ::8] = 255
    low = deg.degrade(frame, ('low_contrast', ), 1.0, rng)
    assert low.astype(float).std() < 0.3 * frame.astype(float).std()
    noisy = deg.degrade(frame, ('noise', ), 1.0, rng).astype(float)
    assert np.abs(noisy - frame).mean() > 30


def test_bursts_leave_clear_frames_around_them(load_tool):
    scene_mod = load_tool('misc/synthetic_vid_scene.py')
    rng = np.random.default_rng(5)
    scene = scene_mod.make_scene(rng, height=64, width=80, frames=60,
                                 num_classes=3, degraded_fraction=0.4,
                                 strength=1.0)
    flags = [scene.is_degraded(t) for t in range(60)]
    assert 15 <= sum(flags) <= 30
    runs, t = [], 0
    while t < 60:  # lengths of the runs of equal flags
        end = t
        while end < 60 and flags[end] == flags[t]:
            end += 1
        runs.append((flags[t], end - t))
        t = end
    assert all(n <= 5 for bad, n in runs if bad)
    assert all(n >= 2 for bad, n in runs[1:-1] if not bad)
    assert len({id(scene.bursts[t]) for t in scene.bursts}) >= 3
