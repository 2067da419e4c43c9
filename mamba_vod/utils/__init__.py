"""Small building blocks shared by the package, the tools and the demos (one concept per module)."""
from .atomic_output import AtomicOutput, atomic_open, atomic_write, check_output_path, commit_together

__all__ = ['AtomicOutput', 'atomic_open', 'atomic_write', 'check_output_path', 'commit_together']
