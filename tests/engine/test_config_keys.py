"""mamba_vod.engine.config_keys: a misspelt top-level runner key or nested key (model, loops) is
warned about, from a file or from cfg_options; a key a class cannot take, an option of the wrong
type and a syntax error are one-line errors; the helper variables of the repository's configs are
not warned about."""
import glob
import os
import warnings

import pytest

from mamba_vod.engine import ConfigError, load_config

SYNTHETIC_BASELINE = 'configs/synthetic/faster-rcnn_r18-dc5_synthetic.py'


def test_a_misspelt_runner_key_is_warned_about_and_helper_variables_are_not(tmp_path):
    config = tmp_path / 'typo.py'
    config.write_text(f"_base_ = '{os.path.abspath(SYNTHETIC_BASELINE)}'\n"
                      "defualt_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5))\n"
                      "my_pipeline = []\nval_dataloder = None\n")
    with pytest.warns(UserWarning) as caught:
        load_config(str(config))
    messages = [str(warning.message) for warning in caught if 'top-level key' in str(warning.message)]
    assert len(messages) == 2
    assert "'defualt_hooks' is not a key the runner reads" in messages[0] and "'default_hooks'" in messages[0]
    assert "'val_dataloder'" in messages[1] and 'typo.py' in messages[0]


@pytest.mark.parametrize('config', sorted(glob.glob('configs/**/*.py', recursive=True)))
def test_no_config_of_the_repository_looks_misspelt(config):
    with warnings.catch_warnings():
        warnings.filterwarnings('error', message=".*(top-level key|is not a setting|is not an argument)")
        load_config(config)


def _messages(caught) -> list:
    return [str(warning.message) for warning in caught if issubclass(warning.category, UserWarning)]


def test_a_misspelt_key_in_cfg_options_is_warned_about_as_in_a_file():
    with pytest.warns(UserWarning) as caught:
        load_config(SYNTHETIC_BASELINE, {'defualt_hooks.logger.interval': 1})
    assert ("cfg_options: top-level key 'defualt_hooks' is not a key the runner reads, so it is ignored; did you "
            "mean 'default_hooks'?") in _messages(caught)


@pytest.mark.parametrize('options, message', [
    ({'model.test_cfg.rcnn.score_thre': 0.99},
     "cfg_options: 'model.test_cfg.rcnn.score_thre' is not a setting mmdet's heads read, so it is ignored; did you "
     "mean 'score_thr'?"),
    ({'model.train_cfg.rpn_proposal.max_per_im': 10}, "did you mean 'max_per_img'?"),
    ({'model.roi_head.bbox_head.num_clases': 3},
     "cfg_options: 'model.roi_head.bbox_head.num_clases' is not an argument of Shared2FCBBoxHead (which passes "
     "other keys on); did you mean 'num_classes'?"),
])
def test_a_misspelt_nested_key_is_warned_about_with_the_nearest_valid_one(options, message):
    with pytest.warns(UserWarning) as caught:
        load_config(SYNTHETIC_BASELINE, options)
    assert any(text.endswith(message) for text in _messages(caught)), _messages(caught)


def test_a_misspelt_nested_key_in_a_file_is_named_with_the_file(tmp_path):
    config = tmp_path / 'nested.py'
    config.write_text(f"_base_ = '{os.path.abspath(SYNTHETIC_BASELINE)}'\n"
                      "model = dict(test_cfg=dict(rcnn=dict(score_thre=0.9)))\n")
    with pytest.warns(UserWarning) as caught:
        load_config(str(config))
    assert any(text.startswith(f"config '{config}': 'model.test_cfg.rcnn.score_thre'") for text in _messages(caught))


@pytest.mark.parametrize('options, message', [
    ({'train_cfg.max_epoch': 1}, "cfg_options: 'train_cfg.max_epoch' is not an argument of EpochBasedTrainLoop, "
                                 "so building it would fail; did you mean 'max_epochs'?"),
    ({'train_cfg.max_epochs': 'abc'}, "cfg_options 'train_cfg.max_epochs=abc': the config holds a number there "
                                      "(8), not str 'abc'; give a number"),
    ({'optim_wrapper.optimizer.lr': 'fast'}, "cfg_options 'optim_wrapper.optimizer.lr=fast': the config holds a "
                                             'number there'),
    ({'model.backbone.dept': 50}, "cfg_options: 'model.backbone.dept' is not an argument of ResNet"),
])
def test_a_key_a_class_cannot_take_or_a_value_of_the_wrong_type_is_an_error(options, message):
    with pytest.raises(ConfigError) as error:
        load_config(SYNTHETIC_BASELINE, options)
    assert str(error.value).startswith(message)


def test_numbers_none_and_new_helper_keys_are_accepted_as_overrides():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        cfg = load_config(SYNTHETIC_BASELINE, {'train_cfg.max_epochs': 2.0, 'optim_wrapper.clip_grad': None,
                                               'optim_wrapper.optimizer.lr': 1, 'my_note': 'text'})
    assert cfg.train_cfg.max_epochs == 2.0 and cfg.my_note == 'text'


def test_a_syntax_error_names_the_file_and_line_even_in_a_base(tmp_path):
    (tmp_path / 'base.py').write_text('a = 1\nb = [1,\n')
    (tmp_path / 'top.py').write_text("_base_ = ['base.py']\nc = 2\n")
    with pytest.raises(ConfigError, match=rf"config file '{tmp_path / 'base.py'}', line 2: .*fix the Python syntax"):
        load_config(str(tmp_path / 'top.py'))
