"""Image transforms of the tf.data pipeline: the evaluation image, in-memory arrays at the model's size,
and the training augmentations, all on the 8-bit input grid p/256.

Training augmentations use stateless random ops with a per-image seed from the pipeline, so a run's
seed fixes its augmentation stream.  Modes (``Preprocess.augment``):

* ``standard``: a random box of 25-100% of the area, aspect 3:4-4:3, resized, random left-right flip
  (ImageNet-style folders);
* ``crop``: the same with at least 80% of the area and no flip (digits: a mirror changes the class);
* ``shift``: the evaluation image moved by up to SHIFT pixels each way (zero fill) and flipped left-right
  at random (Fashion-MNIST: items are centred and 28x28 in a 32x32 frame, and a mirrored garment
  keeps its class; cropping would cut the item, resizing would blur 28-pixel detail);
* ``none``: the evaluation image.
"""
from __future__ import annotations

import tensorflow as tf

# mode -> (min crop area, flip); 'shift': None (see above)
AUGMENT = {"standard": (0.25, True), "crop": (0.8, False), "shift": (None, True), "none": None}
SHIFT = 2


def _to_input_grid(image):
    """Round to 8-bit pixels p and return p/256 as float32 (exact on the ufixed<8,0> grid)."""
    return tf.clip_by_value(tf.round(image), 0.0, 255.0) / 256.0


def _central_box(image, prep: Preprocess):
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    aspect = prep.width / prep.height
    box_h = tf.minimum(shape[0], shape[1] / aspect) * prep.crop_fraction
    box_w = box_h * aspect
    h = tf.maximum(tf.cast(tf.round(box_h), tf.int32), 1)
    w = tf.maximum(tf.cast(tf.round(box_w), tf.int32), 1)
    top = (tf.shape(image)[0] - h) // 2
    left = (tf.shape(image)[1] - w) // 2
    return tf.image.crop_to_bounding_box(image, top, left, h, w)


def eval_image(image, prep: Preprocess):
    if prep.crop_fraction == 1.0 and tuple(image.shape[:2]) == (prep.height, prep.width):
        return _to_input_grid(image)  # already the model's size (padded arrays): exact pixels, no resampling
    crop = _central_box(image, prep)
    return _to_input_grid(tf.image.resize(crop, (prep.height, prep.width), antialias=True))


def fit_array_image(image, prep: Preprocess):
    """An in-memory uint8 image (HW or HWC) at the model's size and channels: zero-padded, centred,
    when the model is at least as large (exact pixels), resized when it is smaller."""
    image = tf.cast(image, tf.float32)
    if image.shape.rank == 2:
        image = image[:, :, None]
    h, w = int(image.shape[0]), int(image.shape[1])
    if prep.height >= h and prep.width >= w:
        image = tf.image.pad_to_bounding_box(image, (prep.height - h) // 2, (prep.width - w) // 2,
                                             prep.height, prep.width)
    else:
        image = tf.image.resize(image, (prep.height, prep.width), antialias=True)
    if int(image.shape[2]) != prep.channels:
        image = tf.image.grayscale_to_rgb(image) if prep.channels == 3 else tf.image.rgb_to_grayscale(image)
    return image


def _shifted(image, prep: Preprocess, seed):
    """The evaluation image moved by up to SHIFT pixels each way (zero fill) and randomly flipped."""
    padded = tf.image.pad_to_bounding_box(eval_image(image, prep), SHIFT, SHIFT,
                                          prep.height + 2 * SHIFT, prep.width + 2 * SHIFT)
    out = tf.image.stateless_random_crop(padded, (prep.height, prep.width, prep.channels), seed=seed)
    return tf.image.stateless_random_flip_left_right(out, seed=seed[::-1])


def train_image(image, prep: Preprocess, seed):
    """Random-area crop or shift (+ flip) with stateless ops, so a seed fixes the augmentation stream."""
    if AUGMENT[prep.augment] is None:
        return eval_image(image, prep)
    min_area, flip = AUGMENT[prep.augment]
    if min_area is None:
        return _shifted(image, prep, seed)
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), tf.zeros((1, 0, 4)), seed=seed, min_object_covered=0.0,
        aspect_ratio_range=(0.75, 1.33), area_range=(min_area, 1.0), max_attempts=10,
        use_image_if_no_bounding_boxes=True)
    crop = tf.slice(image, begin, size)
    out = tf.image.resize(crop, (prep.height, prep.width), antialias=True)
    if flip:
        out = tf.image.stateless_random_flip_left_right(out, seed=seed[::-1])
    return _to_input_grid(out)
