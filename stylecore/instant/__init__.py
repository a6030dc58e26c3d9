"""The instant painter: Magenta's arbitrary image stylisation network (Ghiasi et al. 2017,
lite variant) in Keras, beside the optimiser. See docs/engine.md."""

from stylecore.instant.painter import InstantPainter, InstantUnavailable, instant_painter

__all__ = ["InstantPainter", "InstantUnavailable", "instant_painter"]
