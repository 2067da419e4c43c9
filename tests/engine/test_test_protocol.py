"""mamba_vod.engine.test_protocol: `--protocol` sets the one key the data side reads
(``test_dataloader.dataset.test_protocol``), and the test data then comes in the protocol's
order, frame 0 with the protocol's references."""
import glob

import pytest
import torch
from mmengine.config import Config

from mamba_vod.engine import apply_test_protocol, run_config
from mamba_vod.engine.test_protocol import accepted_protocols
from mamba_vod.registry import DATA_SAMPLERS, DATASETS
from tests.configs.test_baseline_configs import point_at
from tests.datasets.tiny_vid import write_vid

SYNTHETIC_MAMBA = 'configs/synthetic/mamba_r18-dc5_synthetic.py'
MAMBA_CONFIGS = sorted(glob.glob('configs/mamba/*.py') + glob.glob('configs/synthetic/mamba*.py'))


@pytest.mark.parametrize('path', MAMBA_CONFIGS)
def test_each_protocol_is_one_key_of_the_test_dataset(path):
    cfg = Config.fromfile(path)
    before = cfg.to_dict()
    apply_test_protocol(cfg, 'paper')
    assert cfg.test_dataloader.dataset.test_protocol == 'mamba_offline'  # the alias resolved
    apply_test_protocol(cfg, 'online')
    after = cfg.to_dict()
    after['test_dataloader']['dataset'].pop('test_protocol')
    before['test_dataloader']['dataset'].pop('test_protocol', None)
    assert after == before  # nothing else changes
    assert 'test_mode' not in cfg.model and 'paper_test_ref_img_sampler' not in cfg


def _frames_in_test_order(cfg, tmp_path):
    """(video_id, frame_id, number of frames of the sample) of every test sample, in the sampler's order."""
    point_at([cfg.test_dataloader.dataset], tmp_path, write_vid(tmp_path, [20, 3]))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(cfg.test_dataloader.sampler, default_args=dict(dataset=dataset))
    samples = [dataset[index] for index in sampler]
    return [(s['data_samples'].metainfo['video_id'], s['data_samples'].metainfo['frame_id'], len(s['inputs']))
            for s in samples]


def test_paper_protocol_gives_frame_0_fourteen_references_then_the_rest_shuffled(tmp_path):
    online = _frames_in_test_order(apply_test_protocol(Config.fromfile(SYNTHETIC_MAMBA), 'online'), tmp_path)
    assert online == [(1, f, 1) for f in range(20)] + [(2, f, 1) for f in range(3)]
    paper = _frames_in_test_order(apply_test_protocol(Config.fromfile(SYNTHETIC_MAMBA), 'paper'), tmp_path)
    assert paper[0] == (1, 0, 15) and paper[20] == (2, 0, 15)  # the key frame + 14 references
    first_video = [frame for video, frame, count in paper[1:20]]
    assert sorted(first_video) == list(range(1, 20)) and first_video != sorted(first_video)
    assert all(count == 1 for _, _, count in paper[1:20] + paper[21:])


def test_a_single_frame_detector_has_no_protocol():
    cfg = Config.fromfile('configs/synthetic/faster-rcnn_r18-dc5_synthetic.py')
    with pytest.raises(ValueError, match="PackVideoInputs.*'FasterRCNN'.*leave the protocol out"):
        apply_test_protocol(cfg, 'paper')
    with pytest.raises(ValueError, match="unknown test protocol 'offline': one of 'online', 'mamba_offline'"):
        apply_test_protocol(Config.fromfile(SYNTHETIC_MAMBA), 'offline')


def test_a_detector_is_tested_only_with_the_protocols_it_declares():
    cfg = Config.fromfile(SYNTHETIC_MAMBA)
    assert accepted_protocols(cfg) == ('online', 'mamba_offline')
    with pytest.raises(ValueError, match="MAMBA is not tested with protocol 'fgfa_offline': it accepts 'online', "
                                         "'mamba_offline' \\('paper' = 'mamba_offline'\\)"):
        apply_test_protocol(cfg, 'fgfa_offline')


def test_test_config_applies_the_protocol_after_the_options(tmp_path):
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict={}), checkpoint)  # read later, by the test run
    cfg = run_config.test_config(SYNTHETIC_MAMBA, str(checkpoint), work_dir=str(tmp_path), protocol='paper',
                                 cfg_options={'test_dataloader.dataset.test_protocol': 'online',
                                              'test_dataloader.num_workers': 0}, allow_partial=True)
    assert cfg.test_dataloader.dataset.test_protocol == 'mamba_offline' and cfg.test_dataloader.num_workers == 0
    release = 'configs/mamba/mamba-ins_r101-dc5_vfe-release_imagenetvid.py'
    assert run_config.test_config(release, str(checkpoint), allow_partial=True).test_dataloader.dataset.test_protocol \
        == 'paper'
    online = run_config.test_config(SYNTHETIC_MAMBA, str(checkpoint), allow_partial=True)
    assert 'test_protocol' not in online.test_dataloader.dataset
