"""The instant painter: Magenta's arbitrary image stylisation network (Ghiasi et al. 2017,
lite variant) in Keras, beside the optimiser; a photo painted in one forward pass. `run.py`
is the instant picture of a run (``engine="instant"``, and the optimiser's first preview and
head start: the optimiser calls in there only), `painter.py` the network object
(`instant_painter`, `InstantUnavailable`, the style vectors' cache), `network.py` its Keras
rebuild, `architecture.py` its layer table, `network_weights.py` where its weights come from
(``python -m stylecore.instant.network_weights`` pre-fetches them), `onnx_format.py` and
`onnx_weights.py` the reading of the released ONNX files. See docs/engine.md."""
