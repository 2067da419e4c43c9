"""Motion parts of the flow-based VID methods (DFF, FGFA): the flow network and feature warping."""
from .flow_input import FlowInput, preprocessor_normalisation, warp_maps
from .flow_warp import flow_warp, resize_flow
from .flownet_simple import FLOWNET_SIMPLE_URL, FlowNetSimple

__all__ = ['FlowInput', 'FlowNetSimple', 'FLOWNET_SIMPLE_URL', 'flow_warp', 'preprocessor_normalisation', 'resize_flow',
           'warp_maps']
