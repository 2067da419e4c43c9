# The flow network of DFF and FGFA, as mmtracking configures it: FlowNetSimple on the frame pair at
# half resolution, starting from mmtracking's pretrained weights (cached by torch hub; offline, the
# error names the URL and the cache file). Its input normalisation is the detector's data
# preprocessor's (FlowInput). Configs take it as `motion=_base_.flownet_simple`.
flownet_simple = dict(
    type='FlowNetSimple',
    img_scale_factor=0.5,
    init_cfg=dict(type='Pretrained',
                  checkpoint='https://download.openmmlab.com/mmtracking/pretrained_weights/flownet_simple.pth'))

# From scratch (the synthetic configs, which train offline without the download): the same network
# with its last layer at zero and the exact warp grid, so every warp starts as the identity and the
# heads first learn on the references' maps as they are (FlowNetSimple's docstring says why)
flownet_simple_from_scratch = dict(type='FlowNetSimple', img_scale_factor=0.5, zero_init_flow=True,
                                   pixel_exact_warp=True)
