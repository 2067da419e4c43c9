import torch

from mamba_vod.models.levels.pixel_sampling import pixels_in_boxes, salient_pixels, sample_pixels


def _coordinate_map(height=6, width=8):
    """(2, h, w) map whose channels are each cell's y and x."""
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing='ij')
    return torch.stack([ys, xs]).float()


def test_pixels_in_boxes_stay_inside_and_are_bounded():
    feat = _coordinate_map()
    boxes = torch.tensor([[16., 16., 64., 48.], [0., 0., 8., 8.], [100., 70., 200., 200.]])  # stride 16
    rows, owner = pixels_in_boxes(feat, boxes, stride=16, per_box=5, generator=torch.Generator().manual_seed(0))
    assert owner.tolist().count(0) == 5 and owner.tolist().count(1) == 1 and owner.tolist().count(2) == 4
    first = rows[owner == 0]  # corners on cell edges: cells 1..3 (y) x 1..4 (x), edges included
    assert ((first[:, 0] >= 1) & (first[:, 0] <= 3) & (first[:, 1] >= 1) & (first[:, 1] <= 4)).all()
    assert first.unique(dim=0).shape[0] == 5  # no cell twice
    assert rows[owner == 1].tolist() == [[0., 0.]]  # a box inside one cell gives that cell
    assert set(map(tuple, rows[owner == 2].tolist())) == {(4., 6.), (4., 7.), (5., 6.), (5., 7.)}  # clipped to the map
    empty_rows, empty_owner = pixels_in_boxes(feat, torch.zeros(0, 4), stride=16, per_box=5)
    assert empty_rows.shape == (0, 2) and empty_owner.numel() == 0


def test_a_box_corner_on_a_cell_edge_takes_the_column_and_row_it_starts():
    """The authors' cells of a box: floor(x1 / 16) .. floor(x2 / 16) inclusive (the same in y)."""
    feat = _coordinate_map()
    boxes = torch.tensor([[16., 16., 48., 32.], [16., 16., 47.9, 31.9], [0., 0., 128., 96.]])
    rows, owner = pixels_in_boxes(feat, boxes, stride=16, per_box=100)
    cells = [set(map(tuple, rows[owner == box].long().tolist())) for box in range(3)]
    assert cells[0] == {(y, x) for y in (1, 2) for x in (1, 2, 3)}  # x2 = 48, y2 = 32 on edges: one more
    assert cells[1] == {(y, x) for y in (1, ) for x in (1, 2)}
    assert len(cells[2]) == 48  # the whole map: an edge at the map's end stays on the map


def test_sample_pixels_counts_and_frames():
    feats = torch.stack([_coordinate_map(), _coordinate_map() + 100])  # (2, 2, 6, 8)
    rows, frame = sample_pixels(feats, 30, torch.Generator().manual_seed(0))
    assert rows.shape == (30, 2) and rows.unique(dim=0).shape[0] == 30
    assert torch.equal(frame, (rows[:, 0] >= 100).long())
    everything, _ = sample_pixels(feats, 1000)
    assert everything.shape == (96, 2)


def test_salient_pixels_are_those_whose_norm_share_is_above_the_mean():
    feat = torch.ones(4, 3, 3)
    feat[:, 0, 0] = 3.0
    feat[:, 2, 1] = 2.5
    rows = salient_pixels(feat, 10)
    assert sorted(rows[:, 0].tolist()) == [2.5, 3.0]
    assert len(salient_pixels(feat, 1, torch.Generator().manual_seed(0))) == 1
    assert len(salient_pixels(torch.ones(4, 3, 3), 10)) == 0  # all equal: none above the mean
