"""What a finished stage wrote, so that a re-run can tell whether it is still on disk as made.

A stage's outputs are the files of its folder that match its patterns (every file by default),
less its fingerprint record and the folders of other stages nested in it (each holds its own
record). Their manifest, ``{relative path: [size, mtime_ns]}``, is recorded when the stage
finishes; checking it again costs one ``stat`` per file (no file is read), and a file that was
rewritten, emptied, deleted or added by hand shows up as a changed size or modification time.
"""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

ALL_FILES = ('**',)


def _nested_stage(path: str, folder: str, record_name: str) -> bool:
    """Whether ``path`` lies in a sub-folder of ``folder`` that holds its own stage record."""
    parent = osp.dirname(path)
    while len(parent) > len(folder):
        if osp.isfile(osp.join(parent, record_name)):
            return True
        parent = osp.dirname(parent)
    return False


def output_manifest(folder: str, patterns: Sequence[str], record_name: str) -> Dict[str, List[int]]:
    """``{path relative to folder: [size, mtime_ns]}`` of the files matching ``patterns``
    (``glob`` patterns relative to ``folder``, ``**`` recursive), but ``record_name`` and other
    stages' folders."""
    folder = osp.abspath(folder)
    manifest = {}
    for pattern in patterns:
        for path in glob.glob(osp.join(glob.escape(folder), pattern), recursive=True):
            relative = osp.relpath(path, folder)
            if (relative == record_name or relative in manifest or not osp.isfile(path)
                    or _nested_stage(path, folder, record_name)):
                continue
            stat = os.stat(path)
            manifest[relative] = [stat.st_size, stat.st_mtime_ns]
    return dict(sorted(manifest.items()))


def manifest_change(recorded: Dict[str, list], current: Dict[str, list]) -> Optional[str]:
    """None when the two manifests agree, else the first difference in a few words (a file
    missing, changed or added, and how many files differ)."""
    missing = [path for path in recorded if path not in current]
    changed = [path for path in recorded if path in current and list(recorded[path]) != list(current[path])]
    added = [path for path in current if path not in recorded]
    for paths, what in ((missing, 'is missing'), (changed, 'was changed'), (added, 'was added')):
        if paths:
            count = len(missing) + len(changed) + len(added)
            more = f' (and {count - 1} other file{"s" if count > 2 else ""})' if count > 1 else ''
            return f"its output '{paths[0]}' {what} since it ran{more}"
    return None
