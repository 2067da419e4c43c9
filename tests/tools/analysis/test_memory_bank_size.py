"""tools/analysis/memory_bank_size.py: bank rows and bytes after N frames of MAMBA's writes."""
from mmengine.config import Config

CONFIG = 'configs/mamba/mamba_r50-dc5_8xb1-6e_imagenetvid.py'


def test_banks_fill_at_the_write_rate_then_stay_at_capacity(load_tool, tmp_path):
    tool = load_tool('analysis/memory_bank_size.py')
    model = Config.fromfile(CONFIG).model
    figures = tool.main([CONFIG, '--frames', '10', '100', '2000', '--detections-per-frame', '2',
                         '--json', str(tmp_path / 'banks.json')])
    per_frame = dict(instance=model.instance_level.proposals_per_frame,
                     pixel=2 * model.test_cfg.pixel.pixels_per_detection)
    capacity = dict(instance=model.instance_level.memory.capacity, pixel=model.pixel_level.memory.capacity)
    channels = dict(instance=model.instance_level.geo.channels, pixel=model.pixel_level.geo.channels)
    for level in ('instance', 'pixel'):
        for frames in (10, 100, 2000):
            rows = min(capacity[level], frames * per_frame[level])
            assert figures[f'{level}_after_{frames}'] == dict(rows=rows,
                                                             MiB=round(rows * channels[level] * 4 / 2**20, 1))
    assert (tmp_path / 'banks.json').is_file()


def test_whole_frame_pixel_writes_fill_the_pixel_bank_at_pixels_per_frame(load_tool):
    tool = load_tool('analysis/memory_bank_size.py')
    model = Config.fromfile(CONFIG).model
    model.pixel_level.memory_writes = 'frame'
    model.test_cfg.pixel.pixels_per_frame = 40
    figures = tool.bank_sizes(model, [10, 1000], detections_per_frame=2)
    assert figures['pixel_after_10']['rows'] == 400
    assert figures['pixel_after_1000']['rows'] == model.pixel_level.memory.capacity
