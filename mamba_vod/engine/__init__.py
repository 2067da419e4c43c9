"""Runner parts of mamba_vod: hooks and loops."""
