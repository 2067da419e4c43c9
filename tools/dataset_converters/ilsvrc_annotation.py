"""Reading one ILSVRC2015 annotation XML (a VID frame or a DET image).

An annotation holds the image ``size`` and zero or more ``object`` elements
with ``name`` (WordNet id) and ``bndbox`` (xmin, ymin, xmax, ymax in
pixels); VID objects also carry ``trackid``, ``occluded`` and ``generated``.

Bad input either is fixed, when the fix is well defined, and counted in a
:class:`Problems` tally, or stops the conversion with a
:class:`ConversionError` naming the file:

* a box reaching outside the image is clipped to it (counted);
* a missing or unparsable file, a missing or non-integer field, or a box
  with ``xmax <= xmin`` or ``ymax <= ymin`` (after clipping) is an error;
  with ``drop_empty_boxes=True`` such a box is dropped instead and counted.
"""
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional

BOX_FIELDS = ('xmin', 'ymin', 'xmax', 'ymax')
# Problem kinds: the keys of a Problems tally, as printed in the summary.
CLIPPED = 'box clipped to the image'
DROPPED = 'empty box dropped (--drop-empty-boxes)'


class ConversionError(ValueError):
    """Bad input that the converter does not fix; the message names it."""


class Problems:
    """Tally of the problems that were fixed, with a few example files."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: dict = {}

    def add(self, kind: str, where: str) -> None:
        self.counts[kind] += 1
        self.examples.setdefault(kind, where)

    def merge(self, other: 'Problems') -> None:
        for kind, n in other.counts.items():
            self.counts[kind] += n
            self.examples.setdefault(kind, other.examples[kind])

    def lines(self) -> List[str]:
        """One summary line per kind: count, kind and the first file."""
        if not self.counts:
            return ['no problems found']
        return [f'{n} x {kind} (first: {self.examples[kind]})'
                for kind, n in sorted(self.counts.items())]


@dataclass
class AnnotatedObject:
    """One ``object``: box ``[x1, y1, x2, y2]`` in integer pixels."""
    wnid: str
    box: List[int]
    trackid: Optional[str] = None
    occluded: bool = False
    generated: bool = False


@dataclass
class Annotation:
    """One image: its size and its objects (possibly none)."""
    width: int
    height: int
    objects: List[AnnotatedObject] = field(default_factory=list)


def _text(elem: ET.Element, tag: str, path: str, where: str) -> str:
    child = elem.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise ConversionError(
            f'{path}: {where} has no <{tag}>; fix or regenerate this '
            'annotation file')
    return child.text.strip()


def _int(elem: ET.Element, tag: str, path: str, where: str) -> int:
    text = _text(elem, tag, path, where)
    try:
        return int(text)
    except ValueError:
        raise ConversionError(
            f'{path}: {where} <{tag}> is {text!r}, not an integer') from None


def _flag(elem: ET.Element, tag: str, path: str, where: str) -> bool:
    text = _text(elem, tag, path, where)
    if text not in ('0', '1'):
        raise ConversionError(
            f'{path}: {where} <{tag}> is {text!r}, expected 0 or 1')
    return text == '1'


def _read_box(obj: ET.Element, width: int, height: int, path: str,
              where: str, problems: Problems) -> Optional[List[int]]:
    """The clipped box, or ``None`` when it is empty (caller decides)."""
    bndbox = obj.find('bndbox')
    if bndbox is None:
        raise ConversionError(f'{path}: {where} has no <bndbox>')
    x1, y1, x2, y2 = (_int(bndbox, tag, path, f'{where} <bndbox>')
                      for tag in BOX_FIELDS)
    clipped = [min(max(x1, 0), width), min(max(y1, 0), height),
               min(max(x2, 0), width), min(max(y2, 0), height)]
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        return None
    if clipped != [x1, y1, x2, y2]:
        problems.add(CLIPPED, path)
    return clipped


def read_annotation(path: str, *, video: bool, problems: Problems,
                    drop_empty_boxes: bool = False) -> Annotation:
    """Parse the annotation XML at ``path``.

    Args:
        path: the XML file.
        video: if True the objects must have ``trackid``, ``occluded`` and
            ``generated`` (a VID frame); DET objects need only name and box.
        problems: tally that receives the problems fixed here.
        drop_empty_boxes: drop (and count) a box with no area instead of
            stopping with an error.

    Returns:
        The :class:`Annotation`; object names are not checked here.
    """
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise ConversionError(f'{path}: annotation file is missing') from None
    except ET.ParseError as err:
        raise ConversionError(f'{path}: malformed XML ({err})') from None
    size = root.find('size')
    if size is None:
        raise ConversionError(f'{path}: the annotation has no <size>')
    width = _int(size, 'width', path, '<size>')
    height = _int(size, 'height', path, '<size>')
    if width <= 0 or height <= 0:
        raise ConversionError(
            f'{path}: image size {width}x{height} is not positive')
    ann = Annotation(width=width, height=height)
    for index, obj in enumerate(root.findall('object')):
        where = f'object #{index}'
        wnid = _text(obj, 'name', path, where)
        box = _read_box(obj, width, height, path, where, problems)
        if box is None:
            if not drop_empty_boxes:
                raise ConversionError(
                    f'{path}: {where} ({wnid}) has an empty box (xmax <= '
                    'xmin or ymax <= ymin after clipping to the '
                    f'{width}x{height} image); fix the file or rerun with '
                    '--drop-empty-boxes')
            problems.add(DROPPED, path)
            continue
        item = AnnotatedObject(wnid=wnid, box=box)
        if video:
            item.trackid = _text(obj, 'trackid', path, where)
            item.occluded = _flag(obj, 'occluded', path, where)
            item.generated = _flag(obj, 'generated', path, where)
        ann.objects.append(item)
    return ann
