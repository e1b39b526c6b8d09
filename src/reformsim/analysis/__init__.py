"""Decision analysis on top of scenarios: each study is a loop of batched ``simulate`` calls.

``requests`` reads what a study is asked (ranges, periods, names); ``batch`` runs candidate
values on top of a base scenario in one call; ``sensitivity``, ``ranking``, ``factorial``,
``optimisation`` (with ``constraints``), ``calibration`` (with ``data`` and ``theil``) and
``robustness`` are the studies. Nothing here draws or prints: ``report/`` and ``cli/`` do.
"""
