"""mamba_vod.utils.atomic_output: outputs appear whole or not at all, alone or together."""
import os

import pytest

from mamba_vod.utils import AtomicOutput, atomic_open, atomic_write, check_output_path, commit_together
from mamba_vod.utils import atomic_output as atomic_output_module


def test_a_file_appears_only_when_the_block_ends_and_an_error_leaves_nothing(tmp_path):
    path = tmp_path / 'sub' / 'out.json'
    with atomic_open(str(path), 'w') as file:
        file.write('{"a": 1}')
        assert not path.exists()
        assert [name for name in os.listdir(path.parent) if name.endswith('.partial.json')]
    assert path.read_text() == '{"a": 1}'
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(str(path), 'w') as file:
            file.write('half')
            raise KeyboardInterrupt
    assert path.read_text() == '{"a": 1}' and os.listdir(path.parent) == ['out.json']
    atomic_write(str(path), lambda binary: binary.write(b'bytes'))
    assert path.read_bytes() == b'bytes'
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_open(str(path), 'a'):
            pass


def test_a_folder_output_replaces_the_old_folder_whole(tmp_path):
    out = tmp_path / 'dataset'
    out.mkdir()
    (out / 'old.txt').write_text('old')
    with AtomicOutput(str(out), directory=True) as output:
        (tmp_path / os.path.basename(output.temp_path) / 'new.txt').write_text('new')
        assert (out / 'old.txt').exists()
    assert os.listdir(out) == ['new.txt'] and sorted(os.listdir(tmp_path)) == ['dataset']
    with pytest.raises(RuntimeError):
        with AtomicOutput(str(out), directory=True):
            raise RuntimeError('generation failed')
    assert os.listdir(out) == ['new.txt'] and sorted(os.listdir(tmp_path)) == ['dataset']


def test_a_missing_folder_is_an_error_unless_created(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist; create it first'):
        AtomicOutput(str(tmp_path / 'no' / 'out.mp4'))
    output = AtomicOutput(str(tmp_path / 'no' / 'out.mp4'), make_dirs=True)
    assert output.temp_path.endswith('.mp4') and os.path.dirname(output.temp_path) == str(tmp_path / 'no')
    output.discard()
    assert os.listdir(tmp_path / 'no') == []


def _outputs(tmp_path, names):
    outputs = []
    for name in names:
        output = AtomicOutput(str(tmp_path / name))
        with open(output.temp_path, 'w') as file:
            file.write(f'new {name}')
        outputs.append(output)
    return outputs


def test_outputs_committed_together_appear_together(tmp_path):
    (tmp_path / 'b.json').write_text('old b')
    commit_together(_outputs(tmp_path, ['a.json', 'b.json', 'c.json']))
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'b.json', 'c.json']
    assert (tmp_path / 'b.json').read_text() == 'new b.json'


def test_a_rename_that_fails_part_way_rolls_back_the_others_and_restores_what_they_replaced(tmp_path, monkeypatch):
    (tmp_path / 'a.json').write_text('old a')
    (tmp_path / 'c.json').write_text('old c')
    outputs = _outputs(tmp_path, ['a.json', 'b.json', 'c.json'])
    real_replace, renames = os.replace, []

    def replace(source, target):
        if os.path.basename(str(target)) == 'c.json' and '.partial' in str(source):
            raise OSError('disk full')
        renames.append(target)
        real_replace(source, target)

    monkeypatch.setattr(atomic_output_module.os, 'replace', replace)
    with pytest.raises(OSError, match='disk full'):
        commit_together(outputs)
    assert len(renames) >= 2  # a and b were renamed, then rolled back
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'c.json']
    assert (tmp_path / 'a.json').read_text() == 'old a' and (tmp_path / 'c.json').read_text() == 'old c'


def test_an_output_that_cannot_be_written_is_named_before_any_work(tmp_path):
    (tmp_path / 'file').write_text('')
    check_output_path(str(tmp_path / 'new' / 'deeper' / 'out.npz'))  # folders that writers create
    with pytest.raises(NotADirectoryError, match="cannot write --out '.*out.npz': '.*file' is a file"):
        check_output_path(str(tmp_path / 'file' / 'out.npz'), '--out')
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_output_path(str(tmp_path))
