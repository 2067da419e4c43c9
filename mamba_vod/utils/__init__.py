"""Small building blocks shared by the package, the tools and the demos (one concept per module)."""
from .atomic_output import AtomicOutput, atomic_open, atomic_write, check_output_path, commit_together, write_together
from .input_file import check_input_file

__all__ = ['AtomicOutput', 'atomic_open', 'atomic_write', 'check_output_path', 'commit_together',
           'check_input_file', 'write_together']
