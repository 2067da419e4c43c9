"""Where a checkpoint can come from, each source ending in the one safe load.

mmengine's ``CheckpointLoader`` picks a loader by the prefix of the name: local paths,
``http(s)://``, ``torchvision://`` / ``modelzoo://``, ``open-mmlab://`` / ``openmmlab://``,
``mmcls://``, ``pavi://``, ``s3://`` / ``petrel://``. Its own loaders end in a bare
``torch.load`` or in ``torch.hub.load_state_dict_from_url`` (``weights_only=False``), so a
checkpoint served from a URL could run code. :func:`install_safe_checkpoint_sources` replaces
every one of them (mmengine binds its download function at import, so patching ``torch.hub``
would not be enough) with a loader here that fetches the bytes and then calls
:func:`~.checkpoint.safe_load`.

URLs (and the URIs that name one, e.g. ``torchvision://resnet101`` through mmengine's tables)
are downloaded once into torch hub's cache, ``$TORCH_HOME/hub/checkpoints/<file name>``
(``~/.cache/torch/hub/checkpoints`` by default), the file torch and mmengine use too; a file
already there is used without a download. When a download fails (no network), the error names
the URL and the cache file that would serve instead.
"""
import difflib
import logging
import os
import os.path as osp
from tempfile import TemporaryDirectory
from urllib.parse import urlparse

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint

from .checkpoint import CheckpointError, load_checkpoint_bytes, load_checkpoint_file

# The prefixes mmengine 0.10's CheckpointLoader registers (regular expressions, matched at the start).
TORCHVISION_PREFIXES = ('torchvision://', 'modelzoo://')
OPENMMLAB_PREFIXES = ('open-mmlab://', 'openmmlab://')
URL_PREFIXES = ('http://', 'https://')
PETREL_PREFIXES = (r'(\S+\:)?s3://', r'(\S+\:)?petrel://')


class CheckpointDownloadError(CheckpointError):
    """A checkpoint URL could not be downloaded; the message names the URL and the cache file."""


def hub_cache_path(url: str) -> str:
    """The file torch hub caches ``url`` as: ``<torch.hub.get_dir()>/checkpoints/<file name>``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


def _download(url: str, cached: str, name: str) -> None:
    """Downloads ``url`` to ``cached`` (torch writes a temporary file, then renames it)."""
    os.makedirs(osp.dirname(cached), exist_ok=True)
    print_log(f"downloading {name} from {url} to '{cached}'", logger='current')
    try:
        torch.hub.download_url_to_file(url, cached, progress=os.isatty(2))
    except (OSError, ValueError, RuntimeError) as error:
        reason = str(getattr(error, 'reason', '') or error).strip() or type(error).__name__
        raise CheckpointDownloadError(
            f"could not download {name} from {url} ({reason}); if this machine has no network access, "
            f"download that file elsewhere and put it at '{cached}' (the torch hub cache; TORCH_HOME moves "
            'it), or give the path of a local copy instead') from None


def cached_download(url: str, name: str = '') -> str:
    """The local file of ``url`` in the torch hub cache, downloaded first when absent.

    In a distributed run rank 0 downloads while the others wait, so the file is fetched once.

    Raises:
        CheckpointDownloadError: the download failed (the message says where to put the file).
    """
    name = name or url
    cached = hub_cache_path(url)
    rank, world_size = get_dist_info()
    distributed = world_size > 1 and torch_dist.is_available() and torch_dist.is_initialized()
    failure = None
    if not osp.isfile(cached) and rank == 0:
        try:
            _download(url, cached, name)
        except CheckpointDownloadError as error:
            failure = error
    if distributed:
        torch_dist.barrier()  # the other ranks wait for rank 0's download, failed or not
    if failure is not None:
        raise failure
    if not osp.isfile(cached):
        raise CheckpointDownloadError(f"rank 0 could not download {name} from {url}; put the file at '{cached}'")
    return cached


def load_from_local(filename: str, map_location=None):
    """A local file (mmengine logs the loader's name after ``load_from_``)."""
    return load_checkpoint_file(filename, map_location)


def load_from_url(url: str, map_location=None, name: str = ''):
    """An ``http(s)://`` checkpoint, through the torch hub cache and the safe load."""
    cached = cached_download(url, name)
    return load_checkpoint_file(cached, map_location)


def _table_url(table: dict, key: str, uri: str, what: str) -> str:
    if key not in table:
        examples = difflib.get_close_matches(key, list(table), n=5, cutoff=0.5) or sorted(table)[:5]
        raise CheckpointError(f"'{uri}' names no {what} known to mmengine's tables; near names: "
                              f"{', '.join(examples)}")
    return table[key]


def _strip_prefix(uri: str, prefixes) -> str:
    return next(uri[len(prefix):] for prefix in prefixes if uri.startswith(prefix))


def load_from_torchvision(uri: str, map_location=None):
    """``torchvision://NAME`` (or the deprecated ``modelzoo://NAME``): torchvision's ImageNet
    weights, e.g. ``torchvision://resnet101``, by mmengine's name table."""
    if uri.startswith('modelzoo://'):
        print_log('the URI scheme "modelzoo://" is deprecated; use "torchvision://"', logger='current',
                  level=logging.WARNING)
    key = _strip_prefix(uri, TORCHVISION_PREFIXES)
    url = _table_url(mmengine_checkpoint.get_torchvision_models(), key, uri, 'torchvision weights')
    return load_from_url(url, map_location, name=uri)


def openmmlab_target(uri: str) -> str:
    """What ``open-mmlab://NAME`` names in mmengine's tables: a URL, or a file path relative to
    mmengine's home folder (deprecated names are followed, with a warning)."""
    key = _strip_prefix(uri, OPENMMLAB_PREFIXES)
    deprecated = mmengine_checkpoint.get_deprecated_model_names()
    if key in deprecated:
        print_log(f'{uri} is deprecated in favour of {deprecated[key]}', logger='current', level=logging.WARNING)
        key = deprecated[key]
    return _table_url(mmengine_checkpoint.get_external_models(), key, uri, 'OpenMMLab weights')


def load_from_openmmlab(uri: str, map_location=None):
    """``open-mmlab://NAME``: a URL (downloaded, cached) or a file under mmengine's home folder."""
    target = openmmlab_target(uri)
    if target.startswith(URL_PREFIXES):
        return load_from_url(target, map_location, name=uri)
    return load_checkpoint_file(osp.join(mmengine_checkpoint._get_mmengine_home(), target), map_location)


def load_from_mmcls(uri: str, map_location=None):
    """``mmcls://NAME``: an MMClassification backbone (its ``backbone.`` keys, prefix removed)."""
    url = _table_url(mmengine_checkpoint.get_mmcls_models(), uri[len('mmcls://'):], uri, 'mmcls weights')
    return mmengine_checkpoint._process_mmcls_checkpoint(load_from_url(url, map_location, name=uri))


def load_from_pavi(uri: str, map_location=None):
    """``pavi://PATH``: a model of the pavi model cloud (needs the ``pavi`` package)."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise CheckpointError(f"'{uri}' needs the pavi package, which is not installed; download the file "
                              'and give its local path') from None
    model = modelcloud.get(uri[len('pavi://'):])
    with TemporaryDirectory() as folder:
        downloaded = osp.join(folder, model.name)
        model.download(downloaded)
        return load_checkpoint_file(downloaded, map_location)


def load_from_petrel(uri: str, map_location=None):
    """``s3://`` / ``petrel://`` (optionally ``NAME:s3://``): object storage through mmengine's
    petrel file backend (needs ``petrel_client``)."""
    backend = get_file_backend(uri, backend_args={'backend': 'petrel'})
    return load_checkpoint_bytes(backend.get(uri), uri, map_location)


SAFE_LOADERS = {
    '': load_from_local,
    **{prefix: load_from_url for prefix in URL_PREFIXES},
    **{prefix: load_from_torchvision for prefix in TORCHVISION_PREFIXES},
    **{prefix: load_from_openmmlab for prefix in OPENMMLAB_PREFIXES},
    'mmcls://': load_from_mmcls,
    'pavi://': load_from_pavi,
    **{prefix: load_from_petrel for prefix in PETREL_PREFIXES},
}


def install_safe_checkpoint_sources() -> None:
    """Routes every prefix of mmengine's ``CheckpointLoader`` to :data:`SAFE_LOADERS`. Idempotent.

    A prefix registered by someone else (another library) that has no safe loader here is
    routed to a loader that refuses it, so no source is left on an unchecked ``torch.load``.
    """
    for prefix, loader in SAFE_LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=prefix, loader=loader, force=True)
    for prefix in list(CheckpointLoader._schemes):
        if prefix not in SAFE_LOADERS:
            CheckpointLoader.register_scheme(prefixes=prefix, loader=_unsupported_source(prefix), force=True)


def _unsupported_source(prefix: str):

    def load_from_unsupported(uri: str, map_location=None):
        raise CheckpointError(f"'{uri}': checkpoints named '{prefix}...' cannot be loaded safely by "
                              'mamba_vod; download the file and give its local path or URL')

    return load_from_unsupported
