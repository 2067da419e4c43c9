import os

import numpy as np
import pytest

from mamba_vod.streaming import VideoFileWriter


def test_the_video_appears_only_when_closed_with_every_frame(tmp_path, utils):
    path = str(tmp_path / 'out.mp4')
    frames = utils.make_frames(5)
    with VideoFileWriter(path, fps=7) as writer:
        for frame in frames[:4]:
            writer.write(frame)
        writer.write(np.zeros((40, 50, 3), np.uint8))  # another size: resized to the video's
        assert not os.path.exists(path)
        partial = [name for name in os.listdir(tmp_path) if '.partial' in name]
        assert len(partial) == 1 and partial[0].endswith('.mp4')
    written = utils.read_video(path)
    assert len(written) == 5 and written[0].shape == (96, 128, 3)
    assert os.listdir(tmp_path) == ['out.mp4']
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)


def test_an_interrupted_run_still_leaves_a_playable_video(tmp_path, utils):
    path = str(tmp_path / 'out.avi')
    with pytest.raises(KeyboardInterrupt):
        with VideoFileWriter(path, fps=10) as writer:
            for frame in utils.make_frames(3):
                writer.write(frame)
            raise KeyboardInterrupt
    assert len(utils.read_video(path)) == 3


def test_no_frame_leaves_no_file_and_bad_extensions_are_refused(tmp_path):
    with VideoFileWriter(str(tmp_path / 'none.mp4'), fps=10):
        pass
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match=r'\.mp4'):
        VideoFileWriter(str(tmp_path / 'out.gif'), fps=10)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        VideoFileWriter(str(tmp_path / 'no' / 'out.mp4'), fps=10)
