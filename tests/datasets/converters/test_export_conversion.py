"""Each annotation-tool export of the synthetic set converts to exactly the boxes it was written
from (tracks with a gap, occlusion, two classes), and bad exports are named in one line."""
import os
import os.path as osp

import pytest

from mamba_vod.datasets.converters import AnnotationError, convert_export, split_videos
from tests.datasets.converters import synthetic_export as synth


def _expected():
    """(video, frame, track, class, box, occluded) of the synthetic set, sorted like converted_boxes."""
    return sorted((b.video, b.frame, b.track, b.label, tuple(float(v) for v in b.box), b.occluded)
                  for b in synth.expected_boxes())


def _check_against_synthetic(coco: dict) -> None:
    """Every count, box, class and flag of ``coco`` equals the synthetic set's; tracks map one to
    one onto instance ids (the boat that leaves and comes back keeps its id)."""
    assert [c['name'] for c in coco['categories']] == list(synth.CLASSES)
    names = {v['id']: v['name'] for v in coco['videos']}
    frames = {}
    for image in coco['images']:
        frames.setdefault(names[image['video_id']], []).append(image['frame_id'])
        assert (image['width'], image['height']) == (synth.WIDTH, synth.HEIGHT)
    assert frames == {name: list(range(n)) for name, n in synth.VIDEOS}  # every frame, in order
    got = synth.converted_boxes(coco)
    want = _expected()
    assert len(got) == len(want) == len(coco['annotations'])
    track_of_instance = {}
    for (video, frame, instance, label, box, occluded), expected in zip(
            sorted(got, key=lambda g: (g[0], g[1], g[4])), sorted(want, key=lambda w: (w[0], w[1], w[4]))):
        assert (video, frame, label, box, occluded) == (
            expected[0], expected[1], expected[3], expected[4], expected[5])
        assert track_of_instance.setdefault(instance, (video, expected[2])) == (video, expected[2])
    assert len(track_of_instance) == len({(w[0], w[2]) for w in want}) == 7


@pytest.fixture
def root(tmp_path):
    synth.write_frames(lambda name: str(tmp_path / 'frames' / name))
    return tmp_path


def test_cvat_export_converts_to_the_synthetic_boxes(root):
    synth.write_cvat(str(root / 'cvat'))
    (coco, stats), = convert_export('cvat', str(root / 'cvat'), data_root=str(root),
                                    frames=str(root / 'frames')).values()
    _check_against_synthetic(coco)
    assert coco['images'][0]['file_name'] == 'frames/harbour/000000.png'
    assert sum(not ann['generated'] for ann in coco['annotations']) == synth.cvat_keyframes()
    assert (stats.videos, stats.frames, stats.tracks, stats.occluded) == (3, 31, 7, 6)


def test_mot_sequences_convert_to_the_synthetic_boxes(root):
    synth.write_mot(str(root / 'mot'))
    (coco, stats), = convert_export('mot', str(root / 'mot'), data_root=str(root),
                                    classes=synth.CLASSES).values()
    _check_against_synthetic(coco)  # the conf-0 row of each sequence is left out
    assert coco['images'][0]['file_name'] == 'mot/bay/img1/000001.jpg'  # sequences in name order
    assert sorted(v['name'] for v in coco['videos']) == sorted(name for name, _ in synth.VIDEOS)


def test_coco_video_json_converts_to_the_synthetic_boxes(root):
    synth.write_coco_video(str(root / 'coco.json'))
    (coco, _), = convert_export('coco-video', str(root / 'coco.json'), data_root=str(root),
                                frames=str(root / 'frames')).values()
    _check_against_synthetic(coco)


def test_the_split_is_by_video_seeded_and_complete(root):
    synth.write_cvat(str(root / 'cvat'))
    results = convert_export('cvat', str(root / 'cvat'), data_root=str(root), frames=str(root / 'frames'),
                             val_fraction=0.34, seed=3)
    again = convert_export('cvat', str(root / 'cvat'), data_root=str(root), frames=str(root / 'frames'),
                           val_fraction=0.34, seed=3)
    names = {split: [v['name'] for v in coco['videos']] for split, (coco, _) in results.items()}
    assert names == {split: [v['name'] for v in coco['videos']] for split, (coco, _) in again.items()}
    assert len(names['train']) == 2 and len(names['val']) == 1
    assert sorted(names['train'] + names['val']) == sorted(name for name, _ in synth.VIDEOS)
    for coco, _ in results.values():
        assert [c['name'] for c in coco['categories']] == list(synth.CLASSES)  # the same classes in both
    assert split_videos(10, 0.2, seed=0) == split_videos(10, 0.2, seed=0)
    with pytest.raises(ValueError, match='no video to train on'):
        split_videos(1, 0.5)


def _rewrite(path, old, new):
    with open(path) as f:
        text = f.read()
    assert old in text
    with open(path, 'w') as f:
        f.write(text.replace(old, new, 1))


def test_a_box_outside_its_frame_is_named_by_file_track_and_frame(root):
    first = synth.write_cvat(str(root / 'cvat'))[0]
    _rewrite(first, 'frame="3" xtl="11.00"', 'frame="3" xtl="90.00"')
    with pytest.raises(AnnotationError) as error:
        convert_export('cvat', str(root / 'cvat'), data_root=str(root), frames=str(root / 'frames'))
    message = str(error.value)
    assert '\n' not in message and first in message
    assert 'track 0, frame 3' in message and 'outside the 64x48 frame' in message


def test_a_frame_listed_but_missing_is_named(root):
    synth.write_cvat(str(root / 'cvat'))
    os.remove(root / 'frames' / 'pier' / '000009.png')
    with pytest.raises(AnnotationError, match=r"video 'pier'.*frame 9.*declares 10 frames but .* holds 9 \(frame 9 "
                                              'is listed but missing'):
        convert_export('cvat', str(root / 'cvat'), data_root=str(root), frames=str(root / 'frames'))


def test_a_class_not_in_the_list_is_named(root):
    synth.write_mot(str(root / 'mot'))
    with pytest.raises(AnnotationError) as error:
        convert_export('mot', str(root / 'mot'), data_root=str(root), classes=['boat'])
    assert osp.join('bay', 'gt', 'gt.txt') in str(error.value)
    assert "class 2 is not in the class list (1..1: ['boat'])" in str(error.value)
    synth.write_cvat(str(root / 'cvat'))
    with pytest.raises(AnnotationError, match=r"track 1, frame 2: class 'buoy' is not in the class list"):
        convert_export('cvat', str(root / 'cvat'), data_root=str(root), frames=str(root / 'frames'),
                       classes=['boat'])


@pytest.mark.parametrize('edit, message', [
    (('<annotations>', '<annotation>'), 'malformed XML'),
    (('<track id="0" label="boat" source="manual">', '<track id="0" source="manual">'),
     'track 0: the <track> has no label'),
    (('frame="1" xtl="5.00"', 'frame="1" xtl="five"'), "track 0, frame 1: <box> attribute xtl='five' is not a number"),
])
def test_malformed_cvat_is_named(root, edit, message):
    first = synth.write_cvat(str(root / 'cvat'))[0]
    _rewrite(first, *edit)
    with pytest.raises(AnnotationError, match=message):
        convert_export('cvat', str(root / 'cvat'), data_root=str(root), frames=str(root / 'frames'))


def test_a_coco_image_without_a_video_is_named(root):
    synth.write_coco_video(str(root / 'coco.json'))
    _rewrite(root / 'coco.json', '"frame_id": 0, "video": "harbour"', '"frame_id": 0')
    with pytest.raises(AnnotationError, match=r'image 1 \(harbour/000000.png\) names no video'):
        convert_export('coco-video', str(root / 'coco.json'), data_root=str(root), frames=str(root / 'frames'))


def test_frames_outside_the_data_root_are_refused(root):
    synth.write_cvat(str(root / 'cvat'))
    with pytest.raises(AnnotationError, match='outside the data root'):
        convert_export('cvat', str(root / 'cvat'), data_root=str(root / 'cvat'), frames=str(root / 'frames'))
