import json

import pytest

from mamba_vod.datasets import CocoVIDAnnotations, CocoVIDFormatError
from .tiny_vid import write_vid


def _edit(path, change):
    content = json.loads(open(path).read())
    change(content)
    with open(path, 'w') as f:
        json.dump(content, f)
    return path


def test_videos_in_json_order_with_frames_sorted(tmp_path):
    path = write_vid(tmp_path, [3, 2])
    _edit(path, lambda c: (c['images'].reverse(), c['videos'].reverse()))
    coco = CocoVIDAnnotations(path)
    assert [video['id'] for video, _ in coco.clips] == [2, 1]
    assert [[img['frame_id'] for img in images] for _, images in coco.clips] == [[0, 1], [0, 1, 2]]
    assert coco.categories == {1: 'airplane', 2: 'antelope', 3: 'bear'}
    assert [a['image_id'] for a in coco.anns_by_image[4]] == [4]


def test_still_images_are_clips_of_one(tmp_path):
    path = write_vid(tmp_path, [3])
    _edit(path, lambda c: c.pop('videos'))
    coco = CocoVIDAnnotations(path, load_as_video=False)
    assert [len(images) for video, images in coco.clips] == [1, 1, 1]
    assert all(video is None for video, _ in coco.clips)


@pytest.mark.parametrize('change, message', [
    (lambda c: c.pop('annotations'), 'top level: missing field "annotations"'),
    (lambda c: c['images'][1].pop('frame_id'), r'images\[1\] \(id 2\): missing field "frame_id"'),
    (lambda c: c['images'][0].pop('is_vid_train_frame'), 'missing field "is_vid_train_frame"'),
    (lambda c: c['videos'][0].pop('name'), r'videos\[0\].*missing field "name"'),
    (lambda c: c['categories'][0].pop('name'), r'categories\[0\].*missing field "name"'),
    (lambda c: c['annotations'][0].pop('bbox'), r'annotations\[0\].*missing field "bbox"'),
    (lambda c: c['images'][2].update(video_id=9), 'names video 9, which is not in "videos"'),
    (lambda c: c['images'][2].update(frame_id=0), '"frame_id" 0 repeats within video 1'),
    (lambda c: c['annotations'][1].update(category_id=12), '"category_id" 12 is not in "categories"'),
    (lambda c: c['annotations'][1].update(image_id=99), 'names image 99, which is not in "images"'),
    (lambda c: c['annotations'][1].update(bbox=[1, 2, 3]), r'"bbox" must be \[x, y, w, h\]'),
    (lambda c: c['videos'].append(dict(c['videos'][0])), 'duplicate video id 1'),
])
def test_bad_json_names_the_file_and_the_field(tmp_path, change, message):
    path = _edit(write_vid(tmp_path, [3]), change)
    with pytest.raises(CocoVIDFormatError, match=message) as err:
        CocoVIDAnnotations(path, image_fields=('is_vid_train_frame', ))
    assert str(err.value).startswith(str(path))


def test_unreadable_files_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match='imagenet_vid.py'):
        CocoVIDAnnotations(str(tmp_path / 'missing.json'))
    (tmp_path / 'broken.json').write_text('{"images": [')
    with pytest.raises(CocoVIDFormatError, match='broken.json: not valid json'):
        CocoVIDAnnotations(str(tmp_path / 'broken.json'))
