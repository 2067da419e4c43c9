"""Video detection data from any COCO-VID json, with the classes the json declares.

For data sets of one's own, e.g. the json files of ``tools/dataset_converters/to_coco_vid.py``:
everything :class:`ImagenetVIDDataset` does (training key frames with reference frames, test
protocols), with labels 0..C-1 standing for the json's ``categories`` in id order (the order the
VID metric scores them in).
"""
from mamba_vod.registry import DATASETS
from .coco_vid_annotations import CocoVIDAnnotations, CocoVIDFormatError
from .imagenet_vid_dataset import ImagenetVIDDataset


@DATASETS.register_module()
class CocoVIDDataset(ImagenetVIDDataset):
    """:class:`ImagenetVIDDataset` whose classes come from the json.

    Without ``metainfo`` the classes are the json's category names in id order. A config that
    names them (``metainfo=dict(classes=classes)``, as ``configs/custom`` do, to set the model's
    ``num_classes`` from the same list) must name exactly those, in that order: anything else
    would train or score labels against the wrong names, and is refused with a
    :class:`CocoVIDFormatError` naming the json and both lists.
    """

    METAINFO = dict(classes=None)

    def _classes(self, coco: CocoVIDAnnotations) -> tuple:
        from_json = tuple(name for _, name in sorted(coco.categories.items()))
        given = self._metainfo.get('classes')
        if given is None:
            self._metainfo['classes'] = from_json
            return from_json
        if tuple(given) != from_json:
            raise CocoVIDFormatError(
                f'{self.ann_file}: the config\'s classes {tuple(given)} are not the json\'s categories in id order '
                f'{from_json}; set classes = {from_json!r} in the config (the converter prints this line)')
        return from_json
