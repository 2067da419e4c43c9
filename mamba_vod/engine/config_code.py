"""The files of ``mamba_vod`` that decide what a config builds and runs, for stage fingerprints.

A training or an evaluation depends on the classes its config names (every ``type``: the model
and its parts, datasets, transforms, samplers, metrics, hooks) and on the code that runs any
config (``tools/train.py`` / ``tools/test.py``'s :mod:`.experiment` and what it imports, the
compat layer, the registries), and on what those import in the package, transitively. Not on a
video writer, a converter or a detector the config does not use: editing one of those must not
invalidate finished trainings (:mod:`.stage_fingerprint`).

Imports are read from the sources (their syntax trees), not from what Python has loaded, so a
file counts only when a needed file imports it. ``from pkg import Name`` follows ``pkg/Name.py``
when that is a module, else the submodule that ``pkg/__init__.py`` takes ``Name`` from; so a
package's ``__init__`` pulls in only the modules whose names are used.
"""
import ast
import functools
import inspect
import os.path as osp
from typing import Iterable, Iterator, List, Optional, Set

from mmengine.config import Config

import mamba_vod
from mamba_vod import registry

PACKAGE = 'mamba_vod'
PACKAGE_DIR = osp.dirname(osp.abspath(mamba_vod.__file__))
#: the modules that run every config: the train/test plumbing, the compat layer, the registries
RUNNER_MODULES = ('mamba_vod', 'mamba_vod.engine.experiment', 'mamba_vod.registry')


def module_file(module: str) -> Optional[str]:
    """The source file of ``module`` (dotted, inside the package), or None when there is none."""
    if module != PACKAGE and not module.startswith(PACKAGE + '.'):
        return None
    base = osp.join(PACKAGE_DIR, *module.split('.')[1:])
    for path in (base + '.py', osp.join(base, '__init__.py')):
        if osp.isfile(path):
            return path
    return None


def _is_package(path: str) -> bool:
    return osp.basename(path) == '__init__.py'


def _absolute(module: str, node: ast.ImportFrom, path: str) -> str:
    """The dotted name an ``ImportFrom`` in ``module`` (whose file is ``path``) imports from."""
    if not node.level:
        return node.module or ''
    parts = module.split('.')
    base = parts if _is_package(path) else parts[:-1]
    base = base[:len(base) - node.level + 1]
    return '.'.join(base + ([node.module] if node.module else []))


@functools.lru_cache(maxsize=None)
def _imports(module: str, path: Optional[str] = None) -> tuple:
    """``(from_module, name)`` pairs of every import in ``module`` (name None for ``import x``),
    read from ``path`` (default: the module's file; a script is its own module ``'__main__'``)."""
    path = path or module_file(module)
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    pairs = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            pairs += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node, path)
            pairs += [(source, alias.name) for alias in node.names]
    return tuple(pairs)


def _resolve(source: str, name: Optional[str]) -> List[str]:
    """The package modules an import of ``name`` from ``source`` needs."""
    if module_file(source) is None:
        return []
    if name is not None and module_file(f'{source}.{name}') is not None:
        return [f'{source}.{name}']  # a submodule
    if name is None or not _is_package(module_file(source)):
        return [source]
    # a name a package's __init__ takes from one of its modules: that module only
    origins = [_resolve(origin, name) for origin, imported in _imports(source) if imported == name]
    return [module for found in origins for module in found] or [source]


def module_closure(modules: Iterable[str]) -> Set[str]:
    """``modules`` and every package module they import, transitively."""
    seen, todo = set(), [module for module in modules if module_file(module)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        if module == PACKAGE:  # the package's __init__ prepares compat: follow only that
            todo += [m for source, name in _imports(module) if source.endswith('.compat')
                     for m in _resolve(source, name)]
            continue
        todo += [found for source, name in _imports(module) for found in _resolve(source, name)]
    return seen


def config_types(cfg: Config) -> Iterator[object]:
    """Every ``type`` value in ``cfg`` (strings and classes), depth first."""
    def walk(value):
        if isinstance(value, dict):
            if 'type' in value:
                yield value['type']
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from walk(item)
    yield from walk(cfg.to_dict())


def _registered(name: str) -> Optional[object]:
    """What ``name`` stands for in any registry of the ``mamba_vod`` scope (None: not found)."""
    for candidate in vars(registry).values():
        if hasattr(candidate, 'get') and type(candidate).__name__ == 'Registry':
            try:
                found = candidate.get(name)
            except (KeyError, ImportError):
                found = None
            if found is not None:
                return found
    return None


def type_modules(cfg: Config) -> Set[str]:
    """The package modules that define the types ``cfg`` names (types of other packages, such
    as mmdet's, are left out: their versions are part of a stage's environment)."""
    modules = set()
    for kind in config_types(cfg):
        found = _registered(kind) if isinstance(kind, str) else kind
        module = getattr(inspect.getmodule(found), '__name__', '') if found is not None else ''
        if module == PACKAGE or module.startswith(PACKAGE + '.'):
            modules.add(module)
    return modules


def config_code_files(cfg: Config) -> List[str]:
    """The package files that decide what ``cfg`` builds and runs (see the module docstring), sorted."""
    modules = module_closure(set(RUNNER_MODULES) | type_modules(cfg))
    return sorted(module_file(module) for module in modules)


def script_code_files(script: str) -> List[str]:
    """``script`` (a tool or demo outside the package) and the package files it imports,
    transitively, sorted after it."""
    imported = [found for source, name in _imports('__main__', osp.abspath(script)) for found in _resolve(source, name)]
    return [script] + sorted(module_file(module) for module in module_closure(imported))
