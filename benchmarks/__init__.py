"""Scripts that print figures, never tests (run each as `python benchmarks/NAME.py`), and the
two pieces the tests share with them: `measures.py` (how a picture or a clip is scored) and
`toy_painter.py` (a cheap stand-in for a clip's frame painter)."""
