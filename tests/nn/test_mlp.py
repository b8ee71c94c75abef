"""The MLP builder (da/nn/mlp.py) shared by heads, encoders and discriminators."""

from __future__ import annotations

import torch
from torch import nn

from da.nn.mlp import mlp


def test_mlp_layers_in_order():
    net = mlp(8, [6, 4], 3)
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


def test_mlp_batch_norm_and_dropout_before_every_linear():
    # MCD's classifier: dropout -> fc -> BN -> ReLU -> dropout -> fc -> BN -> ReLU -> dropout -> fc
    net = mlp(8, [6, 4], 3, dropout=0.5, batch_norm=True, input_dropout=0.5)
    assert [type(m) for m in net] == [nn.Dropout, nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout,
                                      nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear]
    x = torch.randn(16, 8)
    net.train()
    assert not torch.equal(net(x), net(x))  # dropout is active in training
    net.eval()
    assert torch.equal(net(x), net(x))
