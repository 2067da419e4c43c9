"""Training that leaves parts of a model as they are: the authors' staged recipe for MAMBA's
pixel level trains its GEO on top of a trained instance-level model with everything else frozen.
"""
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mamba_vod.registry import HOOKS


@HOOKS.register_module()
class FrozenModulesHook(Hook):
    """Freezes the named submodules of the model for the whole training run: no gradients, and
    their normalisation layers on running statistics (eval mode), so nothing of them changes.

    Args:
        modules: attribute names of the detector, e.g. ``('backbone', 'neck', 'rpn_head',
            'roi_head', 'instance_level')``.

    Example (config)::

        custom_hooks = [dict(type='FrozenModulesHook', modules=['backbone', 'neck'])]
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules: Sequence[str]) -> None:
        if isinstance(modules, str) or not modules:
            raise ValueError(f'FrozenModulesHook needs a list of module names, got {modules!r}')
        self.modules = list(modules)

    def _parts(self, runner) -> list:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        missing = [name for name in self.modules if getattr(model, name, None) is None]
        if missing:
            raise ValueError(f'FrozenModulesHook: the model ({type(model).__name__}) has no {missing}; '
                             f'its parts are {[name for name, _ in model.named_children()]}')
        return [getattr(model, name) for name in self.modules]

    def before_train(self, runner) -> None:
        for part in self._parts(runner):
            part.requires_grad_(False)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        # the loop puts the whole model in train mode at every epoch; keep the frozen parts in eval mode
        for part in self._parts(runner):
            part.eval()
