"""Fidelity: the paper's GEO against ``Duckduckgod/MAMBA``,
``mamba_core/modeling/mem_bank/generalized_enhancement.py``, ``GEO.attention_module_multi_head``
and ``GEO.enhance_with_mem_test`` (output type 'attention'), restated in float64
(:func:`tests.fidelity.restated.paper_geo`)."""
import pytest
import torch

from mamba_vod.models.layers import GEO

from .restated import paper_geo, paper_geo_weights

C, HEADS = 64, 16


@pytest.fixture
def geo():
    torch.manual_seed(0)
    return GEO(C, num_heads=HEADS).double().eval()


def test_our_paper_geo_computes_the_authors_geo(geo):
    query, keys = torch.randn(7, C, dtype=torch.float64), torch.randn(23, C, dtype=torch.float64)
    with torch.no_grad():
        expected = paper_geo(query, keys, paper_geo_weights(geo), HEADS)
        assert (expected - query).abs().max() > 1e-3  # the aggregation is not negligible
        torch.testing.assert_close(geo(query, keys), expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(geo.forward_literal(query, keys), expected, rtol=0, atol=1e-12)


def test_keys_projected_once_give_the_same(geo):
    """The memory's form (keys projected when written, a key set as slots) computes the same."""
    query, rows = torch.randn(5, C, dtype=torch.float64), torch.randn(30, C, dtype=torch.float64)
    index = torch.tensor([3, 17, 0, 29, 8, 11])
    with torch.no_grad():
        projected = geo.project_keys(rows)
        got = geo(query, projected._replace(index=index))
        torch.testing.assert_close(got, paper_geo(query, rows[index], paper_geo_weights(geo), HEADS), rtol=0,
                                   atol=1e-12)
