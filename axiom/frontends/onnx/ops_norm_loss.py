"""ONNX converters for normalisations and losses: LayerNormalization's extra outputs, RMSNormalization,
GroupNormalization, LpNormalization, MeanVarianceNormalization, LRN, SoftmaxCrossEntropyLoss,
NegativeLogLikelihoodLoss."""

from __future__ import annotations
