"""Runner set-up shared by the tools, and runner parts (hooks, loops)."""
from .experiment import evaluate, finished_checkpoint, rebase_paths, train
from .run_config import LAUNCHERS, load_config, test_config, train_config

__all__ = ['train', 'evaluate', 'finished_checkpoint', 'rebase_paths', 'LAUNCHERS', 'load_config', 'train_config', 'test_config']
