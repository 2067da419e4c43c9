"""mamba_vod.engine.config_code: a stage's code is what its config builds and runs, and what that
imports, not the whole package; so a new detector file or an edited video writer leaves finished
trainings reusable, and an edit to a module a config uses does not."""
import os.path as osp

from mamba_vod.engine import config_code_digest, load_config, script_code_digest
from mamba_vod.engine import stage_fingerprint
from mamba_vod.engine.config_code import (PACKAGE_DIR, config_code_files, module_closure, script_code_files,
                                          type_modules)

ROOT = osp.dirname(PACKAGE_DIR)
BASELINE = osp.join(ROOT, 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py')
MAMBA = osp.join(ROOT, 'configs/synthetic/mamba_r18-dc5_synthetic.py')


def package_files(paths):
    return {osp.relpath(path, PACKAGE_DIR) for path in paths}


def test_a_config_needs_its_types_the_runner_and_what_they_import():
    files = package_files(config_code_files(load_config(MAMBA)))
    assert {'models/detectors/mamba.py', 'models/layers/geo.py', 'models/memory/memory_bank.py',
            'models/roi_heads/instance_aggregation_bbox_head.py', 'datasets/imagenet_vid_dataset.py',
            'evaluation/metrics/vid_metric.py'} <= files  # named by the config
    assert {'ops/geo_attention.py', 'models/levels/instance_level.py', 'models/detectors/legacy_names.py',
            'engine/run_config.py', 'compat/mmcv_ext.py', 'registry.py', '__init__.py'} <= files  # imported
    assert not {osp.relpath(path, PACKAGE_DIR) for path in [
        osp.join(PACKAGE_DIR, 'streaming', 'video_file_writer.py'), osp.join(PACKAGE_DIR, 'apis', 'init_detector.py'),
        osp.join(PACKAGE_DIR, 'datasets', 'converters', 'cvat_video.py')]} & files  # nothing it does not run


def test_the_single_frame_baseline_does_not_depend_on_mambas_modules():
    cfg = load_config(BASELINE)
    assert 'mamba_vod.models.detectors.mamba' not in type_modules(cfg)
    files = package_files(config_code_files(cfg))
    assert 'evaluation/metrics/vid_metric.py' in files
    assert not any(name.startswith(('models/', 'ops/')) for name in files)


def test_a_package_init_pulls_in_only_the_module_a_name_comes_from():
    closure = module_closure(['mamba_vod.models.levels.instance_level'])
    assert 'mamba_vod.models.layers.geo' in closure or 'mamba_vod.models.memory.memory_bank' in closure
    assert 'mamba_vod.models.levels.pixel_level' not in closure  # a sibling the module does not import
    assert 'mamba_vod' not in closure or 'mamba_vod.streaming.frame_source' not in closure


def test_a_script_is_hashed_with_the_package_code_it_imports():
    files = script_code_files(osp.join(ROOT, 'demo', 'video_demo.py'))
    assert files[0].endswith('video_demo.py')
    assert {'streaming/detection_drawer.py', 'apis/streaming_detector.py'} <= package_files(files[1:])
    assert len(script_code_digest(osp.join(ROOT, 'demo', 'video_demo.py'))) == 64


def test_editing_an_unused_module_keeps_the_digest_and_a_used_one_changes_it(tmp_path, monkeypatch):
    cfg = load_config(BASELINE)
    digest = config_code_digest(cfg)
    used = [path for path in config_code_files(cfg) if path.endswith('vid_matching.py')]
    assert used
    seen = []
    real = stage_fingerprint.source_digest
    monkeypatch.setattr(stage_fingerprint, 'source_digest', lambda *paths: seen.append(paths) or real(*paths))
    assert config_code_digest(cfg) == digest and used[0] in seen[-1]
    edited = tmp_path / 'vid_matching.py'
    edited.write_text(open(used[0]).read() + '\nEDITED = 1\n')
    swapped = [str(edited) if path == used[0] else path for path in seen[-1]]
    assert real(*swapped) != digest
