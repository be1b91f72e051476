"""hwocr: from a CSV of handwritten-name images to a clean A-Z character dataset and a
recognizer trained on it."""

__version__ = "0.1.0"
