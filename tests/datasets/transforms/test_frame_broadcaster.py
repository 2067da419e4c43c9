import numpy as np
from mmengine.registry import TRANSFORMS


def frames(count, height=8, width=12):
    imgs = [np.full((height, width, 3), 10 * i, np.uint8) for i in range(count)]
    for img in imgs:
        img[:, :, 1] = np.arange(width)  # rises left to right
    return dict(img=imgs, img_path=[f'{i}.png' for i in range(count)], img_shape=[(height, width)] * count,
                ori_shape=[(height, width)] * count, frame_id=list(range(count)))


def broadcaster(*transforms, share=True):
    return TRANSFORMS.build(dict(type='FrameBroadcaster', share_random_params=share, transforms=list(transforms)))


def test_random_scale_and_flip_are_shared_by_all_frames():
    transform = broadcaster(dict(type='RandomResize', scale=[(12, 8), (36, 24)], keep_ratio=True),
                            dict(type='RandomFlip', prob=0.5))
    shapes, flips = set(), set()
    for seed in range(12):
        np.random.seed(seed)
        out = transform(frames(3))
        assert len({img.shape for img in out['img']}) == 1
        assert len(set(out['flip'])) == 1
        flipped = [bool(img[0, 0, 1] > img[0, -1, 1]) for img in out['img']]
        assert flipped == out['flip']
        shapes.add(out['img'][0].shape)
        flips.add(out['flip'][0])
    assert len(shapes) > 1 and flips == {True, False}  # the choices are random, yet shared


def test_a_single_frame_becomes_lists_of_one():
    single = {name: values[0] for name, values in frames(1).items()}
    out = broadcaster(dict(type='Resize', scale=(24, 16), keep_ratio=True))(single)
    assert isinstance(out['img'], list) and len(out['img']) == 1
    assert out['img'][0].shape == (16, 24, 3) and out['frame_id'] == [0]
