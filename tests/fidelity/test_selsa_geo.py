"""Fidelity: the SELSA-form GEO (the released model's aggregator) against vfe.pytorch,
``mmdet/models/aggregators/mamba_aggregator.py``, ``MambaAggregator.forward_with_ref_x``, and
the residual its caller (``MambaBBoxHead.forward``) adds, restated in float64
(:func:`tests.fidelity.restated.selsa_aggregate`)."""
import torch

from mamba_vod.models.layers import GEO

from .restated import selsa_aggregate, selsa_weights

C, HEADS = 64, 16


def test_our_selsa_geo_computes_the_released_aggregator_plus_its_residual():
    torch.manual_seed(0)
    geo = GEO(C, num_heads=HEADS, value_projection=True).double().eval()
    query, keys = torch.randn(9, C, dtype=torch.float64), torch.randn(31, C, dtype=torch.float64)
    index = torch.tensor([30, 2, 7, 19])
    with torch.no_grad():
        aggregated = selsa_aggregate(query, keys, selsa_weights(geo), HEADS)
        assert aggregated.abs().max() > 1e-3
        torch.testing.assert_close(geo(query, keys), query + aggregated, rtol=0, atol=1e-12)
        torch.testing.assert_close(geo.forward_literal(query, keys), query + aggregated, rtol=0, atol=1e-12)
        cached = geo(query, geo.project_keys(keys)._replace(index=index))  # a key set of a memory's rows
        expected = query + selsa_aggregate(query, keys[index], selsa_weights(geo), HEADS)
        torch.testing.assert_close(cached, expected, rtol=0, atol=1e-12)
