"""A checkpoint written before the level modules (GEOs named pixel_aggregator.geo and
roi_head.bbox_head.aggregators.i) loads strictly into today's MAMBA, with a one-line note."""
import torch
from mmengine.runner import load_checkpoint

from mamba_vod.models.detectors import legacy_names
from mamba_vod.models.detectors.legacy_names import rename_legacy_keys

from .test_mamba_pinned import PINNED, build_pinned_model


def test_rename_maps_old_prefixes_under_any_module_prefix():
    state = {'module.pixel_aggregator.geo.query_proj.weight': 1, 'module.backbone.conv1.weight': 3,
             'module.roi_head.bbox_head.aggregators.1.key_proj.bias': 2, 'other.pixel_aggregator.geo.x': 4}
    rename_legacy_keys(state, 'module.')
    assert state == {'module.pixel_level.geo.query_proj.weight': 1, 'module.instance_level.geos.1.key_proj.bias': 2,
                     'module.backbone.conv1.weight': 3, 'other.pixel_aggregator.geo.x': 4}


def test_a_checkpoint_of_the_code_before_the_change_loads_strictly(tmp_path, monkeypatch):
    """``data/mamba_pinned.pt`` was saved by the code before the level modules."""
    old = torch.load(PINNED, weights_only=True)['state_dict']
    assert any(key.startswith('pixel_aggregator.geo.') for key in old)
    assert any(key.startswith('roi_head.bbox_head.aggregators.') for key in old)
    checkpoint = tmp_path / 'old.pth'
    torch.save(dict(state_dict=old, meta=dict()), checkpoint)
    model = build_pinned_model()
    notes = []
    monkeypatch.setattr(legacy_names, 'print_log', lambda message, **kwargs: notes.append(message))
    load_checkpoint(model, str(checkpoint), strict=True)
    assert len(notes) == 1 and 'renamed 18 parameters' in notes[0]
    assert torch.equal(model.instance_level.geos[1].key_proj.weight,
                       old['roi_head.bbox_head.aggregators.1.key_proj.weight'])
    assert torch.equal(model.pixel_level.geo.group_conv.bias, old['pixel_aggregator.geo.group_conv.bias'])
