"""Unit tests of the PyTorch worker; run from the repository root with
/usr/bin/python3 -m unittest discover -s src/engine/pytorch/tests -t src/engine/pytorch"""
