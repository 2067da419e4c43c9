"""tools/analysis/memory_bank_size.py: bank rows and bytes after N frames of MAMBA's writes."""
from mmengine.config import Config

CONFIG = 'configs/mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py'


def test_banks_fill_at_the_write_rate_then_stay_at_capacity(load_tool, tmp_path):
    tool = load_tool('analysis/memory_bank_size.py')
    model = Config.fromfile(CONFIG).model
    figures = tool.main([CONFIG, '--frames', '10', '100', '300', '--detections-per-frame', '2',
                         '--json', str(tmp_path / 'banks.json')])
    per_frame = dict(instance=model.instance_level.proposals_per_frame,
                     pixel=2 * model.test_cfg.pixel.pixels_per_detection)
    capacity = dict(instance=model.instance_level.memory.capacity, pixel=model.pixel_level.memory.capacity)
    channels = dict(instance=model.instance_level.geo.channels, pixel=model.pixel_level.geo.channels)
    # the GEOs whose projections a bank keeps: the paper's one instance memory feeds both FC levels' GEOs
    paper = model.instance_level.get('composition') == 'paper'
    geos = dict(instance=2 if paper else 1, pixel=1)
    for level in ('instance', 'pixel'):
        # allocated to capacity at the first write: rows, their key and value projections (fp32)
        full = capacity[level] * (1 + 2 * geos[level]) * channels[level] * 4 / 2**20
        for frames in (10, 100, 300):
            figure = figures[f'{level}_after_{frames}']
            assert figure['rows'] == min(capacity[level], frames * per_frame[level])
            assert full <= figure['MiB'] <= full * 1.01
    # a stream: one pixel bank and one instance bank (release composition: one per shared FC), flat once written
    stream = [figures[f'stream_after_{frames}']['MiB'] for frames in (10, 100, 300)]
    instance_banks = 1 if paper else 2
    assert stream[0] == stream[2] >= figures['pixel_after_10']['MiB'] + instance_banks * figures['instance_after_10'][
        'MiB'] - 0.2
    assert (tmp_path / 'banks.json').is_file()


def test_whole_frame_pixel_writes_fill_the_pixel_bank_at_pixels_per_frame(load_tool):
    tool = load_tool('analysis/memory_bank_size.py')
    model = Config.fromfile(CONFIG).model
    model.pixel_level.memory_writes = 'frame'
    model.test_cfg.pixel.pixels_per_frame = 40
    figures = tool.bank_sizes(model, [10, 500], detections_per_frame=2)
    assert figures['pixel_after_10']['rows'] == 400
    assert figures['pixel_after_500']['rows'] == model.pixel_level.memory.capacity
