"""Runner set-up shared by the tools, and runner parts (hooks, loops)."""
from .run_config import LAUNCHERS, load_config, test_config, train_config

__all__ = ['LAUNCHERS', 'load_config', 'train_config', 'test_config']
