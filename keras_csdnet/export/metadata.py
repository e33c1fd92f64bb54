"""The JSON metadata that travels with an exported model."""

import os


def metadata_of(model, format, quantization):
    import keras_csdnet

    return {
        "class_names": model.class_names or [str(i) for i in range(model.num_classes)],
        "num_classes": model.num_classes,
        "image_size": model.image_size,
        "input": {
            "shape": [None, model.image_size, model.image_size, 3],
            "dtype": "uint8" if quantization == "int8" else "float32",
            "range": "raw RGB pixels 0-255 (normalisation is inside the model)",
        },
        "preprocessing": preprocessing_of(model.image_size),
        "output": "logits (float32), argmax = class index into class_names",
        "format": format,
        "quantization": quantization,
        "backbone": model.backbone_name or "custom",
        "keras_csdnet_version": keras_csdnet.__version__,
    }


def preprocessing_of(image_size):
    """How an app prepares a photo: the recipe of `keras_csdnet.data.load_image`."""
    from keras_csdnet.data.pipeline import resize_size

    return {
        "function": "keras_csdnet.data.load_image",
        "decode": "RGB; grey and palette images to RGB, transparent pixels composited on white",
        "resize": f"shorter side to {resize_size(image_size)} px, aspect ratio kept, bilinear",
        "crop": f"centre {image_size} x {image_size}",
    }


def metadata_path(output, format):
    if format == "saved_model":
        return os.path.join(output, "csdnet.json")
    return os.path.splitext(output)[0] + ".json"
