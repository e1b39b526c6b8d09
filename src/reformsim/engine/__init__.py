"""The engine: IR -> compiled model (frozen data) -> ``simulate()`` -> ``Results``.

Code generation, rate-pass programs per structure, the clock, Vensim's builtins,
the integrators behind one contract, and the names runs may set.
"""
