# The flow network of DFF and FGFA, as mmtracking configures it: FlowNetSimple on the frame pair at
# half resolution, starting from mmtracking's pretrained weights (cached by torch hub; offline, the
# error names the URL and the cache file). Its input normalisation is the detector's data
# preprocessor's (FlowInput). Configs take it as `motion=_base_.flownet_simple`.
flownet_simple = dict(
    type='FlowNetSimple',
    img_scale_factor=0.5,
    init_cfg=dict(type='Pretrained',
                  checkpoint='https://download.openmmlab.com/mmtracking/pretrained_weights/flownet_simple.pth'))
