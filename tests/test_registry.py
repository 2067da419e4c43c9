"""The mamba_vod registries reach mmdet's and mmengine's modules from a fresh process."""
import subprocess
import sys

from mamba_vod import registry


def test_every_registry_is_a_child_in_the_mamba_vod_scope():
    registries = [value for value in vars(registry).values() if isinstance(value, type(registry.MODELS))]
    own = [registry.TEST_PROTOCOL_TYPES]  # what mmdet has no registry for: ours alone
    assert len(registries) >= 15
    for child in registries:
        assert child.scope == 'mamba_vod'
        if child not in own:
            assert child.parent is not None and child.parent.scope == 'mmdet', child.name
    assert registry.TEST_PROTOCOL_TYPES.get('OnlineProtocol') is not None


LOOKUPS = [('MODELS', 'FasterRCNN'), ('TRANSFORMS', 'PackDetInputs'), ('DATASETS', 'CocoDataset'),
           ('METRICS', 'CocoMetric'), ('VISBACKENDS', 'LocalVisBackend'), ('PARAM_SCHEDULERS', 'MultiStepLR'),
           ('HOOKS', 'DetVisualizationHook')]


def test_mmdet_modules_are_found_in_a_fresh_process():
    # a fresh interpreter, where nothing of mmdet has been imported by other tests
    code = 'from mamba_vod import registry\n' + '\n'.join(
        f'assert registry.{name}.get({module!r}) is not None, {module!r}' for name, module in LOOKUPS)
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
