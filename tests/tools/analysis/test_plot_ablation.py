"""tools/analysis/plot_ablation.py: the ablation JSON as a PNG of the expected size, with the
headline (degraded frames) drawn; a malformed JSON is refused with a message that says why."""
import json

import cv2
import numpy as np
import pytest


def _records():
    return [dict(set=data_set, protocol='online', variant=variant, seed=seed, all=70.0 + seed,
                 degraded=(30.0 if variant == 'baseline' else 45.0) + 2 * seed, clean=90.0)
            for data_set in ('default', 'hard') for variant in ('baseline', 'both') for seed in (0, 1)]


def test_draws_every_set_and_protocol_at_the_expected_size(load_tool, tmp_path, capsys):
    tool = load_tool('analysis/plot_ablation.py')
    ablation, out = tmp_path / 'ablation.json', tmp_path / 'figs' / 'ablation.png'
    ablation.write_text(json.dumps(dict(epochs=16, results=_records())))
    assert tool.main([str(ablation), '--out', str(out), '--title', 'test']) == 0
    assert f'wrote {out}' in capsys.readouterr().out
    image = cv2.imread(str(out))
    height, width = image.shape[:2]
    assert width == 480 and height in [tool.figure_size(2, 1, rows)[1] for rows in (2, 3, 5)]  # two sets, one protocol
    red = np.array([0x2b, 0x18, 0xb2])  # the degraded frames' colour, BGR
    assert (np.abs(image.astype(int) - red).sum(axis=2) < 40).sum() > 200
    assert not list(out.parent.glob('.*'))  # no temporary file left


@pytest.mark.parametrize('protocols', [('online',), ('online', 'paper')])
def test_the_legend_is_inside_the_figure_whatever_its_width(load_tool, protocols):
    """A one-panel figure (the quickstart's) once cut its legend at the left edge."""
    tool = load_tool('analysis/plot_ablation.py')
    records = [dict(record, protocol=protocol) for record in _records() if record['set'] == 'default'
               for protocol in protocols]
    figure = tool.build_figure(records, title='test')
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    assert (width, height) in [tool.figure_size(1, len(protocols), rows) for rows in (2, 3, 5)]
    for box in [figure.legends[0].get_window_extent(renderer)] + [
            text.get_window_extent(renderer) for text in figure.legends[0].get_texts()]:
        assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height
    panels = [axes.get_window_extent(renderer) for axes in figure.axes]
    assert all(figure.legends[0].get_window_extent(renderer).y1 <= panel.y0 for panel in panels)


def test_a_panel_says_how_many_seeds_its_methods_have(load_tool):
    tool = load_tool('analysis/plot_ablation.py')
    records = [r for r in _records() if r['set'] == 'default']
    assert tool.seeds_label(records) == '2 seeds'
    assert tool.seeds_label([r for r in records if r['seed'] == 0]) == '1 seed'
    partial = [r for r in records if r['variant'] == 'baseline' or r['seed'] == 0]  # a grid still running
    assert tool.seeds_label(partial) == '1 to 2 seeds a method'


def test_mean_and_standard_error_over_seeds(load_tool):
    tool = load_tool('analysis/plot_ablation.py')
    assert tool.mean_and_error([40.0, 44.0]) == pytest.approx((42.0, 2.0))
    assert tool.mean_and_error([40.0]) == (40.0, 0.0)


@pytest.mark.parametrize('content, message', [
    ('{"results": [', 'not a readable JSON file'),
    ('{"runs": {}}', "non-empty 'results' list"),
    ('{"results": []}', "non-empty 'results' list"),
    ('{"results": [{"set": "default", "protocol": "online", "variant": "both", "seed": 0, "all": 70}]}',
     "results[0] lacks ['degraded', 'clean']"),
    ('{"results": [{"set": "default", "protocol": "online", "variant": "both", "seed": 0, "all": 70, '
     '"degraded": 140, "clean": "high"}]}', "['degraded', 'clean'] outside 0..100"),
])
def test_refuses_a_malformed_json(load_tool, tmp_path, capsys, content, message):
    tool = load_tool('analysis/plot_ablation.py')
    ablation, out = tmp_path / 'bad.json', tmp_path / 'bad.png'
    ablation.write_text(content)
    assert tool.main([str(ablation), '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'error: {ablation}: ') and message in err
    assert not out.exists()


def test_a_panel_of_many_variants_widens_so_that_their_labels_do_not_overlap(load_tool):
    tool = load_tool('analysis/plot_ablation.py')
    variants = ['baseline', 'dff', 'fgfa', 'selsa', 'selsa-troialign', 'rdn', 'mega', 'instance', 'both']
    records = [dict(set='hard', protocol=protocol, variant=variant, seed=0, all=70.0, degraded=40.0, clean=90.0)
               for protocol in ('online', 'offline') for variant in variants]
    figure = tool.build_figure(records)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    assert figure.bbox.width == 2 * tool.VARIANT_PX * len(variants) > 2 * tool.PANEL_PX[0]
    for axes in figure.axes:
        labels = sorted((label.get_window_extent(renderer) for label in axes.get_xticklabels()), key=lambda b: b.x0)
        assert len(labels) == len(variants)
        assert all(left.x1 <= right.x0 for left, right in zip(labels, labels[1:]))  # side by side, none overlapping
