"""The seven mechanisms of a tick, each a module of pure functions over arrays.

``demand`` → ``inference`` → ``compute`` → ``capability`` → ``capital`` → ``consolidation``
→ record (``marketsim.metrics``). The model (``marketsim.model``) calls them in that order.
"""
