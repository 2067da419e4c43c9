"""write_together: several files, each from its own writer, appear together or not at all."""
import pytest

from mamba_vod.utils import write_together


def test_the_files_appear_together_or_not_at_all(tmp_path):
    (tmp_path / 'a.json').write_text('old a')

    def failing(f):
        f.write(b'half')
        raise OSError('disk full')

    with pytest.raises(OSError, match='disk full'):
        write_together({str(tmp_path / 'a.json'): lambda f: f.write(b'new a'), str(tmp_path / 'b.json'): failing})
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.json'] and (tmp_path / 'a.json').read_text() == 'old a'
    write_together({str(tmp_path / 'a.json'): lambda f: f.write(b'new a'),
                    str(tmp_path / 'sub' / 'b.json'): lambda f: f.write(b'b')})
    assert (tmp_path / 'a.json').read_text() == 'new a' and (tmp_path / 'sub' / 'b.json').read_text() == 'b'
