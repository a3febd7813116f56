"""The error of unusable data, below both its raisers: the data folders (qmodels/data.py) and the
ImageNet50 subset builder (qmodels/imagenet.py), whose command line lives in data.py."""


class DataError(ValueError):
    """Unusable data; the message names the file or folder."""
