"""The findings page (``docs/results.md``) built from experiment files with marketsim's sweeps.

``python -m analysis.results`` runs (or resumes) the sweeps of ``analysis/experiments/*.toml``
and ``experiments/regimes.toml`` into ``results/`` and writes the page and its figures;
``--quick`` does the same on a tiny market in seconds. Modules: :mod:`analysis.tables` (the
numbers), :mod:`analysis.figures` (the plots), :mod:`analysis.text` and ``template.md`` (the
prose).
"""
