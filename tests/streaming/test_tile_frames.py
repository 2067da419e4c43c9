import numpy as np

from mamba_vod.streaming import tile_frames


def test_frames_are_tiled_row_by_row_in_cells_keeping_their_aspect():
    frames = [np.full((100, 200, 3), value, np.uint8) for value in (50, 100, 150)]
    grid = tile_frames(frames, cell=(40, 30))
    assert grid.shape == (60, 80, 3)  # 3 frames: 2 columns, 2 rows
    assert grid[15, 20, 0] == 50 and grid[15, 60, 0] == 100 and grid[45, 20, 0] == 150
    assert grid[2, 20].sum() == 0  # a 200x100 frame in a 40x30 cell is 40x20, centred: black above
    assert grid[45, 60].sum() == 0  # the fourth cell is empty


def test_one_frame_fills_one_cell():
    assert tile_frames([np.ones((10, 10, 3), np.uint8)], cell=(8, 6)).shape == (6, 8, 3)
