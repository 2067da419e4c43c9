"""tools/analysis/oracle/relation.py: relation keys and queries identified by their frames, for MEGA and RDN."""
import pytest
import torch

from tests.models.detectors.mamba_fixtures import make_clip, make_sample, preprocess
from tests.models.detectors.test_mamba_pinned import one_thread
from tests.tools.analysis.oracle.oracle_fixtures import build_model, oracle

pytestmark = pytest.mark.usefixtures(one_thread.__name__)


def _run_frame(model, frame, seed):
    clip = make_clip(1, 64, 96, seed=seed)
    with torch.no_grad():
        return model.predict(*preprocess(model, [clip], [make_sample(video_id=7, frame_id=frame)]))[0]


def _check_single_frame_boxes(calls, frame_of) -> int:
    """Asserts that each query or key box of ``calls`` found in one frame only has that frame as its identity;
    returns how many such boxes there were."""
    checked = 0
    for query_boxes, key_boxes, query_ids, key_ids in calls:
        for boxes, ids in ((query_boxes, query_ids), (key_boxes, key_ids)):
            for box, identity in zip(boxes.tolist(), ids.tolist()):
                frames = frame_of.get(tuple(box), set())
                if len(frames) == 1:
                    assert identity == next(iter(frames))
                    checked += 1
    return checked


class FrameIds:
    """Ground truth for which every proposal of frame f is object f."""

    def identities(self, frame, boxes):
        return torch.full((len(boxes), ), frame.frame_id, dtype=torch.long, device=boxes.device)


@pytest.mark.parametrize('name', ['mega', 'rdn'])
def test_relation_keys_carry_the_frame_of_the_proposal_they_come_from(name, monkeypatch):
    """Window, distilled, stage-memory rows over 6 distinct frames: each key's (and query's) identity
    is its frame's, checked for every box found in one frame only."""
    model = build_model(name)
    adapter = oracle.RelationOracle(model, FrameIds(), 'same-object')
    frame_of, calls, current = {}, [], [0]
    entries, relate, restrict = model.frame_entries, model.relation_level._relate, oracle.relation.restrict

    def spy_entries(maps, sample, proposals=None):
        made = entries(maps, sample, proposals)
        for _, boxes in made:
            for box in boxes.tolist():
                frame_of.setdefault(tuple(box), set()).add(current[0])
        return made

    def spy_relate(index, query, query_boxes, keys, key_boxes):
        calls.append([query_boxes, key_boxes])
        return relate(index, query, query_boxes, keys, key_boxes)

    def spy_restrict(full, subset, query_ids, key_ids, keys):
        if calls and len(calls[-1]) == 2:
            calls[-1] += [query_ids, key_ids]
        return restrict(full, subset, query_ids, key_ids, keys)

    model.frame_entries, model.relation_level._relate = spy_entries, spy_relate
    monkeypatch.setattr(oracle.relation, 'restrict', spy_restrict)
    for frame in range(6):
        current[0] = frame
        _run_frame(model, frame, seed=20 + frame)
    adapter.remove()
    checked = _check_single_frame_boxes(calls, frame_of)
    assert checked > 1000 and len({i for *_, ids in calls for i in ids.tolist()}) == 6
