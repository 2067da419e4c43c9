"""Convert mega.pytorch's released MEGA and RDN checkpoints (maskrcnn-benchmark names) to mamba_vod.

    python tools/model_converters/mega_to_mamba_vod.py IN.pth OUT.pth \
        [--config configs/mega/mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py]

For RDN: ``--config configs/rdn/rdn_faster-rcnn_r101-c4_4xb1-60k_imagenetvid.py``; for MEGA
R-50: ``--config configs/mega/mega_faster-rcnn_r50-c4_4xb1-120k_imagenetvid.py``.
The input is ``{'model': state_dict, ...}`` (or a bare state dict), keys with or without DDP's
``module.``. Every key is used and the result must match the config's model exactly (names and
shapes), else nothing is written and the error lists what does not fit. How the names map:

    backbone.body.stem.{conv1,bn1}           -> backbone.{conv1,bn1}
    backbone.body.layerN.*                   -> backbone.layerN.*  (caffe style: stride in conv1)
    rpn.head.{conv,cls_logits,bbox_pred}     -> rpn_head.{rpn_conv,rpn_cls,rpn_reg}
    roi_heads.box.feature_extractor.head.layer4.*  -> roi_head.bbox_roi_extractor.res5.layer4.*
    roi_heads.box.feature_extractor.conv     -> roi_head.bbox_roi_extractor.reduce   (R-50)
    ...feature_extractor.{l_fcs,fcs}.i       -> roi_head.bbox_head.shared_fcs.i
    ...feature_extractor.fcs.S (RDN advanced)-> relation_level.advanced_fc
    ...feature_extractor.{l_,}{Wgs,Wqs,Wks,Wvs}.i, l_us.i -> relation_level.local_relations.i.{Wg,Wq,Wk,Wv,u}
    ...feature_extractor.g_{Wqs,Wks,Wvs,us}.j -> relation_level.global_relations.j.{Wq,Wk,Wv,u}
    roi_heads.box.predictor.{cls_score,bbox_pred} -> roi_head.bbox_head.{fc_cls,fc_reg}

Values that change on the way: the classifier's background row moves from first (theirs) to last
(mmdet's); the box regressor's 4 background rows (which mmdet has none of) are dropped, after
checking that it is class-specific (4 * (num_classes + 1) rows, num_classes + 1 the classifier's
rows); ``rpn.anchor_generator.cell_anchors.0`` (a buffer our anchor generator computes) is
checked for shape (A, 4) and dropped; FrozenBatchNorm has no ``num_batches_tracked``, so each BN
gets a 0. What conversion cannot make exact (their anchors, box coder and RoIAlign use the "+1"
pixel convention, their FrozenBatchNorm no eps) is listed in the C4 configs.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch

from mamba_vod.utils.checkpoint_conversion import (ConversionError, convert_checkpoint, converter_arguments,
                                                   rename_state_dict, run_converter)

__all__ = ['ConversionError', 'adapt_state_dict', 'convert_file', 'convert_key', 'convert_state_dict']

DEFAULT_CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'mega',
                          'mega_faster-rcnn_r101-c4_4xb1-120k_imagenetvid.py')
_EXTRACTOR = 'roi_heads.box.feature_extractor.'
_CLASSIFIER = 'roi_heads.box.predictor.cls_score.'
_RELATIONS = {'Wgs': 'Wg', 'Wqs': 'Wq', 'Wks': 'Wk', 'Wvs': 'Wv'}
_RULES = [  # (their pattern, our name template), tried in order on a key without 'module.'
    (r'^backbone\.body\.stem\.(conv1|bn1)\.(.+)$', r'backbone.\1.\2'),
    (r'^backbone\.body\.(layer\d\..+)$', r'backbone.\1'),
    (r'^rpn\.head\.conv\.(.+)$', r'rpn_head.rpn_conv.\1'),
    (r'^rpn\.head\.cls_logits\.(.+)$', r'rpn_head.rpn_cls.\1'),
    (r'^rpn\.head\.bbox_pred\.(.+)$', r'rpn_head.rpn_reg.\1'),
    (r'^roi_heads\.box\.feature_extractor\.head\.(layer4\..+)$', r'roi_head.bbox_roi_extractor.res5.\1'),
    (r'^roi_heads\.box\.feature_extractor\.conv\.(.+)$', r'roi_head.bbox_roi_extractor.reduce.\1'),
    (r'^roi_heads\.box\.feature_extractor\.(?:l_)?fcs\.(\d+)\.(.+)$', r'roi_head.bbox_head.shared_fcs.\1.\2'),
    (r'^roi_heads\.box\.feature_extractor\.advanced_fc\.(.+)$', r'relation_level.advanced_fc.\1'),
    (r'^roi_heads\.box\.predictor\.cls_score\.(.+)$', r'roi_head.bbox_head.fc_cls.\1'),
    (r'^roi_heads\.box\.predictor\.bbox_pred\.(.+)$', r'roi_head.bbox_head.fc_reg.\1'),
]
_RELATION = re.compile(r'^roi_heads\.box\.feature_extractor\.(l_|g_)?(Wgs|Wqs|Wks|Wvs|us)\.(\d+)(?:\.(weight|bias))?$')


def convert_key(key: str) -> Optional[str]:
    """Our name of one released key (``module.`` stripped), or None if it belongs to no known part."""
    key = key[len('module.'):] if key.startswith('module.') else key
    match = _RELATION.match(key)
    if match:
        scope, name, index, param = match.groups()
        where = 'global_relations' if scope == 'g_' else 'local_relations'
        return f'relation_level.{where}.{index}.' + ('u' if name == 'us' else f'{_RELATIONS[name]}.{param}')
    for pattern, template in _RULES:
        if re.match(pattern, key):
            return re.sub(pattern, template, key)
    return None


def adapt_state_dict(state: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]) -> Dict:
    """The released tensors with the values changed as the module docstring says (their names;
    RDN's advanced fc renamed so that :func:`convert_key` finds it)."""
    state = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v) for k, v in state.items())
    adapted = OrderedDict()
    for key, value in state.items():
        if key.startswith('rpn.anchor_generator.cell_anchors.'):
            if value.dim() != 2 or value.shape[1] != 4:
                raise ConversionError(f'{key}: expected anchors (A, 4), got {tuple(value.shape)}')
            continue
        if key in (_CLASSIFIER + 'weight', _CLASSIFIER + 'bias'):
            value = torch.cat([value[1:], value[:1]])  # background first (theirs) -> last (mmdet's)
        elif key.startswith('roi_heads.box.predictor.bbox_pred.'):
            value = _class_regressors(key, value, state)
        key = _advanced_fc_name(key, reference)
        adapted[key] = value
        if key.endswith('.running_var'):
            adapted[key[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(0)
    return adapted


def _class_regressors(key: str, value: torch.Tensor, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The regressor ``value`` (4 * (num_classes + 1) rows, the background's 4 first) without the
    background's rows, after checking it is class-specific with the classifier's num_classes + 1
    rows; else :class:`ConversionError` naming the key and the shapes."""
    classifier = state.get(_CLASSIFIER + 'weight', state.get(_CLASSIFIER + 'bias'))
    if classifier is None:
        raise ConversionError(f'{key}: the regressor is checked against the classifier\'s rows, but the checkpoint '
                              f'has no {_CLASSIFIER}weight or bias')
    rows = classifier.shape[0]  # num_classes + 1, the background included
    if value.dim() < 1 or value.shape[0] != 4 * rows:
        agnostic = ' (a class-agnostic regressor, which mmdet\'s class-specific fc_reg cannot take)' if (
            value.dim() >= 1 and value.shape[0] == 8 and rows != 2) else ''
        raise ConversionError(f'{key}: expected a class-specific regressor of 4 * (num_classes + 1) = {4 * rows} rows '
                              f'({rows} classifier rows, {_CLASSIFIER}*: {tuple(classifier.shape)}), got '
                              f'{tuple(value.shape)}{agnostic}')
    return value[4:]  # the background's 4 regressors: mmdet has none


def _advanced_fc_name(key: str, reference: Mapping[str, torch.Tensor]) -> str:
    """RDN's ``fcs.S`` (S = the box head's FC count) is its advanced stage's fc."""
    match = re.match(r'^roi_heads\.box\.feature_extractor\.fcs\.(\d+)\.(weight|bias)$', key)
    if match and f'roi_head.bbox_head.shared_fcs.{match.group(1)}.weight' not in reference:
        return f'{_EXTRACTOR}advanced_fc.{match.group(2)}'
    return key


def convert_state_dict(state: Mapping[str, torch.Tensor],
                       reference: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Adapts and renames every key; raises :class:`ConversionError` listing unknown keys."""
    return rename_state_dict(adapt_state_dict(state, reference), convert_key, 'mega.pytorch MEGA / RDN')


def convert_file(src: str, dst: str, config: str = DEFAULT_CONFIG) -> 'OrderedDict[str, torch.Tensor]':
    """Converts ``src`` for the model of ``config`` and writes ``dst`` atomically; returns the state dict."""
    return convert_checkpoint(src, dst, config, convert_key, layout='mega.pytorch MEGA / RDN',
                              converter='tools/model_converters/mega_to_mamba_vod.py', adapt=adapt_state_dict)


def parse_args(argv=None):
    return converter_arguments(argv, description="Convert mega.pytorch's released MEGA / RDN checkpoints.",
                               src_help='the released checkpoint (e.g. MEGA_R_101.pth)',
                               config_help='the C4 config it fits (default: %(default)s)',
                               default_config=DEFAULT_CONFIG)


def main(argv=None) -> None:
    run_converter(parse_args(argv), convert_file)


if __name__ == '__main__':
    main()
