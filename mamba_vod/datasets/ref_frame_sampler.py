"""Choice of the reference frames that go with a key frame of a video.

Frames are addressed by their position in the video (0 .. L-1, L = video length), which is
the COCO-VID ``frame_id`` for the converter's json files. The methods are the ones mmtracking
users know from ``ref_img_sampler``:

- ``'uniform'``: ``num_ref_imgs`` frames drawn without replacement from the window
  ``[key + frame_range[0], key + frame_range[1]]`` (clipped to the video).
- ``'bilateral_uniform'``: half of them from the left part of the window, half from the right.
- ``'test_with_adaptive_stride'``: test time only; frame 0 gets ``num_ref_imgs`` references at
  ``round(i * (L - 1) / (num_ref_imgs - 1))``, i = 0 .. num_ref_imgs - 1 (Python ``round``,
  duplicates kept), every other frame none. With ``num_ref_imgs=14`` this is the 'paper'
  test protocol of MAMBA (14 frames spread over the whole video fill the memory at frame 0).

In training the number of references is always exactly ``num_ref_imgs`` so that every sample
has T = 1 + num_ref_imgs frames (mmtracking returns fewer at the ends of a video): when one side of the window is
empty, ``'bilateral_uniform'`` draws all N from the whole window; when the window has fewer
frames than needed they are drawn with replacement; a one-frame video repeats the key frame.
"""
import random
from typing import List, Sequence, Tuple, Union

TRAIN_METHODS = ('uniform', 'bilateral_uniform')
TEST_METHODS = ('test_with_adaptive_stride', )


class RefFrameSampler:
    """Chooses reference frame positions for a key frame.

    Args:
        num_ref_imgs: number of reference frames per key frame (N).
        frame_range: the window around the key frame, ``k`` for ``[-k, k]`` or ``[left, right]``
            with ``left <= 0 <= right``. Unused by ``'test_with_adaptive_stride'``.
        filter_key_img: leave the key frame out of the candidates.
        method: one of ``'uniform'``, ``'bilateral_uniform'``, ``'test_with_adaptive_stride'``.
    """

    def __init__(self,
                 *,
                 num_ref_imgs: int = 2,
                 frame_range: Union[int, Sequence[int]] = 9,
                 filter_key_img: bool = True,
                 method: str = 'bilateral_uniform') -> None:
        if method not in TRAIN_METHODS + TEST_METHODS:
            raise ValueError(f'ref_img_sampler.method must be one of {TRAIN_METHODS + TEST_METHODS}, '
                             f'got {method!r}')
        if not isinstance(num_ref_imgs, int) or num_ref_imgs < 1:
            raise ValueError(f'ref_img_sampler.num_ref_imgs must be a positive int, got {num_ref_imgs!r}')
        if method == 'bilateral_uniform' and num_ref_imgs % 2:
            raise ValueError('ref_img_sampler: bilateral_uniform needs an even num_ref_imgs, '
                             f'got {num_ref_imgs}')
        self.num_ref_imgs = num_ref_imgs
        self.frame_range = self._check_range(frame_range)
        self.filter_key_img = filter_key_img
        self.method = method

    @staticmethod
    def _check_range(frame_range: Union[int, Sequence[int]]) -> Tuple[int, int]:
        if isinstance(frame_range, int):
            frame_range = (-frame_range, frame_range)
        if (len(frame_range) != 2 or not all(isinstance(v, int) for v in frame_range)
                or frame_range[0] > 0 or frame_range[1] < 0):
            raise ValueError('ref_img_sampler.frame_range must be an int k >= 0 or [left, right] ints '
                             f'with left <= 0 <= right, got {frame_range!r}')
        return int(frame_range[0]), int(frame_range[1])

    @property
    def is_test_method(self) -> bool:
        return self.method in TEST_METHODS

    def sample(self, position: int, video_length: int, rng: random.Random = random) -> List[int]:
        """Reference positions for the key frame at ``position`` of a video of ``video_length``.

        ``rng`` is Python's ``random`` module by default, which mmengine seeds per worker.
        """
        if not 0 <= position < video_length:
            raise IndexError(f'frame position {position} outside a video of {video_length} frames')
        if self.method == 'test_with_adaptive_stride':
            return self._adaptive_stride(position, video_length)
        left = max(0, position + self.frame_range[0])
        right = min(video_length - 1, position + self.frame_range[1])
        if self.method == 'uniform':
            return self._draw(self._candidates(left, right, position), self.num_ref_imgs, position, rng)
        sides = [self._candidates(left, position, position), self._candidates(position, right, position)]
        if not all(sides):  # at an end of the video: the whole window, as 'uniform'
            return self._draw(self._candidates(left, right, position), self.num_ref_imgs, position, rng)
        half = self.num_ref_imgs // 2
        return self._draw(sides[0], half, position, rng) + self._draw(sides[1], half, position, rng)

    def _candidates(self, lo: int, hi: int, key: int) -> List[int]:
        return [p for p in range(lo, hi + 1) if not (self.filter_key_img and p == key)]

    @staticmethod
    def _draw(candidates: List[int], num: int, key: int, rng: random.Random) -> List[int]:
        if not candidates:
            return [key] * num
        if len(candidates) >= num:
            return rng.sample(candidates, num)
        return [rng.choice(candidates) for _ in range(num)]

    def _adaptive_stride(self, position: int, video_length: int) -> List[int]:
        if position != 0:
            return []
        if self.num_ref_imgs == 1:
            return [0]
        last = self.num_ref_imgs - 1
        return [round(i * (video_length - 1) / last) for i in range(self.num_ref_imgs)]

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_ref_imgs={self.num_ref_imgs}, '
                f'frame_range={list(self.frame_range)}, filter_key_img={self.filter_key_img}, '
                f'method={self.method!r})')
