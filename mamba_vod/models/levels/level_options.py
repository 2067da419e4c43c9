"""The ``train_cfg`` / ``test_cfg`` entries of a level: defaults filled in, unknown keys refused."""
from typing import Mapping, Optional


def level_options(defaults: Mapping, given: Optional[Mapping], where: str) -> dict:
    """``defaults`` updated with ``given``.

    Args:
        defaults: every option the level reads, with its default.
        given: the config's entry (e.g. ``model.train_cfg.pixel``), or None.
        where: the entry's config path, for the error message.

    Raises:
        ValueError: ``given`` names an option that is not in ``defaults`` (a misspelt key
            would otherwise be ignored without a word).
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f'{where}: unknown option(s) {unknown}; the options are {sorted(defaults)}')
    return {**defaults, **given}
