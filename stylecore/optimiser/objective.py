"""The seed's objective (style + content + total variation) over VGG19 features, and its gradient.

One `Objective` per layer set and precision is built once per process and reused by every run:
building the network and tracing the TensorFlow functions is the start-up cost, not a per-job cost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from stylecore.device import configure_devices
from stylecore.optimiser.losses import (
    content_loss,
    gram_matrix,
    masked_content_loss,
    masked_gram,
    style_loss,
    total_variation_loss,
)
from stylecore.params import StyleParams
from stylecore.weights.vgg19 import vgg19_features

# Keras' VGG19 "caffe" preprocessing: RGB -> BGR, ImageNet channel means subtracted, 0-255 range.
_BGR_MEANS = tf.constant([103.939, 116.779, 123.68], dtype=tf.float32)


@dataclass(frozen=True)
class Targets:
    """What the image is pulled towards: Gram matrices of the style, activations of the content."""

    style: tuple[tf.Tensor, ...]
    content: tuple[tf.Tensor, ...]
    style_layer_weights: tf.Tensor
    """One factor per style layer (see `StyleParams.style_normalisation`): ones for the seed."""
    faces: tuple[tf.Tensor, ...] = ()
    """Content activations at the objective's face layers (empty: no face term)."""
    face_masks: tuple[tf.Tensor, ...] = ()
    """The soft face mask at each face layer's resolution, (1, h, w, 1) in [0, 1]."""
    style_masks: tuple[tf.Tensor, ...] = ()
    """The brush (`stylecore.brush`) at each style layer's resolution, (1, h, w, 1): the
    picture's Gram matrices count only where the style goes (empty: everywhere)."""


def loss_weights(params: StyleParams, faces: bool = False) -> tf.Tensor:
    """[style, content, tv] weights as the seed applies them (style and content per layer),
    and with `faces` the face term's weight (per face layer) after them."""
    weights = [
        params.style_weight * params.style_strength / len(params.style_layers),
        params.content_weight / len(params.content_layers),
        params.tv_weight,
    ]
    if faces:
        weights.append(params.face_content_weight / len(params.face_layers))
    return tf.constant(weights, dtype=tf.float32)


class Objective:
    """Loss terms of an image (1, H, W, 3) in [0, 1] against `Targets`, and the loss gradient.

    With `face_layers` the network also returns those layers, and targets made with a face
    mask add a fourth term: the content loss at those layers inside the mask (faces keep
    their features; Gatys et al. 2017's spatial control of the content weight)."""

    def __init__(
        self,
        style_layers: Sequence[str],
        content_layers: Sequence[str],
        precision: str,
        face_layers: Sequence[str] = (),
    ):
        configure_devices()
        self.style_layers = tuple(style_layers)
        self.content_layers = tuple(content_layers)
        self.face_layers = tuple(face_layers)
        self.precision = precision
        dtype = None if precision == "float32" else precision
        self.model = vgg19_features(
            self.style_layers + self.content_layers + self.face_layers, dtype=dtype
        )
        self._terms = tf.function(self._terms_impl, reduce_retracing=True)
        self._terms_and_grad = tf.function(self._terms_and_grad_impl, reduce_retracing=True)

    def features(self, image: tf.Tensor) -> tuple[list[tf.Tensor], list[tf.Tensor]]:
        """(style Gram matrices, content activations) of an image batch in [0, 1]."""
        grams, content, _ = self._all_features(image)
        return grams, content

    def _outputs(self, image: tf.Tensor) -> list[tf.Tensor]:
        """The network's activations at the style, content and face layers, in that order."""
        bgr = tf.reverse(image * 255.0, axis=[-1]) - _BGR_MEANS
        outputs = self.model(bgr)
        return list(outputs) if isinstance(outputs, list | tuple) else [outputs]

    def _all_features(self, image: tf.Tensor, style_masks=()):
        """(style Gram matrices, under `style_masks` when given; content activations;
        face-layer activations)."""
        outputs = self._outputs(image)
        n_style, n_content = len(self.style_layers), len(self.content_layers)
        if style_masks:
            grams = [masked_gram(f, m) for f, m in zip(outputs[:n_style], style_masks,
                                                       strict=True)]
        else:
            grams = [gram_matrix(f) for f in outputs[:n_style]]
        content = [tf.cast(f, tf.float32) for f in outputs[n_style : n_style + n_content]]
        faces = [tf.cast(f, tf.float32) for f in outputs[n_style + n_content :]]
        return grams, content, faces

    def targets(
        self,
        content: np.ndarray,
        styles: Sequence[tuple[np.ndarray, float]],
        normalisation: str = "none",
        face_mask: np.ndarray | None = None,
        brush: np.ndarray | None = None,
    ) -> Targets:
        """Content activations and the weighted blend of each style image's Gram matrices;
        with a `face_mask` (H, W) of the content (and face layers) also the face term's
        activations and the mask scaled to each face layer; with a `brush` (H, W) the brush
        scaled to each style layer."""
        outputs = self._outputs(_batch(content))
        n_style, n_content = len(self.style_layers), len(self.content_layers)
        content_features = [tf.cast(f, tf.float32) for f in outputs[n_style:n_style + n_content]]
        face_features = [tf.cast(f, tf.float32) for f in outputs[n_style + n_content:]]
        faces, face_masks = (), ()
        if face_mask is not None and self.face_layers:
            faces = tuple(face_features)
            face_masks = tuple(_mask_like(face_mask, f) for f in face_features)
        style_masks = () if brush is None else tuple(
            _mask_like(brush, f) for f in outputs[:n_style])
        per_style = [
            [weight * g for g in self.features(_batch(image))[0]] for image, weight in styles
        ]
        blended = tuple(tf.add_n(list(layer)) for layer in zip(*per_style, strict=True))
        magnitudes = tf.stack([tf.reduce_mean(g**2) for g in blended]) + 1e-12
        if normalisation == "layers":
            layer_weights = 1.0 / magnitudes
        elif normalisation == "total":
            layer_weights = tf.fill([len(blended)], 1.0 / tf.reduce_sum(magnitudes))
        else:
            layer_weights = tf.ones([len(blended)], tf.float32)
        return Targets(
            style=blended,
            content=tuple(content_features),
            style_layer_weights=layer_weights,
            faces=faces,
            face_masks=face_masks,
            style_masks=style_masks,
        )

    def terms(self, image: np.ndarray | tf.Tensor, targets: Targets, weights: tf.Tensor) -> dict:
        """Weighted loss terms as Python floats: style, content, tv and their total."""
        return terms_dict(self._terms(_batch(image), *_traceable(targets), weights))

    def terms_and_grad(
        self, image: tf.Tensor, targets: Targets, weights: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """(weighted [style, content, tv] terms, gradient of their sum) for a batch of one."""
        return self._terms_and_grad(image, *_traceable(targets), weights)

    # Targets travel into tf.function as tuples of tensors: tf.function cannot trace a dataclass.
    # Without face targets the traced function has no face term at all: the same computation
    # as an objective without face layers.
    def _terms_impl(
        self, image, style_targets, content_targets, layer_weights, face_targets, face_masks,
        style_masks, weights,
    ):
        grams, content, faces = self._all_features(image, style_masks)
        terms = (
            weights[0] * style_loss(grams, list(style_targets), layer_weights),
            weights[1] * content_loss(content, list(content_targets)),
            weights[2] * total_variation_loss(image),
        )
        if face_targets:
            terms += (weights[3] * masked_content_loss(faces, list(face_targets),
                                                       list(face_masks)),)
        return terms

    def _terms_and_grad_impl(
        self, image, style_targets, content_targets, layer_weights, face_targets, face_masks,
        style_masks, weights,
    ):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = tf.stack(
                self._terms_impl(image, style_targets, content_targets, layer_weights,
                                 face_targets, face_masks, style_masks, weights)
            )
            loss = tf.reduce_sum(terms)
        return terms, tape.gradient(loss, image)


def terms_dict(terms: Sequence | tf.Tensor) -> dict[str, float]:
    """Weighted [style, content, tv] terms (and "faces" when there is a fourth) as Python
    floats, with their total."""
    values = [float(v) for v in terms]
    named = dict(zip(("style", "content", "tv", "faces"), values, strict=False))
    return {**named, "total": sum(values)}


@functools.cache
def objective_for(
    style_layers: tuple[str, ...],
    content_layers: tuple[str, ...],
    precision: str,
    face_layers: tuple[str, ...] = (),
):
    """The process-wide Objective for this layer set and precision."""
    return Objective(style_layers, content_layers, precision, face_layers)


def _traceable(targets: Targets) -> tuple:
    return (targets.style, targets.content, targets.style_layer_weights, targets.faces,
            targets.face_masks, targets.style_masks)


def _mask_like(mask: np.ndarray, features: tf.Tensor) -> tf.Tensor:
    """`mask` (H, W) averaged down to the resolution of `features` (1, h, w, C): (1, h, w, 1)."""
    height, width = int(features.shape[1]), int(features.shape[2])
    scaled = tf.image.resize(mask[np.newaxis, :, :, np.newaxis].astype(np.float32),
                             (height, width), method="area")
    return tf.clip_by_value(scaled, 0.0, 1.0)


def _batch(image: np.ndarray | tf.Tensor) -> tf.Tensor:
    tensor = tf.convert_to_tensor(image, dtype=tf.float32)
    return tensor[tf.newaxis] if tensor.shape.rank == 3 else tensor

