"""constraints/tested.txt, the versions the suite last passed with (written by .ci/run), pins
every dependency the project declares, at versions the project's own requirements admit, so
``pip install -e ".[tests]" -c constraints/tested.txt`` installs a consistent set."""
import importlib.metadata
import os.path as osp
import re

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RECORD = osp.join(ROOT, 'constraints', 'tested.txt')


def pinned_versions() -> dict:
    pins = {}
    with open(RECORD) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            match = re.fullmatch(r'([A-Za-z0-9._-]+)==([^\s;]+)', line)
            assert match, f'{RECORD}:{number}: not a name==version pin: {line!r}'
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def declared_requirements() -> list:
    requirements = [Requirement(text) for text in importlib.metadata.requires('mamba_vod') or []]
    return [req for req in requirements if req.marker is None or req.marker.evaluate({'extra': 'tests'})]


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = pinned_versions()
    requirements = declared_requirements()
    assert {'torch', 'mmdet', 'mmengine', 'pytest'} <= {canonicalize_name(req.name) for req in requirements}
    for req in requirements:
        name = canonicalize_name(req.name)
        assert name in pins, f'{name} is a dependency but not pinned in {RECORD}'
        assert req.specifier.contains(pins[name], prereleases=True), \
            f'{RECORD} pins {name}=={pins[name]}, outside what setup.py asks for ({req.specifier})'


def test_the_record_does_not_pin_the_project_itself_or_the_installers():
    pins = pinned_versions()
    assert not {'mamba-vod', 'pip', 'setuptools', 'wheel'} & set(pins)
