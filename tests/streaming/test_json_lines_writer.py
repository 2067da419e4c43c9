import json
import os

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mamba_vod.streaming import JsonLinesWriter, detections_record


def _result():
    sample = DetDataSample()
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[1.0, 2.0, 30.5, 40.25], [5.0, 5.0, 9.0, 9.0]]),
        scores=torch.tensor([0.9, 0.1]), labels=torch.tensor([2, 0]))
    return sample


def test_record_keeps_detections_above_the_threshold():
    record = detections_record(4, _result(), ('a', 'b', 'c'), score_thr=0.5)
    assert record == dict(frame=4, boxes=[[1.0, 2.0, 30.5, 40.25]], scores=[0.9], labels=[2], classes=['c'])


def test_lines_appear_atomically_on_close(tmp_path):
    path = str(tmp_path / 'dets.jsonl')
    with JsonLinesWriter(path) as writer:
        for index in range(3):
            writer.write(detections_record(index, _result(), ('a', 'b', 'c'), score_thr=0.0))
        assert not os.path.exists(path)
    with open(path) as file:
        lines = [json.loads(line) for line in file]
    assert [line['frame'] for line in lines] == [0, 1, 2] and lines[0]['labels'] == [2, 0]
    assert os.listdir(tmp_path) == ['dets.jsonl']
