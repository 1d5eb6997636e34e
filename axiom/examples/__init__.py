"""Bundled example models written in the Axiom DSL, each traced with a symbolic batch N, with
deterministic parameters from a seed, a maker of deterministic inputs and ``torch_reference``
(the same network hand-written in PyTorch eager over the Axiom parameters):

- ``axiom.examples.mnist``: the MNIST classifier ``axiom demo`` compiles (conv/pool/dense, softmax).
- ``axiom.examples.mlp``: ``mlp``, 784 -> 256 -> 256 -> 10 with GELU (or ReLU, ``build_mlp``), softmax.
- ``axiom.examples.resnet18``: ``resnet18(image_size, num_classes, seed)``, the standard ResNet-18
  with inference BatchNorm and seeded running stats; ``resnet18_small`` is 64x64 -> 10 classes.
- ``axiom.examples.transformer``: ``transformer_encoder(seq, d_model, heads, layers, seed)``, a
  pre-LN encoder over f32[N, S, D] with symbolic S; ``transformer_small`` is d_model 64, 4 heads,
  2 layers.

The last three are the reference models the compiler's passes, backends and benchmarks are
measured on.
"""
