"""Checkpoints written before ``InstanceLevel(composition=...)`` load into a paper-composed model
with one warning naming the way back; checkpoints written now, and release-composed models,
load without one."""
import torch
from mmengine.runner.checkpoint import get_state_dict, load_checkpoint, save_checkpoint

from mamba_vod.models.levels import composition_version
from tests.models.detectors.mamba_fixtures import build_tiny_mamba


def _load_notes(model, path, monkeypatch):
    notes = []
    monkeypatch.setattr(composition_version, 'print_log', lambda message, **kwargs: notes.append(message))
    load_checkpoint(model, str(path), strict=True)
    return notes


def test_an_older_checkpoint_warns_once_in_the_paper_composition_only(tmp_path, monkeypatch):
    state = get_state_dict(build_tiny_mamba(instance=dict(composition='paper')))
    assert state._metadata['instance_level']['version'] == composition_version.COMPOSITION_VERSION
    old = tmp_path / 'old.pth'
    state._metadata['instance_level']['version'] = 1  # as every module was before the option
    torch.save(dict(state_dict=state, meta=dict()), old)
    paper = build_tiny_mamba(instance=dict(composition='paper'))
    notes = _load_notes(paper, old, monkeypatch)
    assert len(notes) == 1 and "model.instance_level.composition=release" in notes[0]
    assert torch.equal(paper.instance_level.geos[1].key_proj.weight, state['instance_level.geos.1.key_proj.weight'])
    del state._metadata['instance_level']  # state dicts of the code before the level modules
    torch.save(dict(state_dict=state, meta=dict()), old)
    assert len(_load_notes(build_tiny_mamba(instance=dict(composition='paper')), old, monkeypatch)) == 1
    assert _load_notes(build_tiny_mamba(), old, monkeypatch) == []  # release: computed as before


def test_a_checkpoint_written_now_loads_without_a_warning(tmp_path, monkeypatch):
    path = tmp_path / 'new.pth'
    save_checkpoint(dict(state_dict=get_state_dict(build_tiny_mamba(instance=dict(composition='paper'))),
                         meta=dict()), str(path))
    assert _load_notes(build_tiny_mamba(instance=dict(composition='paper')), path, monkeypatch) == []
    faster_rcnn_like = {k: v for k, v in torch.load(path, weights_only=True)['state_dict'].items()
                        if not k.startswith('instance_level.')}
    model = build_tiny_mamba(instance=dict(composition='paper'))
    notes = []
    monkeypatch.setattr(composition_version, 'print_log', lambda message, **kwargs: notes.append(message))
    model.load_state_dict(faster_rcnn_like, strict=False)  # no instance-level weights: nothing to say
    assert notes == []
