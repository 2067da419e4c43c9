"""Install mamba_vod: ``pip install -e .`` (add ``[tests]`` for the test tools).

mmcv is needed as ``mmcv-lite`` (pure Python) unless a full ``mmcv`` with compiled
ops is already installed: both distributions own the ``mmcv`` package, so adding
mmcv-lite on top of a full mmcv would overwrite its Python files. pip runs this
file in an isolated build environment, so the check asks the target interpreter
itself, outside that isolation.
"""
import os
import subprocess
import sys

from setuptools import find_packages, setup


def full_mmcv_installed() -> bool:
    isolation_vars = ('PYTHONPATH', 'PYTHONNOUSERSITE', 'PYTHONHOME')
    env = {key: value for key, value in os.environ.items() if key not in isolation_vars}
    probe = "import importlib.metadata as m, sys; sys.exit(0 if m.version('mmcv') else 1)"
    try:
        return subprocess.run([sys.executable, '-c', probe], env=env, capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def read_version() -> str:
    scope = {}
    with open(os.path.join('mamba_vod', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


install_requires = [
    'torch>=2.4',
    'torchvision',
    'triton; platform_system=="Linux" and platform_machine=="x86_64"',
    'mmengine>=0.10.7,<0.11',
    'mmdet==3.3.0',
    'numpy',
    'opencv-python',
    'pycocotools',
    'scipy',
    'tqdm',
]
if not full_mmcv_installed():
    install_requires.append('mmcv-lite>=2.0.0,<2.2.0')

setup(
    name='mamba_vod',
    version=read_version(),
    description='MAMBA video object detection (memory bank, pixel and instance aggregation) on MMDetection 3.x',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['mamba_vod', 'mamba_vod.*']),
    install_requires=install_requires,
    extras_require={'tests': ['pytest>=7', 'pytest-timeout']},
    license='Apache-2.0',
)
