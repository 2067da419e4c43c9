"""Version of mamba_vod."""
__version__ = '0.1.0'
