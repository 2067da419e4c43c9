"""MultiStreamDetector: one MAMBA (configs/synthetic/mamba_r18-dc5_synthetic.py, random weights
with random GEO outputs, so memory matters) serving streams of different lengths, sizes and
resets; each stream gets what a StreamingDetector fed its frames gets."""
import pytest
import torch

from mamba_vod.apis import MultiStreamDetector, StreamingDetector

# seeded memories, small enough that every bank holds more rows than its key set
OPTIONS = {
    'model.pixel_level.geo.zero_init_output': False, 'model.instance_level.geo.zero_init_output': False,
    'model.pixel_level.seed': 0, 'model.test_cfg.pixel': dict(score_thr=0.0, pixels_per_detection=5),
    'model.pixel_level.memory': dict(type='MemoryBank', capacity=150, key_set_size=60, seed=0),
    'model.instance_level.memory': dict(type='MemoryBank', capacity=80, key_set_size=40, seed=0),
}
RESET = 'reset'


def _scripts(utils):
    """Per stream, what it is fed: frames, and RESET where a new video starts."""
    a = utils.make_frames(6, 96, 128, seed=1)
    b = utils.make_frames(5, 64, 80, seed=2)
    c = utils.make_frames(4, 96, 128, seed=3) + utils.make_frames(2, 72, 96, seed=4)  # size changes
    return {'a': a, 'b': b[:2] + [RESET] + b[2:], 'c': c}


@pytest.fixture(scope='module')
def checkpoint(utils, tmp_path_factory):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='random weights'):
        model = MultiStreamDetector(utils.MAMBA_SYNTHETIC, cfg_options=OPTIONS).model
    with torch.no_grad():  # scores spread out: no near-ties whose order the arithmetic of batching could flip
        model.roi_head.bbox_head.fc_cls.weight.mul_(30)
    path = str(tmp_path_factory.mktemp('multi') / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), path)
    return path


def _alone(utils, checkpoint, script):
    detector = StreamingDetector(utils.MAMBA_SYNTHETIC, checkpoint, cfg_options=OPTIONS)
    results = []
    for item in [RESET] + script:
        if isinstance(item, str):
            detector.reset()
        else:
            results.append(detector.step(item))
    return results


def test_each_stream_gets_what_it_gets_alone(utils, checkpoint):
    scripts = _scripts(utils)
    detector = MultiStreamDetector(utils.MAMBA_SYNTHETIC, checkpoint, cfg_options=OPTIONS, max_batch=2)
    got = {name: [] for name in scripts}
    positions = {name: 0 for name in scripts}
    for step in range(8):  # streams join late and leave early; 'b' skips a step
        frames = {}
        for name, script in scripts.items():
            if (name == 'c' and step == 0) or (name == 'b' and step == 3) or positions[name] >= len(script):
                continue
            item = script[positions[name]]
            positions[name] += 1
            if isinstance(item, str):
                detector.reset(name)
                item = script[positions[name]]
                positions[name] += 1
            frames[name] = item
        if frames:
            for name, result in detector.step(frames).items():
                got[name].append(result)
    for name, script in scripts.items():
        expected = _alone(utils, checkpoint, script)
        assert len(got[name]) == len(expected)
        for index, (ours, theirs) in enumerate(zip(got[name], expected)):
            assert ours.ori_shape == theirs.ori_shape
            utils.assert_same_detections(ours.pred_instances, theirs.pred_instances, f'stream {name} frame {index}')
    memories = {name: stream.memory for name, stream in detector.streams.items()}
    # sampled key sets
    assert len(memories['a']['instance_level'].banks[0]) > 40 and len(memories['a']['pixel_level'].bank) > 60
    assert memories['a']['pixel_level'].bank is not memories['c']['pixel_level'].bank


def test_close_frees_a_stream_and_errors_name_the_stream(utils, checkpoint):
    detector = MultiStreamDetector(utils.MAMBA_SYNTHETIC, checkpoint, cfg_options=OPTIONS)
    frame = utils.make_frames(1, 96, 128)[0]
    detector.step({'door': frame, 'yard': frame})
    assert detector.streams['door'].memory.nbytes > 0
    detector.close('door')
    assert list(detector.streams) == ['yard']
    with pytest.raises(KeyError, match="no open stream 'door'"):
        detector.reset('door')
    with pytest.raises(ValueError, match="frame 1 of stream 'yard' must be an"):
        detector.step({'yard': frame[..., :2]})
    with pytest.raises(ValueError, match='max_batch'):
        MultiStreamDetector(utils.MAMBA_SYNTHETIC, checkpoint, max_batch=0)


@pytest.fixture(scope='module')
def tiny_multi(tiny_config):
    """A tiny random-weight Faster R-CNN serving several streams."""
    with pytest.warns(UserWarning, match='random weights'):
        return MultiStreamDetector(tiny_config)


def test_an_empty_step_is_no_frame_ready_and_changes_nothing(tiny_multi):
    before = (dict(tiny_multi.streams), tiny_multi.frames_total)
    assert tiny_multi.step({}) == {} and tiny_multi.step({}, {}) == {}
    assert (tiny_multi.streams, tiny_multi.frames_total) == before


def test_a_refused_frame_changes_no_state(tiny_multi, utils):
    good = utils.make_frames(1, 64, 80)[0]
    tiny_multi.step({'ok1': good})
    state = (list(tiny_multi.streams), tiny_multi.streams['ok1'].frame_id, tiny_multi.frames_total)
    with pytest.raises(ValueError, match="frame 0 of stream 'g' must be an"):
        tiny_multi.step({'g': good[..., 0]})  # gray
    with pytest.raises(ValueError, match="frame 0 of stream 'bad' must be a numpy array"):
        tiny_multi.step({'ok1': good, 'bad': None, 'ok2': good})
    assert (list(tiny_multi.streams), tiny_multi.streams['ok1'].frame_id, tiny_multi.frames_total) == state
    results = tiny_multi.step({'ok1': good, 'ok2': good})  # the step after goes on where the stream was
    assert results['ok1'].metainfo['frame_id'] == 1 and results['ok2'].metainfo['frame_id'] == 0


def test_a_model_error_part_way_closes_the_streams_the_step_opened(tiny_multi, utils, monkeypatch):
    good = utils.make_frames(1, 64, 80)[0]
    tiny_multi.step({'kept': good})
    state = (list(tiny_multi.streams), tiny_multi.streams['kept'].frame_id, tiny_multi.frames_total)

    def fail(items, stream_ids):
        raise RuntimeError('out of memory')

    monkeypatch.setattr(tiny_multi, '_detect', fail)
    with pytest.raises(RuntimeError, match='out of memory'):
        tiny_multi.step({'kept': good, 'new': good})
    assert (list(tiny_multi.streams), tiny_multi.streams['kept'].frame_id, tiny_multi.frames_total) == state


@pytest.mark.parametrize('max_batch', [1.5, True, 0, '2'])
def test_max_batch_must_be_a_whole_number_of_frames(tiny_config, max_batch):
    with pytest.raises(ValueError, match=f'max_batch must be a whole number of frames >= 1 .*got {max_batch!r}'):
        MultiStreamDetector(tiny_config, max_batch=max_batch)
