"""marketsim benchmarks: ``python -m bench`` (``make bench``) prints every figure with its goal.

Modules: :mod:`bench.model_bench` (model speed and memory against NumPy and against the
object-per-agent Mesa baseline of :mod:`bench.mesa_baseline`), ``bench.sweep_bench`` (sweep
throughput) and ``bench.viz_bench`` (visualiser). Results go to ``bench/results/``.
:mod:`bench.instructions` counts the instructions a month executes (callgrind), an A/B of
two trees that the machine's load cannot move.
"""
