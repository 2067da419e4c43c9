"""Convert mmtracking's ImageNet VID checkpoints (SELSA, Temporal RoI Align, DFF, FGFA) to mamba_vod.

    python tools/model_converters/mmtrack_to_mamba_vod.py IN.pth OUT.pth [--config CONFIG]

mmtracking 0.x and 1.x write the same names (1.x loads the 0.x model-zoo files unchanged):
``detector.`` + mmdet's Faster R-CNN names (``backbone``, ``neck``, ``rpn_head``,
``roi_head.bbox_head.{shared_fcs.i, fc_cls, fc_reg}``), and per method

- SELSA / TRA: ``detector.roi_head.bbox_head.aggregator.i.{fc_embed, ref_fc_embed, ref_fc, fc}``
  -> ``instance_level.geos.i.{query_proj, key_proj, value_proj, output_proj}`` (SELSA-form GEOs);
  TRA also ``detector.roi_head.bbox_roi_extractor.embed_network.conv`` (the same name here);
- DFF / FGFA: ``motion.*`` (FlowNetSimple) and FGFA's ``aggregator.*`` (EmbedAggregator), the
  same names on our detectors.

Without ``--config`` the model is read from the keys (method, and R-50 / R-101 / X-101 from the
backbone) and its ImageNet VID config under configs/ is used. Every key must be known and the
result must have exactly the names and shapes of the config's model, else nothing is written and
the error lists the unknown, missing and mis-shaped keys. The input is read with
``torch.load(weights_only=True)``; user errors end with one line on stderr and exit status 1.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Mapping, Optional

import torch

from mamba_vod.utils.checkpoint_conversion import (ConversionError, convert_checkpoint, converter_arguments,
                                                   detector_key, load_state_dict_file, rename_state_dict,
                                                   run_converter)

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
LAYOUT = "mmtracking's VID"
_DETECTOR = 'detector.'
# parts of the video model outside its detector, named alike here (DFF / FGFA)
_VIDEO_PARTS = re.compile(r'^(motion|aggregator)\.')
_TRA_EXTRACTOR = re.compile(r'^roi_head\.bbox_roi_extractor\.embed_network\.conv\.(weight|bias)$')
#: the config of each method, {backbone} filled from the checkpoint's backbone (r50, r101, x101)
METHOD_CONFIGS = {
    'selsa': 'selsa/selsa_faster-rcnn_{backbone}-dc5_8xb1-7e_imagenetvid.py',
    'troialign': 'temporal_roi_align/selsa-troialign_faster-rcnn_{backbone}-dc5_8xb1-7e_imagenetvid.py',
    'dff': 'dff/dff_faster-rcnn_{backbone}-dc5_8xb1-7e_imagenetvid.py',
    'fgfa': 'fgfa/fgfa_faster-rcnn_{backbone}-dc5_8xb1-7e_imagenetvid.py',
}


def convert_key(key: str) -> Optional[str]:
    """Our name of one mmtracking key, or None if it belongs to no known part."""
    if _VIDEO_PARTS.match(key):
        return key
    if not key.startswith(_DETECTOR):
        return None
    key = key[len(_DETECTOR):]
    return key if _TRA_EXTRACTOR.match(key) else detector_key(key)


def convert_state_dict(state: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Renames every key; raises :class:`ConversionError` listing the keys it does not know."""
    return rename_state_dict(state, convert_key, LAYOUT)


def method_of(keys) -> str:
    """'selsa', 'troialign', 'dff' or 'fgfa', read from mmtracking's key names."""
    keys = list(keys)
    if any(k.startswith('motion.') for k in keys):
        return 'fgfa' if any(k.startswith('aggregator.') for k in keys) else 'dff'
    if any(k.startswith('detector.roi_head.bbox_roi_extractor.embed_network.') for k in keys):
        return 'troialign'
    if any(k.startswith('detector.roi_head.bbox_head.aggregator.') for k in keys):
        return 'selsa'
    raise ConversionError(f'the checkpoint is none of SELSA, Temporal RoI Align, DFF, FGFA (no motion.*, '
                          f'aggregator.* or box-head aggregator keys); its keys begin {sorted(keys)[:5]}')


def backbone_of(state: Mapping[str, torch.Tensor]) -> str:
    """'r50', 'r101' or 'x101' from the backbone's third stage and grouped convolutions."""
    blocks = {int(k.split('.')[3]) for k in state if k.startswith('detector.backbone.layer3.')}
    conv2 = state.get('detector.backbone.layer1.0.conv2.weight')
    if not blocks or conv2 is None:
        raise ConversionError('the checkpoint has no detector.backbone.layer1 / layer3: pass --config')
    grouped = conv2.shape[1] * 4 < conv2.shape[0]  # ResNeXt 64x4d: (256, 4, 3, 3); ResNet: (64, 64, 3, 3)
    depth = {6: 50, 23: 101}.get(max(blocks) + 1)
    if depth is None or (grouped and depth != 101):
        raise ConversionError(f'a backbone of {max(blocks) + 1} blocks in layer3 (grouped: {grouped}) is none of '
                              'R-50, R-101, X-101: pass --config')
    return f"{'x' if grouped else 'r'}{depth}"


def config_of(state: Mapping[str, torch.Tensor]) -> str:
    """The ImageNet VID config under configs/ of the checkpoint's method and backbone."""
    path = osp.join(CONFIGS, METHOD_CONFIGS[method_of(state)].format(backbone=backbone_of(state)))
    if not osp.isfile(path):
        raise ConversionError(f'the checkpoint is for {osp.relpath(path, osp.join(CONFIGS, ".."))}, which does not '
                              'exist: pass --config')
    return path


def convert_file(src: str, dst: str, config: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Converts ``src`` for the model of ``config`` (None: read from the keys, :func:`config_of`)
    and writes ``dst`` atomically; returns the state dict."""
    if config is None:
        config = config_of(load_state_dict_file(src))
    return convert_checkpoint(src, dst, config, convert_key, layout=LAYOUT,
                              converter='tools/model_converters/mmtrack_to_mamba_vod.py')


def parse_args(argv=None):
    return converter_arguments(
        argv, description="Convert mmtracking's SELSA / Temporal RoI Align / DFF / FGFA checkpoints (model zoo, "
        '0.x or 1.x).', src_help="mmtracking's checkpoint (e.g. selsa_faster_rcnn_r50_dc5_1x_imagenetvid_*.pth)",
        config_help="our config of the model (default: read from the checkpoint's keys)")


def main(argv=None) -> None:
    run_converter(parse_args(argv), convert_file)


if __name__ == '__main__':
    main()
