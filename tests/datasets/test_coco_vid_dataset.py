"""CocoVIDDataset: the classes of a converted set come from its json, and a config that names
other classes (or the same in another order) is refused before any training."""
import pytest

from mamba_vod.datasets import CocoVIDDataset, CocoVIDFormatError, ImagenetVIDDataset
from tests.datasets.converters import synthetic_export as synth


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """The synthetic CVAT export converted to annotations/vid.json under a data root."""
    root = tmp_path_factory.mktemp('custom')
    synth.write_converted_set(root)
    return root


def _dataset(root, cls=CocoVIDDataset, **kwargs):
    return cls(data_root=str(root), ann_file='annotations/vid.json', data_prefix=dict(img_path=''),
               test_mode=True, pipeline=[], **kwargs)


def test_the_classes_come_from_the_json(converted):
    dataset = _dataset(converted)
    assert dataset.metainfo['classes'] == synth.CLASSES
    assert len(dataset) == sum(n for _, n in synth.VIDEOS)
    labels = [instance['bbox_label'] for i in range(len(dataset)) for instance in dataset[i]['instances']]
    boxes = synth.expected_boxes()
    assert sorted(labels) == sorted(synth.CLASSES.index(box.label) for box in boxes)
    assert dataset[0]['img_path'] == str(converted / 'frames' / 'harbour' / '000000.png')


def test_the_configs_class_list_must_be_the_jsons(converted):
    assert _dataset(converted, metainfo=dict(classes=synth.CLASSES)).metainfo['classes'] == synth.CLASSES
    with pytest.raises(CocoVIDFormatError, match=r"classes \('buoy', 'boat'\) are not the json's categories in id "
                                                 r"order \('boat', 'buoy'\)"):
        _dataset(converted, metainfo=dict(classes=('buoy', 'boat')))


def test_the_imagenet_vid_dataset_labels_by_the_metainfo_classes(converted):
    dataset = _dataset(converted, cls=ImagenetVIDDataset, metainfo=dict(classes=('buoy', 'boat')))
    frame = dataset[2]  # harbour frame 2: the boats and the buoy
    assert sorted(instance['bbox_label'] for instance in frame['instances']) == [0, 1, 1]
