"""Batched, backend-neutral crop-and-resize (one box per image)."""

from keras import ops


def crop_and_resize(images, boxes, flip=None):
    """Crops one box per image and resizes it back to the image size.

    Args:
        images: `(B, H, W, C)` float tensor.
        boxes: `(B, 4)` boxes `(y0, x0, y1, x1)` in `[0, 1]` image coordinates.
        flip: optional `(B,)` tensor, 1.0 where the crop is mirrored
            horizontally.

    Returns:
        `(B, H, W, C)` tensor: each box zoomed to full size (bilinear).
    """
    height, width = images.shape[1], images.shape[2]
    boxes = ops.cast(boxes, "float32")
    y0, x0, y1, x1 = [boxes[:, i] for i in range(4)]
    sx, sy = x1 - x0, y1 - y0
    # Output pixel centre (x + 0.5) / W maps to x0 + (x + 0.5) / W * sx.
    tx = x0 * width + 0.5 * sx - 0.5
    ty = y0 * height + 0.5 * sy - 0.5
    if flip is not None:
        sign = 1.0 - 2.0 * ops.cast(flip, "float32")
        tx = tx + (1.0 - sign) * 0.5 * (sx * (width - 1))
        sx = sx * sign
    zeros = ops.zeros_like(sx)
    transform = ops.stack([sx, zeros, tx, zeros, sy, ty, zeros, zeros], axis=1)
    return ops.image.affine_transform(
        ops.cast(images, "float32"),
        transform,
        interpolation="bilinear",
        fill_mode="nearest",
    )
