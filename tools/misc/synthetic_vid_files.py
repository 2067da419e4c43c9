"""The files of a synthetic data set in the ILSVRC2015 layout, and its digest.

:class:`Writer` writes images (JPEG), their annotation XML (as the real
ILSVRC files: tab-indented, VID objects with trackid / occluded /
generated) and list files under one root. :func:`file_digests` and the
manifest functions say whether two data sets are the same, byte for byte.
"""
import hashlib
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Tuple

import cv2
import numpy as np

MANIFEST_COMMENT = '#'


def video_name(split: str, index: int) -> str:
    """List/json name of a video, e.g. ``val/ILSVRC2015_val_00000003``."""
    if split == 'train':
        return (f'train/ILSVRC2015_VID_train_0000/'
                f'ILSVRC2015_train_{index:08d}')
    return f'val/ILSVRC2015_val_{index:08d}'


def det_name(index: int) -> str:
    return f'train/ILSVRC2014_train_0000/ILSVRC2014_train_{index:08d}'


def annotation_xml(folder: str, filename: str, width: int, height: int,
                   objects: list, wnids: Dict[str, str], video: bool) -> str:
    """An ILSVRC annotation file as text (tab-indented, like the real one).

    Args:
        objects: ``FrameObject``s (``trackid``, ``box``, ``occluded``,
            ``name``); ``wnids`` maps each ``name`` to its WordNet id.
    """
    lines = ['<annotation>', f'\t<folder>{folder}</folder>',
             f'\t<filename>{filename}</filename>',
             '\t<source>', f'\t\t<database>ILSVRC_{2015 if video else 2014}'
             '</database>', '\t</source>',
             '\t<size>', f'\t\t<width>{width}</width>',
             f'\t\t<height>{height}</height>', '\t</size>']
    for obj in objects:
        x1, y1, x2, y2 = obj.box
        lines.append('\t<object>')
        if video:
            lines.append(f'\t\t<trackid>{obj.trackid}</trackid>')
        lines += [f'\t\t<name>{wnids[obj.name]}</name>', '\t\t<bndbox>',
                  f'\t\t\t<xmax>{x2}</xmax>', f'\t\t\t<xmin>{x1}</xmin>',
                  f'\t\t\t<ymax>{y2}</ymax>', f'\t\t\t<ymin>{y1}</ymin>',
                  '\t\t</bndbox>']
        if video:
            lines += [f'\t\t<occluded>{int(obj.occluded)}</occluded>',
                      '\t\t<generated>0</generated>']
        lines.append('\t</object>')
    lines.append('</annotation>')
    return '\n'.join(lines) + '\n'


class Writer:
    """Writes images, annotations and lists under one root; keeps stats.

    Args:
        wnids: class name -> WordNet id, for the annotations.
    """

    def __init__(self, root: str, jpeg_quality: int,
                 wnids: Dict[str, str]) -> None:
        self.root = root
        self.jpeg_quality = jpeg_quality
        self.wnids = wnids
        self.stats: Counter = Counter()

    def _write(self, rel: str, data: bytes) -> None:
        path = osp.join(self.root, rel)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)

    def image(self, kind: str, name: str, img: np.ndarray, objects,
              video: bool) -> None:
        """Write ``Data/<kind>/<name>.JPEG`` (H, W, 3) BGR and its XML."""
        ok, buf = cv2.imencode(
            '.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise RuntimeError(f'JPEG encoding failed for {name}')
        self._write(f'Data/{kind}/{name}.JPEG', buf.tobytes())
        folder, filename = name.split('/', 1)[1].rsplit('/', 1)
        xml = annotation_xml(folder, filename, img.shape[1], img.shape[0],
                             objects, self.wnids, video)
        self._write(f'Annotations/{kind}/{name}.xml', xml.encode())

    def text(self, rel: str, lines: List[str]) -> None:
        self._write(rel, ''.join(line + '\n' for line in lines).encode())


def file_digests(root: str) -> Dict[str, str]:
    """sha256 (hex) of every file under ``root``, by '/'-separated path
    relative to it, in sorted order."""
    digests = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                rel = osp.relpath(path, root).replace(os.sep, '/')
                digests[rel] = hashlib.sha256(f.read()).hexdigest()
    return dict(sorted(digests.items()))


def manifest_lines(digests: Dict[str, str]) -> List[str]:
    """``sha256sum``-style lines ``HEX  PATH``."""
    return [f'{digest}  {rel}' for rel, digest in digests.items()]


def dataset_digest(digests: Dict[str, str]) -> str:
    """One sha256 (hex) of a whole data set: of its manifest lines."""
    text = ''.join(line + '\n' for line in manifest_lines(digests))
    return hashlib.sha256(text.encode()).hexdigest()


def write_manifest(path: str, digests: Dict[str, str],
                   header: List[str]) -> None:
    """``header`` lines as comments, then one ``HEX  PATH`` line per file."""
    lines = [f'{MANIFEST_COMMENT} {line}' for line in header]
    with open(path, 'w') as f:
        f.write(''.join(line + '\n'
                        for line in lines + manifest_lines(digests)))


def read_manifest(path: str) -> Tuple[List[str], Dict[str, str]]:
    """The header lines (without ``#``) and the digests of a manifest."""
    header, digests = [], {}
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith(MANIFEST_COMMENT):
                header.append(line[len(MANIFEST_COMMENT):].strip())
            elif line.strip():
                digest, rel = line.split('  ', 1)
                digests[rel] = digest
    return header, digests
