"""Worked examples of custom agent classes for marketsim (see examples/README.md).

This folder is a package so that a scenario can name ``examples.custom_agents:BootstrappedLab``
when the repository root is on the import path (``PYTHONPATH=.`` from the repository root).
"""
