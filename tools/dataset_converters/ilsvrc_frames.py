"""Checking that every image a COCO-VID json names exists, before writing it.

A json that names a missing JPEG converts fine and stops training hours
later, at the first batch that holds it. The image files are looked up by
folder (one listing per video or DET synset, not one ``stat`` per frame:
ImageNet VID has over a million frames), with a progress bar; every missing
file is counted and the first ones are named.
"""
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, Iterable, List

from tqdm import tqdm

from ilsvrc_annotation import ConversionError

_NAMED = 5  # missing files named in the error


def _names_in(folder: str) -> set:
    try:
        return set(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return set()


def missing_files(image_dir: str, file_names: Iterable[str],
                  progress: tqdm) -> List[str]:
    """The paths ``image_dir/<file_name>`` that are not there, in order."""
    by_folder: Dict[str, List[str]] = defaultdict(list)
    for name in file_names:
        by_folder[osp.dirname(name)].append(name)
    missing = []
    for folder, names in by_folder.items():
        present = _names_in(osp.join(image_dir, folder))
        missing += [osp.join(image_dir, name) for name in names
                    if osp.basename(name) not in present]
        progress.update(len(names))
    return missing


def check_frames(jsons: Dict[str, dict], image_dirs: Dict[str, str]) -> None:
    """Raises :class:`ConversionError` naming the missing images of ``jsons``.

    Args:
        jsons: output file name -> its COCO dict (``images[*].file_name``).
        image_dirs: output file name -> the folder its file names are
            relative to.
    """
    total = sum(len(data['images']) for data in jsons.values())
    missing = []
    with tqdm(total=total, desc='checking that the frames exist',
              unit='frame') as progress:
        for name, data in jsons.items():
            file_names = (image['file_name'] for image in data['images'])
            missing += missing_files(image_dirs[name], file_names, progress)
    if missing:
        shown = ', '.join(missing[:_NAMED])
        more = ', ...' if len(missing) > _NAMED else ''
        raise ConversionError(
            f'{len(missing)} image file(s) that the annotations name do not '
            f'exist: {shown}{more}. Restore them or fix the data root (a '
            'json naming them would stop training at the first one); '
            '--skip-frame-check writes the json without this check')
