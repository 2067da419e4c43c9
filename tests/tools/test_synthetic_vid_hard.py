"""tools/misc/make_synthetic_vid.py --preset hard (tools/misc/synthetic_vid_hard.py): several
classes per video, unlabelled look-alikes, long videos, and the real converter reads it."""
import json
import xml.etree.ElementTree as ET
from collections import defaultdict

import numpy as np
import pytest

SMALL_HARD = ['--preset', 'hard', '--seed', '1', '--train-videos', '2', '--val-videos', '4', '--frames', '12',
              '--det-images', '3', '--height', '96', '--width', '120', '--train-key-frames', '4']
SCENE = dict(height=96, width=120, frames=6, num_classes=5, degraded_fraction=0.4, strength=1.0)


@pytest.fixture
def gen(load_tool):
    return load_tool('misc/make_synthetic_vid.py')


@pytest.fixture
def hard(load_tool):
    return load_tool('misc/synthetic_vid_hard.py')


@pytest.fixture(scope='module')
def hard_set(load_tool, tmp_path_factory):
    root = tmp_path_factory.mktemp('hard') / 'data'
    manifest = root.parent / 'hard.sha256'
    assert load_tool('misc/make_synthetic_vid.py').main(
        ['--out', str(root), '--manifest', str(manifest)] + SMALL_HARD) == 0
    return root, manifest


def test_preset_lengths_and_explicit_options(gen):
    hard = gen.parse_args(['--out', 'x', '--preset', 'hard'])
    assert (hard.frames, hard.val_videos, hard.train_videos) == (64, 20, 16)
    default = gen.parse_args(['--out', 'x'])
    assert (default.preset, default.frames, default.val_videos) == ('default', 24, 30)
    assert gen.parse_args(['--out', 'x', '--preset', 'hard', '--frames', '48']).frames == 48
    with pytest.raises(SystemExit):  # with 2 classes every pattern-colour pair is a class
        gen.parse_args(['--out', 'x', '--preset', 'hard', '--classes', '2'])


def test_lookalikes_wear_a_pair_that_no_class_wears(hard, load_tool):
    classes = load_tool('misc/synthetic_vid_appearance.py').CLASS_STYLES[:5]
    looks = hard.lookalike_styles(5)
    worn = {(s.pattern, s.colours) for s in classes}
    assert looks and all((s.pattern, s.colours) not in worn for s in looks)
    # ... but each shares its pattern with a class and its colours with another
    assert {s.pattern for s in looks} <= {c.pattern for c in classes}
    assert {s.colours for s in looks} <= {c.colours for c in classes}
    with pytest.raises(ValueError, match='at least 3 classes'):
        hard.lookalike_styles(2)


@pytest.mark.parametrize('seed', range(6))
def test_a_hard_scene_has_classes_and_lookalikes(hard, seed):
    scene = hard.make_hard_scene(np.random.default_rng(seed), class_index=seed % 5, **SCENE)
    labelled = [t for t in scene.tracks if t.labelled]
    looks = [t for t in scene.tracks if not t.labelled]
    names = [t.style.name for t in labelled]
    assert 2 <= len(labelled) <= 3 and len(set(names)) == len(names)  # different classes
    assert names.count(hard.CLASS_STYLES[seed % 5].name) == 1
    assert 1 <= len(looks) <= 2 and len(scene.tracks) <= 4
    silhouettes = {t.style.silhouette for t in labelled}
    assert all(t.style.silhouette in silhouettes for t in looks)  # the shape of an object of the video


def test_lookalikes_are_drawn_and_not_annotated(hard, load_tool):
    scene_mod = load_tool('misc/synthetic_vid_scene.py')
    scene = hard.make_hard_scene(np.random.default_rng(3), **dict(SCENE, strength=0.0))
    frame, objects = scene_mod.render_frame(scene, 2, np.random.default_rng(0))
    assert [o.name for o in objects] == [t.style.name for t in scene.tracks if t.labelled]
    assert [o.trackid for o in objects] == list(range(len(objects)))
    scene.tracks = [t for t in scene.tracks if t.labelled]
    without, same = scene_mod.render_frame(scene, 2, np.random.default_rng(0))
    assert [o.box for o in same] == [o.box for o in objects]
    changed = np.abs(frame.astype(int) - without).max(axis=2) > 30
    assert changed.mean() > 0.03  # the look-alike covers part of the frame


def _val_objects(root):
    """{video: {trackid: set of WordNet ids}} over the val annotations."""
    tracks = defaultdict(lambda: defaultdict(set))
    for xml in sorted((root / 'Annotations/VID/val').rglob('*.xml')):
        for obj in ET.parse(xml).getroot().findall('object'):
            tracks[xml.parent.name][obj.findtext('trackid')].add(obj.findtext('name'))
    return tracks


def test_hard_set_videos_hold_several_classes(hard_set):
    root, _ = hard_set
    videos = _val_objects(root)
    assert len(videos) == 4
    for tracks in videos.values():
        assert all(len(names) == 1 for names in tracks.values())  # a track keeps its class
        classes = set.union(*tracks.values())
        assert 2 <= len(classes) == len(tracks) <= 3
    frames = sorted((root / 'Data/VID/val/ILSVRC2015_val_00000000').glob('*.JPEG'))
    assert len(frames) == 12
    degraded = (root / 'Lists/VID_val_degraded_frames.txt').read_text().split()
    assert 2 <= len(degraded) <= 4 * 12 * 0.6


def test_the_manifest_pins_the_hard_set(hard_set, gen, load_tool, tmp_path):
    root, manifest = hard_set
    header, digests = load_tool('misc/synthetic_vid_files.py').read_manifest(str(manifest))
    assert any(line.startswith('arguments: --preset hard --seed 1') for line in header)
    assert set(digests) == {str(p.relative_to(root)) for p in root.rglob('*') if p.is_file()}
    again = tmp_path / 'again'
    assert gen.main(['--out', str(again), '--manifest', str(tmp_path / 'again.sha256')] + SMALL_HARD) == 0
    assert (tmp_path / 'again.sha256').read_text() == manifest.read_text()


def test_the_converter_reads_the_hard_set(hard_set, load_tool, tmp_path):
    root, _ = hard_set
    conv = load_tool('dataset_converters/imagenet_vid.py')
    summaries = conv.convert(str(root), str(tmp_path), echo=lambda line: None)
    assert not any(s.problems.counts for s in summaries.values())
    val = json.loads((tmp_path / 'imagenet_vid_val.json').read_text())
    assert len(val['videos']) == 4 and len(val['images']) == 4 * 12
    per_video = defaultdict(set)
    for ann in val['annotations']:
        per_video[ann['video_id']].add(ann['category_id'])
    assert all(len(cats) >= 2 for cats in per_video.values()) and len(per_video) == 4
    det = json.loads((tmp_path / 'imagenet_det_30plus1cls.json').read_text())
    assert len(det['images']) == 3 and len(det['annotations']) >= 2 * 3
