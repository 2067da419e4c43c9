"""Helpers for the streaming tests (tests/apis and tests/demo): synthetic videos, a tiny
Faster R-CNN config, and a bounded local HTTP MJPEG server."""
import http.server
import os
import socketserver
import threading
import time
from typing import List, Sequence

import cv2
import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
VID_CLASSES = ('airplane', 'antelope', 'bear', 'bicycle', 'bird', 'bus', 'car', 'cattle', 'dog', 'domestic_cat',
               'elephant', 'fox', 'giant_panda', 'hamster', 'horse', 'lion', 'lizard', 'monkey', 'motorcycle',
               'rabbit', 'red_panda', 'sheep', 'snake', 'squirrel', 'tiger', 'train', 'turtle', 'watercraft',
               'whale', 'zebra')

# ResNet-18 with 16 base channels and 64-channel heads: the Faster R-CNN R-50-DC5 layout, tiny.
TINY_FASTER_RCNN = f"""
_base_ = ['{REPO}/configs/_base_/models/faster-rcnn_r50-dc5.py', '{REPO}/configs/_base_/default_runtime.py']
model = dict(
    backbone=dict(depth=18, base_channels=16, init_cfg=None),
    neck=dict(in_channels=[128], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=64), bbox_head=dict(in_channels=64, fc_out_channels=128)),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 96), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                                          'video_id', 'frame_id', 'video_length')),
]
test_dataloader = dict(batch_size=1, dataset=dict(type='CocoDataset', pipeline=test_pipeline,
                                                  metainfo=dict(classes={VID_CLASSES!r})))
"""


def write_tiny_config(directory: str) -> str:
    path = os.path.join(directory, 'tiny_faster_rcnn.py')
    with open(path, 'w') as file:
        file.write(TINY_FASTER_RCNN)
    return path


def make_frames(count: int, height: int = 96, width: int = 128, seed: int = 0) -> List[np.ndarray]:
    """Noisy frames with a bright square moving across them, (H, W, 3) uint8 BGR."""
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        frame = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
        x = (index * 7) % max(1, width - 30)
        frame[20:50, x:x + 30] = (40, 200, 230)
        frames.append(frame)
    return frames


def write_video(path: str, frames: Sequence[np.ndarray], fps: float = 10.0) -> str:
    fourcc = 'MJPG' if path.endswith('.avi') else 'mp4v'
    height, width = frames[0].shape[:2] if frames else (96, 128)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), path
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def read_video(path: str) -> List[np.ndarray]:
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def truncated_copy(path: str, out: str, keep: float = 0.6) -> str:
    """``out`` = the first ``keep`` fraction of the bytes of ``path`` (a video cut mid-stream)."""
    with open(path, 'rb') as file:
        data = file.read()
    with open(out, 'wb') as file:
        file.write(data[:int(len(data) * keep)])
    return out


def subprocess_env() -> dict:
    """Environment for demo subprocesses: one torch thread (the tests may share the CPU)."""
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)


class MjpegServer:
    """Serves ``frames`` as multipart/x-mixed-replace JPEG on 127.0.0.1 from a thread.

    Connection i (0-based) gets ``chunks[i]`` frames (continuing where the previous
    connection stopped), then the server closes it: every connection but the last is a
    dropped connection. After the last chunk the listening socket is closed, so
    reconnecting is refused. It stops by itself after ``lifetime_s``.
    """

    def __init__(self, frames: Sequence[np.ndarray], chunks: Sequence[int], *, fps: float = 20.0,
                 lifetime_s: float = 60.0) -> None:
        assert sum(chunks) <= len(frames)
        self.jpegs = [cv2.imencode('.jpg', frame)[1].tobytes() for frame in frames]
        self.chunks = list(chunks)
        self.period = 1.0 / fps
        self.served = 0
        self.connections = 0
        self._done = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.handle(self)

            def log_message(self, *args):
                pass

        self._httpd = socketserver.TCPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self._httpd.server_address[1]}/stream.mjpg'
        self._thread = threading.Thread(target=self._serve, args=(lifetime_s, ), daemon=True)

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        chunk = self.chunks[self.connections]
        self.connections += 1
        request.send_response(200)
        request.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=frame')
        request.end_headers()
        try:
            for _ in range(chunk):
                jpeg = self.jpegs[self.served]
                request.wfile.write(b'--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n'
                                    % len(jpeg) + jpeg + b'\r\n')
                request.wfile.flush()
                self.served += 1
                time.sleep(self.period)
        except OSError:
            pass
        if self.connections == len(self.chunks):
            self._done.set()

    def _serve(self, lifetime_s: float) -> None:
        deadline = time.monotonic() + lifetime_s
        self._httpd.timeout = 0.1
        while not self._done.is_set() and time.monotonic() < deadline:
            self._httpd.handle_request()
        self._httpd.server_close()

    def __enter__(self) -> 'MjpegServer':
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._done.set()
        self._thread.join(5)


def parse_summary(text: str) -> dict:
    """The numbers of a demo's summary line ('frames: 12  mean fps: ...  dropped: 0 ...')."""
    import re
    line = next(line for line in text.splitlines() if line.startswith('frames: '))
    fields = dict(re.findall(r'([a-z_ 0-9]+?): ([0-9.]+)', line.replace('  ', ';')))
    return {name.strip(' ;'): float(value) for name, value in fields.items()}


MAMBA_SYNTHETIC = os.path.join(REPO, 'configs', 'synthetic', 'mamba_r18-dc5_synthetic.py')


def run_tools_test(config: str, checkpoint: str, root: str, ann_file: str, work_dir: str, out: str,
                   options: Sequence[str] = ()) -> None:
    """``tools/test.py`` (its ``main``, in this process) on the COCO-VID data of
    :func:`write_coco_vid` under ``root``, predictions to ``out``; ``options`` are more
    ``--cfg-options`` (``key=value``)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('tools_test', os.path.join(REPO, 'tools', 'test.py'))
    tools_test = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools_test)
    tools_test.main([
        config, checkpoint, '--work-dir', work_dir, '--out', out, '--cfg-options',
        f'test_dataloader.dataset.data_root={root}', 'test_dataloader.dataset.ann_file=annotations/val.json',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        f'test_evaluator.ann_file={ann_file}', 'test_evaluator.frame_subsets=None', *options])


def write_coco_vid(root: str, frames: Sequence[np.ndarray], video: str = 'val/vid_0000') -> str:
    """JPEG frames under ``root/Data/VID/<video>/`` and a COCO-VID json for them (one video, one
    box per frame) at ``root/annotations/val.json``; returns the json path."""
    import json
    os.makedirs(os.path.join(root, 'Data', 'VID', video), exist_ok=True)
    os.makedirs(os.path.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for index, frame in enumerate(frames):
        file_name = f'{video}/{index:06d}.JPEG'
        cv2.imwrite(os.path.join(root, 'Data', 'VID', file_name), frame)
        height, width = frame.shape[:2]
        images.append(dict(file_name=file_name, height=height, width=width, id=index + 1, frame_id=index,
                           video_id=1, is_vid_train_frame=False))
        annotations.append(dict(id=index + 1, video_id=1, image_id=index + 1, category_id=1, instance_id=0,
                                bbox=[10, 10, 30, 30], area=900, iscrowd=False, occluded=False, generated=False))
    coco = dict(categories=[dict(id=i + 1, name=name, encode_name=f'n{i:08d}') for i, name in enumerate(VID_CLASSES)],
                videos=[dict(id=1, name=video, vid_train_frames=[])], images=images, annotations=annotations)
    path = os.path.join(root, 'annotations', 'val.json')
    with open(path, 'w') as file:
        json.dump(coco, file)
    return path


def assert_same_detections(ours, theirs, where: str, box_tol: float = 1e-3, score_tol: float = 1e-5) -> None:
    """Every detection of ``ours`` is one of ``theirs``: the same label, its box within ``box_tol``
    px, its score within ``score_tol``, and the other way round. Order-free: detections whose
    scores differ by less than the arithmetic's noise may come in either order, and at the
    ``max_per_img`` cut either may be kept, so detections that close to the last one are left out."""
    cut = min(ours.scores.min(), theirs.scores.min()) + score_tol if len(ours) and len(theirs) else 0
    for a, b in ((ours, theirs), (theirs, ours)):
        for i in torch.nonzero(a.scores > cut)[:, 0].tolist():
            close = ((b.bboxes - a.bboxes[i]).abs().max(dim=1).values <= box_tol) & (b.labels == a.labels[i]) & (
                (b.scores - a.scores[i]).abs() <= score_tol)
            assert close.any(), f'{where}: detection {i} (label {a.labels[i]}, score {a.scores[i]:.6f}) unmatched'
    assert (ours.scores > cut).sum() == (theirs.scores > cut).sum(), where
