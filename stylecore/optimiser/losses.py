"""The seed's loss terms: Gram-matrix style loss, feature content loss, total variation."""

from __future__ import annotations

import tensorflow as tf


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """Channel correlations of (1, H, W, C) features, divided by the number of locations.

    Dividing by H*W (as the seed does) makes style targets comparable across image sizes.
    """
    features = tf.cast(features, tf.float32)
    gram = tf.linalg.einsum("bijc,bijd->bcd", features, features)
    locations = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], tf.float32)
    return gram / locations


def masked_gram(features: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """`gram_matrix` of the locations under `mask` (1, H, W, 1) in [0, 1] only, divided by
    the mask's area: the style statistics of the brushed part, as big as a whole picture's
    (the same as `gram_matrix` where the mask is all ones)."""
    features = tf.cast(features, tf.float32)
    gram = tf.linalg.einsum("bijc,bijd->bcd", features * mask, features)
    return gram / tf.maximum(tf.reduce_sum(mask), 1.0)


def style_loss(
    grams: list[tf.Tensor], targets: list[tf.Tensor], layer_weights: tf.Tensor | None = None
) -> tf.Tensor:
    """Sum over layers of the mean squared difference of Gram matrices, each layer's term
    multiplied by its entry of `layer_weights` (the seed: all ones)."""
    per_layer = [tf.reduce_mean((g - t) ** 2) for g, t in zip(grams, targets, strict=True)]
    if layer_weights is None:
        return tf.add_n(per_layer)
    return tf.reduce_sum(tf.stack(per_layer) * layer_weights)


def content_loss(features: list[tf.Tensor], targets: list[tf.Tensor]) -> tf.Tensor:
    """Sum over layers of the mean squared difference of activations (unweighted)."""
    return tf.add_n(
        [
            tf.reduce_mean((tf.cast(f, tf.float32) - t) ** 2)
            for f, t in zip(features, targets, strict=True)
        ]
    )


def masked_content_loss(
    features: list[tf.Tensor], targets: list[tf.Tensor], masks: list[tf.Tensor]
) -> tf.Tensor:
    """`content_loss` counted only where each layer's mask (1, H, W, 1) in [0, 1] is: the mean
    over all locations of mask times squared difference (so a face pulls as hard per pixel
    whatever its size, and the term is zero where the mask is)."""
    return tf.add_n(
        [
            tf.reduce_mean(m * (tf.cast(f, tf.float32) - t) ** 2)
            for f, t, m in zip(features, targets, masks, strict=True)
        ]
    )


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """The seed's form: mean squared horizontal plus mean squared vertical differences."""
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    return tf.reduce_mean(dx**2) + tf.reduce_mean(dy**2)
