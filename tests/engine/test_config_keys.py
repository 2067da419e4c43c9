"""mamba_vod.engine.config_keys: a misspelt top-level runner key is warned about; the helper
variables of the repository's configs are not."""
import glob
import os
import warnings

import pytest

from mamba_vod.engine import load_config

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
        warnings.filterwarnings('error', message='.*top-level key')
        load_config(config)
