"""The seven mechanisms of a tick, each a module of functions over arrays and agents.

``demand`` → ``inference`` → ``compute`` (with ``datacentres`` and ``capacity``) →
``capability`` → ``capital`` → ``consolidation`` → record (``marketsim.reporters``). The model
(``marketsim.model``) opens each month with ``market.open_month`` and calls them in that
order; ``setup`` builds the agents at tick 0.
"""
