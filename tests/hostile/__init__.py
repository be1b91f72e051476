"""The hostile-input corpus (see corpus.py and README.md)."""
