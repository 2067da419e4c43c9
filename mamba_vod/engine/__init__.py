"""Runner set-up shared by the tools, and runner parts (hooks, loops)."""
from .checkpoint_fit import (CheckpointFit, CheckpointMismatchError, check_checkpoint_fit, load_state_dict_fit,
                             load_weights)
from .config_keys import ConfigError
from .frozen_modules_hook import FrozenModulesHook
from .experiment import epoch_budget, evaluate, finished_checkpoint, rebase_paths, train
from .run_config import LAUNCHERS, load_config, test_config, train_config
from .stage_fingerprint import (EVALUATION_OUTPUTS, TRAINING_OUTPUTS, StageFingerprint, config_code_digest,
                                config_digest, environment, evaluate_stage, evaluation_fingerprint, run_stage,
                                script_code_digest, source_digest, train_stage, training_fingerprint)
from .test_protocol import TEST_PROTOCOLS, apply_test_protocol

__all__ = ['train', 'evaluate', 'epoch_budget', 'finished_checkpoint', 'rebase_paths', 'LAUNCHERS', 'load_config',
           'train_config', 'test_config', 'TEST_PROTOCOLS', 'apply_test_protocol', 'CheckpointFit',
           'CheckpointMismatchError', 'check_checkpoint_fit', 'load_state_dict_fit', 'load_weights',
           'StageFingerprint', 'config_digest', 'environment', 'config_code_digest', 'script_code_digest',
           'source_digest', 'run_stage', 'train_stage', 'evaluate_stage', 'training_fingerprint',
           'evaluation_fingerprint', 'TRAINING_OUTPUTS', 'EVALUATION_OUTPUTS', 'FrozenModulesHook', 'ConfigError']
