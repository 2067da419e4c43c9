"""Runner set-up shared by the tools, and runner parts (hooks, loops)."""
from .experiment import epoch_budget, evaluate, finished_checkpoint, rebase_paths, train
from .run_config import LAUNCHERS, load_config, test_config, train_config
from .test_protocol import TEST_PROTOCOLS, apply_test_protocol

__all__ = ['train', 'evaluate', 'epoch_budget', 'finished_checkpoint', 'rebase_paths', 'LAUNCHERS', 'load_config',
           'train_config', 'test_config', 'TEST_PROTOCOLS', 'apply_test_protocol']
